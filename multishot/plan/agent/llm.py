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
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from pydantic import BaseModel, Field, ValidationError

from multishot.plan.agent.base import Contract, Transcript, Usage, validate_film, validation_errors
from multishot.plan.agent.cinematographer import CameraPlan, Direction, camera_problems
from multishot.plan.agent.critic import RULES, Finding, GateOptions
from multishot.plan.agent.director import PURPOSE_INFO, Breakdown, breakdown_problems
from multishot.plan.agent.model_text import Replaced
from multishot.plan.agent.revision import merge_revision
from multishot.plan.agent.rules import RulePlanner
from multishot.plan.agent.schemas import (bounded, camera_schema, critic_schema, director_schema, max_tokens,
                                          revise_scenes, revise_schema, screenwriter_schema)
from multishot.plan.agent.screenwriter import Brief, Treatment, character_id, treatment_problems
from multishot.plan.agent.text_fallback import breakdown_text, camera_text, revision_text, treatment_text
from multishot.shotlist.schema import ANGLES, MOVEMENTS, SIZES, Film

if TYPE_CHECKING:
    from multishot.plan.agent.local_server import LocalServer

T = TypeVar("T")
#: Bump when the prompts change: it enters the agent artifact's key, so cached plans made with
#: older prompts are redone.
PROMPT_VERSION = 5
DEFAULT_MODEL = "gpt-4o-mini"
REPLY_LIMIT = 6000  # characters of each reply kept in the transcript
MAX_NOTES = 5       # the model critic's notes a round (each one costs a revision's attention)

_JSON_ONLY = "Reply with one JSON object only: no prose, no comments, no Markdown."
_IDS = "Ids use only lowercase letters, digits, `_` and `-`."
_GRAMMAR = "\n".join(f"- {rule}: {text}" for rule, text in RULES.items())

SYSTEM = {
    "screenwriter": f"""You are the screenwriter of a short film. From a logline, write the treatment:
the cast, the places, and the scenes in story order (setup, turn, resolution), each scene with a
one-sentence beat. Descriptions are visual (clothes with colours, hair, build): they are inserted
verbatim into every image prompt. Characters given in the request keep their ids and descriptions;
use the request's character_ids, location_ids and scenes (ids and shot counts) as given.
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
Resolve every finding with the smallest change (open the scene wide, say that a character
enters, fix a screen direction, change a shot size, adjust durations). Do not change character
or location descriptions. The rules the critic applies:
{_GRAMMAR}
Shot fields: id, size ({" | ".join(SIZES)}), angle, movement, duration (seconds), action,
lighting, characters, dialogue, transition, screen_direction (left | right).
Send exactly the scenes in `revise_scenes` (the ones with findings), each with all its shots in
order, no shot added or removed; a shot may carry only the fields its findings concern, and
only those you change — a field you leave out keeps its value. Never remove a screen direction
or other recorded value.
{_JSON_ONLY} Shape: {{"scenes": [{{"id": scene id, "shots": [{{"id": shot id, changed fields…}}]}}]}}""",
}


SYSTEM["critic"] = f"""You are the continuity critic of a shot list. The gates below already found
what they list; add what they cannot see: an action that contradicts the scene or a character's
description, a shot whose size does not fit what it must show, a beat the story skips, a line of
dialogue given to someone not in the shot. At most {MAX_NOTES} notes, each naming one shot id and
saying what to change in one sentence; none when the shot list is sound. The gates' rules:
{_GRAMMAR}
{_JSON_ONLY} Shape: {{"notes": [{{"shot_id": shot id, "message": str}}]}}"""


class ModelNote(Contract):
    shot_id: str
    message: str = Field(min_length=1, max_length=400)


class ModelNotes(Contract):
    notes: list[ModelNote] = Field(default_factory=list)


#: The plain question that writes one text again (text_fallback), and its answer's length.
SENTENCE_SYSTEM = ("You write one sentence of a film's shot list, in plain words: no list, no "
                   "heading, no quotes, no JSON.")
SENTENCE_TOKENS = 48
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s")


def first_sentence(text: str, *, quoted: bool = False) -> str | None:
    """The answer's first sentence (a reply cut off by max_tokens ends at its last comma), without
    a leading label or surrounding quotes; None when nothing of a sentence is left."""
    text = " ".join(text.replace("*", " ").split())
    inner = re.match(r'^["“]([^"”]{6,})["”]', text)
    if quoted and inner:   # "We can't stay here," she whispers.
        return inner.group(1).strip().rstrip(",")
    text = re.sub(r"^(?:[A-Za-z0-9 ]{1,20}:\s+)", "", text) if quoted or text[:20].count(":") else text
    match = _SENTENCE_END.search(text + " ")
    if match:
        text = text[:match.start()]
    elif "," in text:
        text = text[:text.rindex(",")]
    text = text.strip().strip("\"'“”‘’").strip()
    return text if len(text) >= 6 else None


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


def unique_shot_ids(data: Any) -> list[str]:
    """Make a breakdown's repeated shot ids unique in place (`02-ending` twice → `02-ending`,
    `02-ending-2`) and say which were renamed. Why: an id is only a label at this point (no
    other answer refers to it yet), and SmolLM2-135M gave one id to every shot of a scene in all
    three attempts on one logline — a plan refused for a label the rules can fix as well."""
    seen: set[str] = set()
    renamed: list[str] = []
    shots = [shot for scene in (data.get("scenes") if isinstance(data, dict) else None) or []
             if isinstance(scene, dict) for shot in scene.get("shots") or [] if isinstance(shot, dict)]
    taken = {shot.get("id") for shot in shots}
    for shot in shots:
        sid = shot.get("id")
        if not isinstance(sid, str):
            continue
        if sid in seen:
            n = 2
            while f"{sid}-{n}" in taken:
                n += 1
            shot["id"] = f"{sid}-{n}"
            taken.add(shot["id"])
            renamed.append(f"{sid} → {shot['id']}")
        seen.add(shot["id"])
    return renamed


def api_key_from_env() -> str:
    """MULTISHOT_LLM_API_KEY, else OPENAI_API_KEY; local servers that need none get a dummy."""
    return os.environ.get("MULTISHOT_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY") or "not-needed"


#: The ways to ask for constrained output, tried in this order until the endpoint accepts one:
#: OpenAI's structured outputs (`json_schema`; llama.cpp's `llama-server`, vLLM, OpenAI), the
#: `json_object` + `schema` form (llama-cpp-python's server, which answers `json_schema` with a
#: 500), then the prompt alone with the repair loop.
FORMATS = ("json_schema", "json_object", "prompt")
#: What each endpoint accepted, detected once per process (endpoint, model) → format.
DETECTED: dict[tuple[str, str], str] = {}
#: Statuses with which a server says "I do not take this response_format" (others are failures).
REJECTS_FORMAT = {400, 404, 415, 422, 500, 501}
REPAIR_REPLY_CHARS = 1500   # how much of a bad reply a repair request quotes back
REPAIR_TEMPERATURE = 0.4    # added per repair: a deterministic model repeats its mistake at 0
FIRST_TIMEOUT = 300.0       # seconds for the first request when no --llm-timeout is given


def response_format(mode: str, role: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": role, "schema": schema, "strict": False}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def trimmed(content: str) -> str:
    """A bad reply as quoted back in a repair: compact JSON when it parses, else its start —
    never the whole runaway answer (that overflowed a 4k context)."""
    try:
        text = json.dumps(extract_json(content), ensure_ascii=False, separators=(",", ":"))
    except (json.JSONDecodeError, ValueError):
        text = content
    return text if len(text) <= REPAIR_REPLY_CHARS else text[:REPAIR_REPLY_CHARS] + " …[trimmed]"


@dataclass(frozen=True)
class ModelChoice:
    """Whether a model revises the film after the critic's findings and adds its own notes, by
    default, and why — for models measured too small to do either usefully."""

    revise: bool
    critic: bool
    why: str = ""
    #: Whether a text of its answers that the film cannot use is asked for again, alone
    #: (text_fallback), before the rules' words stand in.
    rewrite: bool = True
    rewrite_why: str = ""


#: Defaults measured per named model (docs/notes/issue-18c.md). SmolLM2-135M writes a usable
#: treatment, breakdown and camera plan under a schema, but not a revision or a note: on the
#: "Done when" logline its revise answers under the old, loose schema ran to max_tokens and were
#: refused (1106–1235 s of a 20–25-minute run); under the bounded schema its answer is complete
#: but changes nothing (the gates' fixes then did the work, +70 s), and its critic notes restate
#: the logline, loop, or restate a gate's finding. So by default the gates' own deterministic
#: fixes (the rule planner's reviser) answer the findings and the model critic is off;
#: --llm-revise and --llm-critic ask the model anyway. Any other model or endpoint: both on.
SMALL_MODELS: dict[str, ModelChoice] = {
    "smollm2-135m": ModelChoice(revise=False, critic=False, why=(
        "in the measured runs SmolLM2-135M's revisions changed nothing the gates' fixes did not "
        "(or ran to max_tokens), and its critic notes restated the logline or looped"),
        rewrite=False, rewrite_why=(
            "asked for one text alone, SmolLM2-135M answers in words but not in pictures (\"The "
            "girl's face is a mix of a child's and a dog's\", a line of dialogue that describes "
            "the speaker): the rules' words are used instead, at no cost")),
}


def model_choice(name: str | None) -> ModelChoice:
    return SMALL_MODELS.get(name or "", ModelChoice(revise=True, critic=True))


class LLMPlanner:
    name = "llm"

    def __init__(self, base_url: str, model: str | None = None, *, api_key: str | None = None,
                 repairs: int = 2, timeout: float | None = None, client: Any = None,
                 formats: Sequence[str] = FORMATS, model_critic: bool | None = False,
                 model_revise: bool | None = None, server: "LocalServer | None" = None) -> None:
        #: The local model server this planner starts on its first request and stops in close()
        #: (`--llm local`); its base URL (a free port) is known only once it runs, so the
        #: identity says `local` and the model file instead.
        self.server = server
        self.base_url = "local" if server is not None else base_url
        self.endpoint = base_url
        self.model = (server.name if server is not None else None) or model \
            or os.environ.get("MULTISHOT_LLM_MODEL") or DEFAULT_MODEL
        self.repairs = repairs
        #: None: adaptive (FIRST_TIMEOUT, then from the measured tokens per second).
        self.timeout = timeout
        self.formats = tuple(formats)
        #: What this model does by default (SMALL_MODELS), and what was chosen: None = the default.
        self.choice = model_choice(self.model)
        #: Whether the critic role asks the model for notes beyond the gates (a call a round,
        #: until a round whose notes were all dropped).
        self.model_critic = self.choice.critic if model_critic is None else model_critic
        #: Whether the model answers the findings (else the gates' own fixes: the rule planner's
        #: reviser, by choice, not as a fallback).
        self.model_revise = self.choice.revise if model_revise is None else model_revise
        self.critic_stopped = False
        #: Whether unusable texts are asked for again one at a time (else the rules' words).
        self.model_rewrite = self.choice.rewrite
        self._api_key = api_key or api_key_from_env()
        self.client = client if client is not None or server is not None else self._client(base_url)
        self.usage = Usage()
        self.transcript = Transcript()
        self.rules = RulePlanner()
        self.unreachable: str | None = None
        self.tokens_per_second: float | None = None
        self.rejected: set[str] = set()   # response formats this endpoint refused
        self.last_seconds = 0.0
        #: Which planner answered each role ("model" or "rules"), and each revise round.
        self.provenance: dict[str, Any] = {}
        self.last_source = "model"

    def _client(self, base_url: str) -> Any:
        from openai import OpenAI

        # Retries are the repair loop's job; transport retries would only multiply waiting.
        return OpenAI(base_url=base_url, api_key=self._api_key, timeout=self.timeout or FIRST_TIMEOUT,
                      max_retries=0)

    def start(self) -> None:
        """Start the local model server (when there is one and it is not running): raises
        LocalModelError with what to install when it cannot."""
        if self.server is not None and self.client is None:
            self.endpoint = self.server.start()
            self.client = self._client(self.endpoint)
            self.transcript.add("planner", "local-server", model=self.model, load_seconds=self.server.load_seconds,
                                threads=self.server.threads, ctx=self.server.ctx)

    def close(self) -> None:
        """Stop the local model server, if this planner started one (a no-op otherwise)."""
        if self.server is not None:
            self.server.stop()
            self.client = None

    def __enter__(self) -> "LLMPlanner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def identity(self) -> dict[str, Any]:
        out = {"planner": "llm", "base_url": self.base_url, "model": self.model,
               "prompts": PROMPT_VERSION, "repairs": self.repairs, "model_critic": self.model_critic,
               "model_revise": self.model_revise, "model_rewrite": self.model_rewrite}
        if self.server is not None:
            out["server"] = self.server.identity()
        return out

    @property
    def response_format_mode(self) -> str | None:
        return DETECTED.get((self.endpoint, self.model))

    # -- one request, in the best response format the endpoint takes ---------------------------

    def _timeout(self, max_tokens: int) -> float:
        """--llm-timeout when given; else generous until a speed is measured, then twice the
        time the bounded answer takes at that speed (a slow CPU gets the time it needs, a dead
        request is given up in proportion)."""
        if self.timeout is not None:
            return self.timeout
        if not self.tokens_per_second:
            return FIRST_TIMEOUT
        return min(1800.0, 30.0 + 2.0 * max_tokens / self.tokens_per_second)

    def _create(self, role: str, messages: list[dict[str, str]], schema: dict[str, Any],
                max_tokens: int, temperature: float) -> Any:
        from openai import APIStatusError

        key = (self.endpoint, self.model)
        known = DETECTED.get(key)
        modes = [known] if known else [m for m in self.formats if m not in self.rejected] or ["prompt"]
        for i, mode in enumerate(modes):
            extra: dict[str, Any] = {}
            fmt = response_format(mode, role, schema)
            if fmt is not None:
                extra["response_format"] = fmt
            started = time.monotonic()
            try:
                response = self.client.chat.completions.create(
                    model=self.model, messages=messages, temperature=temperature, max_tokens=max_tokens,
                    timeout=self._timeout(max_tokens), **extra)
            except APIStatusError as error:
                message = str(error)
                if known or i == len(modes) - 1 or error.status_code not in REJECTS_FORMAT or "context" in message:
                    raise
                self.rejected.add(mode)
                self.transcript.add(role, "format", rejected=mode, status=error.status_code, error=message[:300])
                continue
            if not known:
                DETECTED[key] = mode
                self.transcript.add(role, "format", detected=mode, endpoint=self.endpoint, model=self.model)
            elapsed = time.monotonic() - started
            self.last_seconds = round(elapsed, 3)
            done = int(getattr(getattr(response, "usage", None), "completion_tokens", 0) or 0)
            if done and elapsed > 0:
                self.tokens_per_second = done / elapsed
            return response
        raise AssertionError("unreachable: the last mode re-raises")  # pragma: no cover

    # -- one role exchange, with bounded repair ---------------------------------------------

    def ask(self, role: str, system: str, payload: dict[str, Any],
            parse: Callable[[Any], tuple[T | None, list[str]]], *, schema: dict[str, Any],
            max_tokens: int, usage_role: str | None = None) -> T | None:
        """One role's answer, or None when the model could not give a valid one. Each failed
        request (a timeout, an HTTP error) is one failed attempt of this role; only an endpoint
        nobody listens on is given up for the run."""
        from openai import APIConnectionError, APITimeoutError

        from multishot.plan.agent.local_server import LocalModelError

        usage = self.usage.role(usage_role or role)
        if self.unreachable:
            return None
        # The longest answer the schema allows fits max_tokens (free strings shortened to fit the
        # role's budget): a reply is complete JSON or it stopped early, never cut off mid-way.
        schema, max_tokens = bounded(schema, max_tokens)
        try:
            self.start()
        except LocalModelError as error:  # the server did not come up: every role falls back
            self.unreachable = str(error)
            self.transcript.add(role, "error", attempt=0, error=str(error)[:500])
            return None
        base: list[dict[str, str]] = [{"role": "system", "content": system},
                                      {"role": "user", "content": json.dumps(payload, ensure_ascii=False)}]
        messages = base
        for attempt in range(1 + self.repairs):
            temperature = min(1.0, REPAIR_TEMPERATURE * attempt)
            try:
                response = self._create(role, messages, schema, max_tokens, temperature)
                content = response.choices[0].message.content or ""
            except Exception as error:  # the endpoint's problem must not become the render's
                usage.errors += 1
                text = f"{type(error).__name__}: {error}"
                self.transcript.add(role, "error", attempt=attempt, error=text[:500])
                if isinstance(error, APIConnectionError) and not isinstance(error, APITimeoutError):
                    self.unreachable = text   # nothing listens there: no later role waits on it
                    return None
                continue
            usage.answered(response, self.last_seconds)
            tokens = getattr(response, "usage", None)
            finish = getattr(response.choices[0], "finish_reason", None)
            try:
                data = extract_json(content)
                # A schema-valid answer whose strings loop (`A.J.A.A.…`) keeps its structure: the
                # looping texts are written again one by one (text_fallback), not by a repair of the
                # whole answer — three attempts of SmolLM2-135M looped alike and lost the structure.
                result, problems = parse(data)
            except json.JSONDecodeError as error:
                result, problems = None, [f"the reply is not valid JSON: {error.msg} "
                                          f"(line {error.lineno}, column {error.colno})"]
            if problems and finish == "length":
                problems = [f"the reply was cut off at {max_tokens} tokens: answer more briefly"] + problems
            self.transcript.add(role, "reply", attempt=attempt, ok=not problems, problems=problems,
                                temperature=temperature, finish=finish, max_tokens=max_tokens,
                                completion_tokens=int(getattr(tokens, "completion_tokens", 0) or 0),
                                seconds=self.last_seconds, reply=content[:REPLY_LIMIT])
            if not problems:
                return result
            if attempt < self.repairs:
                usage.repairs += 1
                # The conversation restarts from the request each time: one trimmed bad reply and
                # its problems, so repairs never grow past the context.
                messages = base + [{"role": "assistant", "content": trimmed(content)},
                                   {"role": "user", "content": "Your reply cannot be used:\n"
                                    + "\n".join(f"- {p}" for p in problems[:30])
                                    + f"\nSend the whole corrected JSON object. {_JSON_ONLY}"}]
        return None

    def _fallback(self, role: str, make: Callable[[], T], *, usage_role: str | None = None) -> T:
        self.usage.role(usage_role or role).fallbacks += 1
        self.transcript.add(usage_role or role, "fallback", planner="rules",
                            reason=self.unreachable or "no valid answer after repairs")
        self.provenance[role] = "rules"
        self.last_source = "rules"
        return make()

    def _usable(self, role: str, answer: T, replaced: list[Replaced], checked: int) -> T:
        """The role's answer as text_fallback left it; each replacement in the transcript, and
        counted in the provenance (`texts`: {role: {written, model, rules}})."""
        if replaced:
            by_model = sum(r.by == "model" for r in replaced)
            self.provenance.setdefault("texts", {})[role] = {
                "written": checked, "model": by_model, "rules": len(replaced) - by_model}
            self.transcript.add(role, "text-replaced", count=len(replaced),
                                fields=[r.to_json() for r in replaced[:40]])
        return answer

    @property
    def _ask(self) -> "Callable[[str, str, str], str | None] | None":
        return self.sentence if self.model_rewrite else None

    def sentence(self, role: str, kind: str, question: str) -> str | None:
        """One text asked for alone, in plain words (no schema: the one-sentence answers of a
        small model are better without one), cut to its first sentence. Counted in the role's
        usage; a failed request is None (the rules' text then stands in)."""
        usage = self.usage.role(role)
        if self.unreachable or self.client is None:
            return None
        messages = [{"role": "system", "content": SENTENCE_SYSTEM}, {"role": "user", "content": question}]
        started = time.monotonic()
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, temperature=0, max_tokens=SENTENCE_TOKENS,
                timeout=self._timeout(SENTENCE_TOKENS))
            content = response.choices[0].message.content or ""
        except Exception as error:  # the endpoint's problem: this text falls back, nothing else
            usage.errors += 1
            self.transcript.add(role, "error", attempt=0, error=f"{type(error).__name__}: {error}"[:500])
            return None
        seconds = round(time.monotonic() - started, 3)
        usage.answered(response, seconds)
        text = first_sentence(content, quoted=kind == "line")
        self.transcript.add(role, "sentence", kind=kind, question=question[:400], reply=content[:400],
                            text=text, seconds=seconds)
        return text

    def _from_model(self, role: str) -> None:
        self.provenance[role] = "model"
        self.last_source = "model"

    # -- the roles ------------------------------------------------------------------------------

    def screenwriter(self, brief: Brief) -> Treatment:
        # The ids come from reading the logline (the rule screenwriter's cast and places): the
        # model writes the descriptions, the title and the scenes, in maps closed to those ids.
        reading = self.rules.screenwriter(brief)
        cast, places = list(reading.characters), list(reading.locations)
        payload = {"logline": brief.logline, "shots": brief.shots, "duration_seconds": brief.seconds,
                   "characters": {character_id(n): d for n, d in brief.characters},
                   "character_ids": cast, "location_ids": places,
                   "scenes": [{"id": sc.id, "shots": sc.shots} for sc in reading.scenes],
                   "title": brief.title, "style": brief.style}
        treatment = self.ask("screenwriter", SYSTEM["screenwriter"], payload,
                             lambda d: parse_contract(Treatment, d, lambda t: treatment_problems(t, brief)),
                             schema=screenwriter_schema(brief, cast, places,
                                                        [(sc.id, sc.shots) for sc in reading.scenes]),
                             max_tokens=max_tokens("screenwriter", brief.shots))
        if treatment is None:
            return self._fallback("screenwriter", lambda: self.rules.screenwriter(brief))
        self._from_model("screenwriter")
        # Given characters are canon: their descriptions stay verbatim whatever the model wrote.
        given = {character_id(n): d for n, d in brief.characters if d.strip()}
        treatment = self._usable("screenwriter", *treatment_text(treatment, reading, brief.logline, self._ask,
                                                                 brief.title or "", given=list(given)))
        updates: dict[str, Any] = {"characters": {**treatment.characters, **given}}
        if brief.title:
            updates["title"] = brief.title
        if brief.style:
            updates["style"] = brief.style
        return treatment.model_copy(update=updates)

    def director(self, brief: Brief, treatment: Treatment) -> Breakdown:
        payload = {"treatment": treatment.model_dump(mode="json"), "shots": brief.shots}
        renamed: list[str] = []

        def parse(data: Any) -> tuple[Breakdown | None, list[str]]:
            renamed[:] = unique_shot_ids(data)
            return parse_contract(Breakdown, data, lambda b: breakdown_problems(b, treatment, brief))

        breakdown = self.ask("director", SYSTEM["director"], payload, parse,
                             schema=director_schema(treatment), max_tokens=max_tokens("director", brief.shots))
        if breakdown is not None and renamed:
            self.transcript.add("director", "renamed", ids=renamed)
        if breakdown is None:
            return self._fallback("director", lambda: self.rules.director(brief, treatment))
        self._from_model("director")
        return self._usable("director", *breakdown_text(breakdown, treatment, brief.logline, self._ask))

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
                        lambda d: parse_contract(CameraPlan, d, lambda p: camera_problems(p, breakdown)),
                        schema=camera_schema(breakdown),
                        max_tokens=max_tokens("cinematographer", len(breakdown.intents())))
        if plan is None:
            return self._fallback("cinematographer", lambda: self.rules.cinematographer(treatment, breakdown, recorded))
        self._from_model("cinematographer")
        return self._usable("cinematographer", *camera_text(plan, treatment, breakdown, (treatment.title,)))

    def revise(self, film: Film, findings: Sequence[Finding], gates: GateOptions) -> Film:
        rounds = self.provenance.setdefault("revise", [])
        if not self.model_revise:
            # By choice (SMALL_MODELS, --no-llm-revise): the gates' own fixes, no model call.
            self.provenance["revise"] = rounds + ["fixes"]
            self.last_source = "rules"
            return self.rules.revise(film, findings, gates)
        # Only the scenes with findings go out and come back (a schema with exactly those scenes,
        # every shot a patch of REVISE_FIELDS): the answer a model must write stays a few shots
        # long, and its longest possible form fits max_tokens.
        scene_ids = revise_scenes(film, [f.shot_id for f in findings])
        data = film.model_dump(mode="json", exclude_none=True)
        data["scenes"] = [sc for sc in data["scenes"] if sc["id"] in scene_ids]
        payload = {"film": data, "findings": [f.to_json() for f in findings],
                   "revise_scenes": scene_ids, "budget_seconds": gates.budget}
        kept: list[str] = []

        def parse(reply: Any) -> tuple[Film | None, list[str]]:
            if not isinstance(reply, dict) or not isinstance(reply.get("scenes"), list):
                return None, ["(top level): expected {\"scenes\": [...]}"]
            # Only the scenes are the model's to change, and only by merging onto the film:
            # cast, places, format stay canonical; what the reply leaves out is kept.
            merged, notes = merge_revision(film, reply["scenes"])
            kept[:] = notes
            return validate_film(merged)

        shots = sum(len(s.shots) for s in film.scenes if s.id in scene_ids)
        schema = revise_schema(film, [(f.rule, f.shot_id) for f in findings])
        revised = self.ask("revise", SYSTEM["revise"], payload, parse, schema=schema,
                           max_tokens=max_tokens("revise", shots))
        if revised is None:
            result = self._fallback("revise", lambda: self.rules.revise(film, findings, gates))
            self.provenance["revise"] = rounds + ["rules"]
            return result
        self.last_source = "model"
        rounds.append("model")
        if kept:
            self.transcript.add("revise", "kept", notes=kept)
        return self._usable("revise", *revision_text(film, revised, film.logline or ""))

    def critic(self, film: Film, findings: Sequence[Finding]) -> list[Finding]:
        """The model's notes beyond the gates, as warnings (`model-note`): the gates stay the
        authority on errors, the model adds what rules cannot read. Its notes are judged
        (model_notes.judge): an echo of the logline, a loop or a note that names nothing to
        change is dropped, with the reason in the transcript; after a round whose notes were all
        dropped the model is not asked again (its calls are spent only where they add findings).
        No notes when the model critic is off or its answer is unusable."""
        if not self.model_critic or self.critic_stopped:
            return []
        from multishot.plan.agent.model_text import judge

        shot_ids = [shot.id for _, shot in film.shots()]
        payload = {"film": film.model_dump(mode="json", exclude_none=True),
                   "gate_findings": [f.to_json() for f in findings]}
        count = min(len(shot_ids), MAX_NOTES)

        def parse(data: Any) -> tuple[ModelNotes | None, list[str]]:
            def check(n: ModelNotes) -> list[str]:
                out = [f"notes[{i}].shot_id: unknown shot `{x.shot_id}`" for i, x in enumerate(n.notes)
                       if x.shot_id not in shot_ids]
                if len(n.notes) > MAX_NOTES:
                    out.append(f"notes: at most {MAX_NOTES}")
                return out
            return parse_contract(ModelNotes, data, check)

        notes = self.ask("critic", SYSTEM["critic"], payload, parse, schema=critic_schema(shot_ids, count),
                         max_tokens=max_tokens("critic", count))  # its notes are judged below
        if notes is None:
            self.transcript.add("critic", "model-notes", ok=False)
            return []
        verdicts = judge([(n.shot_id, n.message) for n in notes.notes], film)
        dropped = [{"shot_id": v.shot_id, "message": v.message[:200], "reason": v.reason}
                   for v in verdicts if not v.kept]
        kept = [v for v in verdicts if v.kept]
        if dropped:
            self.transcript.add("critic", "model-notes-dropped", notes=dropped)
        if not kept:
            self.critic_stopped = True
            self.transcript.add("critic", "model-critic-stopped",
                                reason=f"none of its {len(verdicts)} notes said what to change in a shot"
                                if verdicts else "it had no notes")
        return [Finding("model-note", v.shot_id, "warning", v.message) for v in kept]
