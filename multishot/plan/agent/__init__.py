"""The agent roles: screenwriter, director, cinematographer (creative roles, one module each),
the continuity critic (gates), two planners behind one interface (rules, LLM), the bounded
critique → revise loop, and logline → Film.

    direct(Brief("An old keeper gets a letter."), make_planner())  -> AgentResult (film, transcript)
    review(film, make_planner(), rounds=3)                        -> the roles over a shot list
    check_film(film, GateOptions())                               -> [Finding]
"""

from __future__ import annotations

from multishot.plan.agent.planner import Planner
from multishot.plan.agent.critic import RULES, Finding, GateOptions, check_film
from multishot.plan.agent.direct import direct, film_to_yaml
from multishot.plan.agent.loop import AgentResult, review
from multishot.plan.agent.rules import RulePlanner
from multishot.plan.agent.screenwriter import Brief

#: `--llm local`: the base URL that means "start the local model server".
LOCAL = "local"


def make_planner(base_url: str | None = None, model: str | None = None, *,
                 api_key: str | None = None, timeout: float | None = None,
                 model_critic: bool | None = False, model_revise: bool | None = None,
                 ctx: int | None = None, threads: int | None = None) -> Planner:
    """The rule planner (offline, the default), or the LLM planner when an endpoint is given.
    The LLM planner's key comes from MULTISHOT_LLM_API_KEY or OPENAI_API_KEY when not passed;
    `timeout` (seconds a request) None adapts to the measured speed; `model_critic`: the critic
    also asks the model for notes beyond the gates (one call a round); `model_revise`: the model
    answers the critic's findings (else the gates' own fixes do). None: the model's default
    (llm.SMALL_MODELS: both off for the default local model, on otherwise).

    `base_url="local"`: a local GGUF model served on 127.0.0.1 (`model` a .gguf path or a named
    model, default smollm2-135m; `ctx` tokens of context, `threads` CPU threads); it starts on
    the first request and stops in the planner's close(). Raises LocalModelError at once when
    the server or the model is not installed."""
    if not base_url:
        return RulePlanner()
    from multishot.plan.agent.llm import LLMPlanner

    if base_url == LOCAL:
        from multishot.plan.agent.local_server import DEFAULT_CTX, LocalServer

        server = LocalServer(model, ctx=ctx or DEFAULT_CTX, threads=threads)
        return LLMPlanner("local", api_key=api_key, timeout=timeout, model_critic=model_critic,
                          model_revise=model_revise, server=server)
    return LLMPlanner(base_url, model, api_key=api_key, timeout=timeout, model_critic=model_critic,
                      model_revise=model_revise)


def close_planner(planner: Planner) -> None:
    """Stop what a planner started (the local model server); nothing for the others."""
    close = getattr(planner, "close", None)
    if callable(close):
        close()


__all__ = ["AgentResult", "Brief", "Finding", "GateOptions", "LOCAL", "Planner", "RULES", "RulePlanner",
           "check_film", "close_planner", "direct", "film_to_yaml", "make_planner", "review"]
