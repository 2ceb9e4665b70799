"""The one interface both planners (rule-based and LLM) implement: the creative roles, one
method each. Its own module because it names every role's contract, so it imports the roles and
nothing imports it but the planners' users (the loop, `direct`, the package)."""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from multishot.plan.agent.base import Transcript, Usage
from multishot.plan.agent.cinematographer import CameraPlan
from multishot.plan.agent.critic import Finding, GateOptions
from multishot.plan.agent.director import Breakdown
from multishot.plan.agent.screenwriter import Brief, Treatment
from multishot.shotlist.schema import Film


class Planner(Protocol):
    """The creative roles, one method each. `revise` answers the critic's findings."""

    name: str
    usage: Usage
    transcript: Transcript

    def identity(self) -> dict[str, Any]:
        """What determines this planner's output (enters the agent artifact's cache key)."""
        ...

    def screenwriter(self, brief: Brief) -> Treatment: ...

    def director(self, brief: Brief, treatment: Treatment) -> Breakdown: ...

    def cinematographer(self, treatment: Treatment, breakdown: Breakdown,
                        recorded: dict[str, dict[str, str]] | None = None) -> CameraPlan:
        """`recorded`: screen directions a shot list already fixes, per scene, to keep."""
        ...

    def revise(self, film: Film, findings: Sequence[Finding], gates: GateOptions) -> Film: ...
