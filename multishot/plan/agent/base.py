"""What every role shares: the contract base class, per-role usage counts, the transcript and
shot-list validation. It imports no role (the planner interface is plan/agent/planner.py, the
shared words plan/agent/vocabulary.py), so the roles import it without a loop.

A role's output is a small pydantic model (its contract). Both planners produce the same
contracts, so the code after a role never knows which planner ran it, and an LLM's answer is
validated exactly like the rule planner's.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from multishot.shotlist.errors import format_path

from multishot.plan.agent.vocabulary import display_name  # noqa: F401  (re-exported for the roles)

if TYPE_CHECKING:
    from multishot.shotlist.schema import Film

class Contract(BaseModel):
    """A role's output: strict (unknown keys are errors an LLM is asked to repair), immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class RoleUsage:
    """What one role cost: model calls and tokens (0 for the rule planner), repairs asked for,
    fallbacks to the rule planner, transport errors."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    repairs: int = 0
    fallbacks: int = 0
    errors: int = 0
    #: Seconds spent waiting for the model's answers.
    seconds: float = 0.0

    def answered(self, response: Any, seconds: float) -> None:
        """Count one answered request (an OpenAI chat.completion: its `usage`, if any)."""
        tokens = getattr(response, "usage", None)
        self.calls += 1
        self.seconds += seconds
        self.prompt_tokens += int(getattr(tokens, "prompt_tokens", 0) or 0)
        self.completion_tokens += int(getattr(tokens, "completion_tokens", 0) or 0)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Usage:
    roles: dict[str, RoleUsage] = field(default_factory=dict)

    def role(self, name: str) -> RoleUsage:
        return self.roles.setdefault(name, RoleUsage())

    def to_json(self) -> dict[str, dict[str, float]]:
        return {name: {**asdict(u), "seconds": round(u.seconds, 2), "total_tokens": u.total_tokens}
                for name, u in self.roles.items()}


@dataclass
class Transcript:
    """The agents' conversation as a list of plain JSON entries (saved as an artifact): who did
    what, in which critique round, with what result."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, role: str, event: str, **data: Any) -> None:
        self.entries.append({"step": len(self.entries) + 1, "role": role, "event": event, **data})


def validation_errors(error: ValidationError) -> list[str]:
    """pydantic errors as `field.path: message` lines (what a model is asked to repair)."""
    out = []
    for e in error.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and "[" in p))
        out.append(f"{format_path(loc) or '(top level)'}: {e['msg']}"
                   + (f" (got {e['input']!r})" if e["type"] != "missing" and not isinstance(e.get("input"), (dict, list)) else ""))
    return out


def validate_film(data: Any) -> tuple["Film | None", list[str]]:
    """A shot list as data → (Film, []) or (None, problems), checked like a loaded file: the
    schema plus cross-references (ids exist and are unique, transitions fit). Reference images
    are not re-checked: no role touches them, and they were checked when the file was loaded."""
    from multishot.shotlist.loader import check_references
    from multishot.shotlist.schema import Film

    if not isinstance(data, dict):
        return None, ["(top level): expected a JSON object"]
    bare = copy.deepcopy(data)
    for character in (bare.get("characters") or {}).values() if isinstance(bare.get("characters"), dict) else []:
        if isinstance(character, dict):
            character.pop("reference", None)
    problems = [f"{p.path or '(top level)'}: {p.message}" for p in check_references(bare, {}, Path("shotlist.yaml"))]
    try:
        film = Film.model_validate(data)
    except ValidationError as error:
        return None, problems + validation_errors(error)
    return (None, problems) if problems else (film, [])
