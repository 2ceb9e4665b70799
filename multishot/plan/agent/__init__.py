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


def make_planner(base_url: str | None = None, model: str | None = None, *,
                 api_key: str | None = None, timeout: float | None = None,
                 model_critic: bool = False) -> Planner:
    """The rule planner (offline, the default), or the LLM planner when an endpoint is given.
    The LLM planner's key comes from MULTISHOT_LLM_API_KEY or OPENAI_API_KEY when not passed;
    `timeout` (seconds a request) None adapts to the measured speed; `model_critic`: the critic
    also asks the model for notes beyond the gates (one call a round)."""
    if not base_url:
        return RulePlanner()
    from multishot.plan.agent.llm import LLMPlanner

    return LLMPlanner(base_url, model, api_key=api_key, timeout=timeout, model_critic=model_critic)


__all__ = ["AgentResult", "Brief", "Finding", "GateOptions", "Planner", "RULES", "RulePlanner",
           "check_film", "direct", "film_to_yaml", "make_planner", "review"]
