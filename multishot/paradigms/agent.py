"""Agent: roles revise the shot list, then another paradigm renders it.

agent roles (director reads purposes → cinematographer fills camera → continuity critic ⇄ revise,
bounded) → the inner paradigm's stages (`agent` = agent+stitching, `agent+keyframe`, …)

Consistency comes from critique before any GPU time is spent: the continuity gates (180-degree
rule, character presence, jump cuts, establishing shots, descriptions; plan/agent/critic.py) run on
the shot list, and the planner — film-grammar rules offline by default, or an LLM at
`--llm-base-url` — revises it, at most `agent_rounds` times. The result (revised film, transcript,
findings, per-role token counts) is one cached artifact keyed by the shot list and the planner,
so a re-render reuses the revision instead of asking a model again. The transcript and the revised
shot list are published as agent/transcript.json and agent/shotlist.yaml.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from multishot.graph.engine import Stage
from multishot.paradigms import stitching
from multishot.paradigms.base import Job, Output, Paradigm, Step, as_rendered, check_needs, check_only, option
from multishot.plan.agent import AgentResult, RulePlanner, close_planner, film_to_yaml, make_planner, review
from multishot.plan.film_plan import FilmPlan, build_plan
from multishot.post.render_folder import agent_shotlist_name, agent_transcript_name

AGENT = Stage("agent", 1, ".json", "roles revise the shot list: revised film, transcript, findings, usage")
AGENT_SHOTLIST = Stage("agent-shotlist", 1, ".yaml", "the revised shot list, as a shot-list file")


@dataclass(frozen=True)
class AgentOptions:
    llm_base_url: str | None = option(None, "--llm-base-url", "Agent: an OpenAI-compatible endpoint, or `local` "
                                      "(a local GGUF model server, multishot[llm]); default is the offline "
                                      "rule-based planner.")
    llm_model: str | None = option(None, "--llm-model", "Agent: the model name at that endpoint.")
    agent_rounds: int = option(3, "--agent-rounds", "Agent: most critique → revise rounds.", min=0, max=20)


def revise_plan(job: Job) -> tuple[FilmPlan, AgentResult]:
    options, own = job.options, job.options.of(AgentOptions)
    planner = make_planner(own.llm_base_url, own.llm_model)
    fallback = None if isinstance(planner, RulePlanner) else RulePlanner()
    film, rounds = job.plan.film, max(0, own.agent_rounds)
    inputs = {"film": film.model_dump(mode="json"), "planner": planner.identity(), "rounds": rounds}
    made: list[AgentResult] = []

    def make(tmp: Path) -> dict[str, Any]:
        result = review(film, planner, rounds=rounds, fallback=fallback)
        made.append(result)
        tmp.write_text(json.dumps(result.to_json(), indent=1, ensure_ascii=False), encoding="utf-8")
        return {"planner": planner.name, "rounds": result.rounds, "findings": len(result.findings)}

    try:  # `--llm-base-url local` starts its server on the first request (a cache hit: never)
        artifact = job.engine.run(AGENT, "film:agent", inputs, make)
        if made:
            result = made[0]
        elif artifact.path.exists():
            result = AgentResult.from_json(json.loads(artifact.path.read_text(encoding="utf-8")))
        else:  # a dry run: plan in memory, write nothing
            result = review(film, planner, rounds=rounds, fallback=fallback)
    finally:
        close_planner(planner)

    def write_shotlist(tmp: Path) -> None:
        header = f"revised by the agent roles ({result.describe()}) from {job.plan.source.name}"
        tmp.write_text(film_to_yaml(result.film, header), encoding="utf-8")

    shotlist = job.engine.run(AGENT_SHOTLIST, "film:agent-shotlist", {"agent": artifact.key}, write_shotlist)
    job.engine.publish(artifact, agent_transcript_name())
    job.engine.publish(shotlist, agent_shotlist_name())
    before, after = len(job.plan.shots), sum(len(s.shots) for s in result.film.scenes)
    job.engine.manifest.event(
        "agent", planner=result.planner, provenance=result.provenance, cached=artifact.hit, rounds=result.rounds,
        usage=result.usage, shots_before=before, shots_after=after,
        findings=[f.to_json() for f in result.findings])
    errors = sum(1 for f in result.findings if f.severity == "error")
    job.reporter.note(f"agent ({result.describe()}): {result.rounds} revision round(s), {before} → {after} shots, "
                      f"{errors} error(s) and {len(result.findings) - errors} warning(s) left")
    fell_back = result.fallbacks()
    if fell_back:
        job.reporter.note(f"warning: the model's answer was not used for {', '.join(fell_back)}; "
                          f"the rule planner wrote it (see agent/transcript.json)")
    return build_plan(result.film, job.plan.source, profile=options.profile), result


def compose(inner: Paradigm) -> Paradigm:
    """The agent paradigm in front of `inner`: revise the shot list, then run `inner` on it."""

    def run(job: Job) -> Output:
        plan, result = revise_plan(job)
        plan = as_rendered(plan, inner, job.options)  # the revision as `inner` renders it
        check_only(job.options.only, plan)
        check_needs(inner, plan, job.backend)  # the roles may have added shots and seams
        output = inner.run(replace(job, plan=plan))
        if output.plan is None:
            output.plan = plan
        output.extra["agent"] = {"rounds": result.rounds, "usage": result.usage,
                                 "findings": [f.to_json() for f in result.findings]}
        return output

    return Paradigm(
        name=f"agent+{inner.name}",
        summary=f"roles revise the shot list (director, cinematographer, continuity critic), then {inner.name}: {inner.summary}",
        stages=(Step(AGENT.name, "roles + continuity gates, bounded critique → revise",
                     more=(AGENT_SHOTLIST.name,)),) + inner.stages,
        needs=inner.needs, run=run,
        chainable=False,  # the roles run once, in front: agent+agent would only repeat them
        options=AgentOptions,
        needs_after_match_cut=inner.needs_after_match_cut, needs_on=inner.needs_on, replan=inner.replan,
    )


PARADIGM = compose(stitching.PARADIGM)
