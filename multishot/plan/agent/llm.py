"""The LLM planner: the same roles, answered by any OpenAI-compatible chat endpoint.

Each role is one chat exchange through the official `openai` client: a system prompt with the
role's contract (the JSON shape, the allowed values, the film-grammar rules the critic will
apply), a user message with the role's input as JSON. The reply is parsed into the role's
pydantic contract and re-validated (cross-references included); when it is not valid JSON or
not a valid contract, the errors are sent back in the same conversation for repair, at most
`repairs` times. A role that still fails — or an endpoint that cannot be reached — falls back
to the rule planner's role, noted in the transcript: a model never crashes a render.

Calls, tokens, repairs and fallbacks are counted per role (RoleUsage) for the manifest.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Callable, Sequence, TypeVar

from pydantic import BaseModel, ValidationError

from multishot.plan.agent.base import Transcript, Usage, validate_film, validation_errors
from multishot.plan.agent.cinematographer import CameraPlan, Direction, camera_problems
from multishot.plan.agent.critic import RULES, Finding, GateOptions
from multishot.plan.agent.director import PURPOSE_INFO, Breakdown, breakdown_problems
from multishot.plan.agent.rules import RulePlanner
from multishot.plan.agent.screenwriter import Brief, Treatment, character_id, treatment_problems
from multishot.shotlist.schema import ANGLES, MOVEMENTS, SIZES, Film

T = TypeVar("T")
#: Bump when the prompts change: it enters the agent artifact's key, so cached plans made with
#: older prompts are redone.
PROMPT_VERSION = 1
DEFAULT_MODEL = "gpt-4o-mini"
REPLY_LIMIT = 6000  # characters of each reply kept in the transcript

_JSON_ONLY = "Reply with one JSON object only: no prose, no comments, no Markdown."
_IDS = "Ids use only lowercase letters, digits, `_` and `-`."
_GRAMMAR = "\n".join(f"- {rule}: {text}" for rule, text in RULES.items())

SYSTEM = {
    "screenwriter": f"""You are the screenwriter of a short film. From a logline, write the treatment:
the cast, the places, and the scenes in story order (setup, turn, resolution), each scene with a
one-sentence beat. Descriptions are visual (clothes with colours, hair, build): they are inserted
verbatim into every image prompt. Characters given in the request keep their ids and descriptions.
{_IDS} The scenes' `shots` must add up to exactly the requested number; `duration` is seconds.
{_JSON_ONLY} Shape:
{{"title": str, "style": str, "characters": {{id: description}}, "locations": {{id: description}},
  "prop": str | null, "scenes": [{{"id": id, "location": location id, "time": "dawn|day|dusk|night",
  "weather": str | null, "beat": str, "characters": [character ids], "shots": int, "duration": number}}]}}""",
    "director": f"""You are the director. Break every scene of the treatment into shots, each with a
purpose from this list:
{chr(10).join(f"- {k}: {v}" for k, v in PURPOSE_INFO.items())}
A scene opens with `establish`. A character seen in a scene must be in the scene's first shot with
people or enter (the action says "enters"). Shot / reverse-shot alternates `dialogue` and `reverse`.
`duration` is a relative weight (1.0 = an ordinary shot). Shot ids are unique in the whole film.
{_IDS} The film has exactly the requested number of shots, scenes in the treatment's order.
{_JSON_ONLY} Shape:
{{"scenes": [{{"scene": scene id, "shots": [{{"id": id, "purpose": purpose, "characters": [ids],
  "action": str, "dialogue": {{character id: line}}, "duration": number}}]}}]}}""",
    "cinematographer": f"""You are the cinematographer. For every shot choose size, angle, movement,
lighting (a short phrase) and screen_direction (the way the shot's first character faces: left or
right). Follow film grammar: size follows purpose (establish wide, reaction close, detail insert);
no two consecutive shots with the same size and angle on the same subject; the 180-degree rule —
each character keeps one screen direction in a scene and the two sides of a conversation face
each other.
size: {" | ".join(SIZES)}
angle: {" | ".join(ANGLES)}
movement: {" | ".join(MOVEMENTS)}
{_JSON_ONLY} Shape:
{{"shots": [{{"id": shot id, "size": size, "angle": angle, "movement": movement,
  "lighting": str, "screen_direction": "left" | "right" | null}}]}}""",
    "revise": f"""You are the director revising a shot list after the continuity critic's notes.
Resolve every finding with the smallest change (add an establishing shot, say that a character
enters, fix a screen direction, change a shot size, adjust durations). Do not change character
or location descriptions. The rules the critic applies:
{_GRAMMAR}
Shot fields: id, size ({" | ".join(SIZES)}), angle, movement, duration (seconds), action,
lighting, characters, relation, dialogue, transition, screen_direction (left | right).
{_JSON_ONLY} Shape: {{"scenes": [the film's scenes, revised, same fields as given]}}""",
}


def extract_json(text: str) -> Any:
    """The JSON object in a reply, tolerating a Markdown fence or words around it."""
    fenced = re.search(r"```(?:json|JSON)?\s*(.*?)```", text, re.S)
    body = fenced.group(1) if fenced else text
    start = body.find("{")
    if start < 0:
        raise json.JSONDecodeError("no JSON object in the reply", body, 0)
    end = body.rfind("}")
    return json.loads(body[start:end + 1] if end > start else body[start:])


def parse_contract(model: type[BaseModel], data: Any, check: Callable[[Any], list[str]]) -> tuple[Any, list[str]]:
    try:
        obj = model.model_validate(data)
    except ValidationError as error:
        return None, validation_errors(error)
    problems = check(obj)
    return (None, problems) if problems else (obj, [])


def api_key_from_env() -> str:
    """MULTISHOT_LLM_API_KEY, else OPENAI_API_KEY; local servers that need none get a dummy."""
    return os.environ.get("MULTISHOT_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY") or "not-needed"


class LLMPlanner:
    name = "llm"

    def __init__(self, base_url: str, model: str | None = None, *, api_key: str | None = None,
                 repairs: int = 2, timeout: float = 120.0, client: Any = None) -> None:
        from openai import OpenAI

        self.base_url = base_url
        self.model = model or os.environ.get("MULTISHOT_LLM_MODEL") or DEFAULT_MODEL
        self.repairs = repairs
        # Retries are the repair loop's job; transport retries would only multiply waiting.
        self.client = client or OpenAI(base_url=base_url, api_key=api_key or api_key_from_env(),
                                       timeout=timeout, max_retries=0)
        self.usage = Usage()
        self.transcript = Transcript()
        self.rules = RulePlanner()
        self.unreachable: str | None = None

    def identity(self) -> dict[str, Any]:
        return {"planner": "llm", "base_url": self.base_url, "model": self.model,
                "prompts": PROMPT_VERSION, "repairs": self.repairs}

    # -- one role exchange, with bounded repair ---------------------------------------------

    def ask(self, role: str, system: str, payload: dict[str, Any],
            parse: Callable[[Any], tuple[T | None, list[str]]]) -> T | None:
        """One role's answer, or None when the model could not give a valid one."""
        usage = self.usage.role(role)
        if self.unreachable:
            return None
        messages: list[dict[str, str]] = [{"role": "system", "content": system},
                                          {"role": "user", "content": json.dumps(payload, ensure_ascii=False)}]
        for attempt in range(1 + self.repairs):
            try:
                response = self.client.chat.completions.create(model=self.model, messages=messages,
                                                               temperature=0)
                content = response.choices[0].message.content or ""
            except Exception as error:  # the endpoint's problem must not become the render's
                usage.errors += 1
                self.unreachable = f"{type(error).__name__}: {error}"
                self.transcript.add(role, "error", attempt=attempt, error=self.unreachable[:500])
                return None
            usage.calls += 1
            tokens = getattr(response, "usage", None)
            usage.prompt_tokens += int(getattr(tokens, "prompt_tokens", 0) or 0)
            usage.completion_tokens += int(getattr(tokens, "completion_tokens", 0) or 0)
            try:
                result, problems = parse(extract_json(content))
            except json.JSONDecodeError as error:
                result, problems = None, [f"the reply is not valid JSON: {error.msg} "
                                          f"(line {error.lineno}, column {error.colno})"]
            self.transcript.add(role, "reply", attempt=attempt, ok=not problems, problems=problems,
                                reply=content[:REPLY_LIMIT])
            if not problems:
                return result
            if attempt < self.repairs:
                usage.repairs += 1
                messages += [{"role": "assistant", "content": content},
                             {"role": "user", "content": "Your reply cannot be used:\n"
                              + "\n".join(f"- {p}" for p in problems[:30])
                              + f"\nSend the whole corrected JSON object. {_JSON_ONLY}"}]
        return None

    def _fallback(self, role: str, make: Callable[[], T]) -> T:
        self.usage.role(role).fallbacks += 1
        self.transcript.add(role, "fallback", planner="rules",
                            reason=self.unreachable or "no valid answer after repairs")
        return make()

    # -- the roles ------------------------------------------------------------------------------

    def screenwriter(self, brief: Brief) -> Treatment:
        payload = {"logline": brief.logline, "shots": brief.shots, "duration_seconds": brief.seconds,
                   "characters": {character_id(n): d for n, d in brief.characters},
                   "title": brief.title, "style": brief.style}
        treatment = self.ask("screenwriter", SYSTEM["screenwriter"], payload,
                             lambda d: parse_contract(Treatment, d, lambda t: treatment_problems(t, brief)))
        if treatment is None:
            return self._fallback("screenwriter", lambda: self.rules.screenwriter(brief))
        # Given characters are canon: their descriptions stay verbatim whatever the model wrote.
        given = {character_id(n): d for n, d in brief.characters if d.strip()}
        updates: dict[str, Any] = {"characters": {**treatment.characters, **given}}
        if brief.title:
            updates["title"] = brief.title
        if brief.style:
            updates["style"] = brief.style
        return treatment.model_copy(update=updates)

    def director(self, brief: Brief, treatment: Treatment) -> Breakdown:
        payload = {"treatment": treatment.model_dump(mode="json"), "shots": brief.shots}
        breakdown = self.ask("director", SYSTEM["director"], payload,
                             lambda d: parse_contract(Breakdown, d,
                                                      lambda b: breakdown_problems(b, treatment, brief)))
        if breakdown is None:
            return self._fallback("director", lambda: self.rules.director(brief, treatment))
        return breakdown

    def cinematographer(self, treatment: Treatment, breakdown: Breakdown,
                        recorded: dict[str, dict[str, Direction]] | None = None) -> CameraPlan:
        beats = {s.id: s for s in treatment.scenes}
        payload = {"characters": treatment.characters, "recorded_screen_directions": recorded or {},
                   "scenes": [{"id": s.scene, "time": beats[s.scene].time if s.scene in beats else None,
                               "weather": beats[s.scene].weather if s.scene in beats else None,
                               "shots": [{"id": i.id, "purpose": i.purpose, "characters": i.characters,
                                          "action": i.action} for i in s.shots]}
                              for s in breakdown.scenes]}
        plan = self.ask("cinematographer", SYSTEM["cinematographer"], payload,
                        lambda d: parse_contract(CameraPlan, d, lambda p: camera_problems(p, breakdown)))
        if plan is None:
            return self._fallback("cinematographer", lambda: self.rules.cinematographer(treatment, breakdown, recorded))
        return plan

    def revise(self, film: Film, findings: Sequence[Finding], gates: GateOptions) -> Film:
        original = film.model_dump(mode="json", exclude_none=True)
        payload = {"film": original, "findings": [f.to_json() for f in findings],
                   "budget_seconds": gates.budget}

        def parse(data: Any) -> tuple[Film | None, list[str]]:
            if not isinstance(data, dict) or not isinstance(data.get("scenes"), list):
                return None, ["(top level): expected {\"scenes\": [...]}"]
            # Only the scenes are the model's to change: cast, places, format stay canonical.
            return validate_film({**film.model_dump(mode="json"), "scenes": data["scenes"]})

        revised = self.ask("director", SYSTEM["revise"], payload, parse)
        if revised is None:
            return self._fallback("director", lambda: self.rules.revise(film, findings, gates))
        return revised
