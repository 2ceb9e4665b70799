"""The continuity critic: validation gates that run on every plan (LLM or rule-based) and on
hand-written shot lists (`multishot check FILE`).

Each gate is a function (film, options) -> findings, and each finding names the shot and the
rule, so a person (or the revising role) knows exactly what to change. The gates are rules, never
a model: they are the fixed point the critique → revise loop converges on, and they must give
the same answer for the same shot list every time.

The film grammar behind them is the continuity system of classical editing (Bordwell &
Thompson, *Film Art*, ch. 6): the 180-degree line, establishing shots, no jump cuts between
near-identical framings, characters entering before they are seen.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Callable, Iterator, Literal

from multishot.plan.agent.vocabulary import _COLOUR_SAME, ATTIRE, COLOURS, display_name, mentions, words
from multishot.shotlist.schema import Film, Scene, Shot

Severity = Literal["error", "warn"]

#: rule name -> what it asks for (shown by `multishot check --rules` and in LLM prompts).
RULES: dict[str, str] = {
    "establishing": "a scene opens with an establishing size (extreme-wide, wide or full) unless told otherwise",
    "character-presence": "a character appears in a scene only once the scene has shown them, named "
                          "them, or they enter (the action says so)",
    "180-degree": "in a scene each character keeps one screen direction, and in shot/reverse-shot the "
                  "two characters face opposite directions (record screen_direction: left|right)",
    "jump-cut": "no cut between two shots of the same size and angle on the same subject",
    "description": "a character looks as their description says in every shot (no other colour "
                   "for the same garment or hair)",
    "duration-budget": "the film's length (shot durations minus transition overlaps) fits the budget",
}
#: Sizes that show where we are. `full` counts, as in plan/grammar.py: a full shot of a small
#: room shows the room.
ESTABLISHING_SIZES = ("extreme-wide", "wide", "full")


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, at which shot, how bad, and what to do about it. `subject` is
    the character (or other shot) it concerns, for the reviser."""

    rule: str
    shot_id: str
    severity: Severity
    message: str
    subject: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.severity}: [{self.rule}] shot `{self.shot_id}`: {self.message}"


@dataclass(frozen=True)
class GateOptions:
    """`budget`: the film's length in seconds, checked when given. `allow`: exemptions, each a
    rule (`jump-cut`), a rule at a shot or scene (`establishing:cold-open`) — the way a shot list
    is "told otherwise"."""

    budget: float | None = None
    tolerance: float = 0.05
    allow: frozenset[str] = frozenset()


Gate = Callable[[Film, GateOptions], Iterator[Finding]]

#: Severity, by one rule: an error contradicts something the film has already established (a
#: screen direction, a character's look, the length it must fit) and so breaks continuity or
#: the render; a warning is a convention not followed (open wide, show who enters, no jump
#: cuts), which real scripts break on purpose. `multishot check --strict` fails on both.


# -- words (the vocabularies themselves are plan/agent/vocabulary.py) ----------------------------

_ENTERS = re.compile(
    r"\b(enter|enters|entering|entered|arrive|arrives|arriving|arrived|appear|appears|appearing|"
    r"emerge|emerges|emerging|join|joins|joining|return|returns|returning|approach|approaches|"
    r"(?:steps?|walks?|comes?|runs?|bursts?|rushes?|climbs?|hurries|slips?|wanders?|drives?|rides?)"
    r"\s+(?:in|into|up|over|through|back|out)|opens?\s+(?:the\s+|a\s+)?(?:\w+\s+)?(?:door|gate|hatch)|at\s+the\s+door|"
    r"is\s+(?:here|there|waiting))\b")
_CROSSES = re.compile(r"\b(turn|turns|turning|turned|cross|crosses|crossing|circle|circles|"
                      r"circling|spin|spins|spinning|walks?\s+around|moves?\s+around)\b")


def _colour(word: str) -> str:
    return _COLOUR_SAME.get(word, word)


def _same_thing(a: str, b: str) -> bool:
    a, b = a.rstrip("s"), b.rstrip("s")
    return a == b or a.endswith(b) or b.endswith(a)


def colour_pairs(text: str) -> list[tuple[str, str, int, int, int]]:
    """(colour, noun, colour start, colour end, word index) for "yellow oilskin raincoat"-style
    phrases: a colour word and each thing a character wears or has in the three words after it
    (up to the next colour word): yellow → oilskin, yellow → raincoat."""
    ws = words(text)
    out = []
    for i, (w, start, end) in enumerate(ws):
        if w not in COLOURS:
            continue
        for follower, _, _ in ws[i + 1:i + 4]:
            if follower in COLOURS:
                break
            if follower in ATTIRE:
                out.append((_colour(w), follower, start, end, i))
    return out


# -- the gates -----------------------------------------------------------------------------------

def gate_establishing(film: Film, options: GateOptions) -> Iterator[Finding]:
    """A warning, not an error: opening a scene close is a convention broken on purpose all the
    time (the HoloCine, StoryMem and VideoGen-of-Thought example scripts all open scenes on a
    medium or a close-up), and nothing about it breaks continuity or rendering. `check --strict`
    makes it fail, for a CI that wants the convention kept."""
    previous: Shot | None = None
    for scene in film.scenes:
        first = scene.shots[0]
        told_otherwise = (getattr(scene, "establishing", True) is False
                          or (previous is not None and previous.transition is not None
                              and previous.transition.type == "match-cut"))
        if first.size not in ESTABLISHING_SIZES and not told_otherwise:
            yield Finding("establishing", first.id, "warn",
                          f"scene `{scene.id}` opens on a {first.size} shot; open with an establishing "
                          f"size ({', '.join(ESTABLISHING_SIZES[:-1])} or {ESTABLISHING_SIZES[-1]}) so the "
                          f"audience knows where they are, "
                          f"or allow it (`--allow establishing:{scene.id}`)")
        previous = scene.shots[-1]


def _introduced(scene: Scene, upto: int) -> set[str]:
    """Characters named anywhere in the scene's earlier shots (in the frame, in words, speaking)."""
    seen: set[str] = set()
    for shot in scene.shots[:upto]:
        seen.update(shot.characters)
        seen.update(shot.dialogue)
        for text in (shot.action, shot.relation or ""):
            seen.update(w for w, _, _ in words(text))
    return seen


def gate_presence(film: Film, options: GateOptions) -> Iterator[Finding]:
    """The scene's cast is set by the first shot that shows characters; anyone seen later must
    have been named earlier in the scene or enter in that shot. (A scene that opens on an empty
    place establishes no cast yet, so its first people need no entrance.)

    A warning: cutting to a second character first seen in their own shot is ordinary eyeline
    cutting (HoloCine's first example: "Close-up of [character2] watching her from across the
    room"), and it contradicts nothing the film has shown. The errors are kept for what does:
    a crossed line (180-degree), a character who no longer looks as described, a budget
    overrun. `check --strict` fails on warnings too."""
    for scene in film.scenes:
        cast_set = False
        for i, shot in enumerate(scene.shots):
            if cast_set:
                earlier = _introduced(scene, i)
                for cid in shot.characters:
                    names = {cid.lower(), display_name(cid).split()[-1].lower()}
                    if cid in earlier or names & earlier or _ENTERS.search(shot.action.lower()):
                        continue
                    yield Finding("character-presence", shot.id, "warn",
                                  f"{display_name(cid)} appears in scene `{scene.id}` without having entered: "
                                  f"show them in an earlier shot, name them, or give a reason "
                                  f"(e.g. the action says they enter)", subject=cid)
            cast_set = cast_set or bool(shot.characters)


def _subject(shot: Shot) -> str | None:
    return shot.characters[0] if shot.characters else None


def is_exchange(a: Shot, b: Shot) -> bool:
    """Shot / reverse-shot: two shots on two different characters who are addressing each other
    (both speak, or the camera looks over a shoulder, or each shot is a two-shot of the pair —
    a group shot of three is not a reverse shot)."""
    sa, sb = _subject(a), _subject(b)
    if not sa or not sb or sa == sb:
        return False
    return ((bool(a.dialogue) and bool(b.dialogue)) or "over-shoulder" in (a.angle, b.angle)
            or (set(a.characters) == set(b.characters) == {sa, sb}))


def exchanges(shots: list[Shot]) -> list[tuple[str, str]]:
    """The pairs of characters in shot / reverse-shot in a run of shots (a scene)."""
    return [(str(_subject(a)), str(_subject(b))) for a, b in zip(shots, shots[1:]) if is_exchange(a, b)]


def gate_180(film: Film, options: GateOptions) -> Iterator[Finding]:
    """screen_direction is the way a shot's subject (its first character) faces on screen."""
    for scene in film.scenes:
        side: dict[str, tuple[str, str]] = {}
        crossed_before = False
        for i, shot in enumerate(scene.shots):
            subject, facing = _subject(shot), shot.screen_direction
            crossed = False
            if subject and facing:
                known = side.get(subject)
                shown_move = bool(_CROSSES.search(shot.action.lower())) or shot.movement == "orbit"
                if known and known[0] != facing and not shown_move:
                    crossed = True
                    yield Finding("180-degree", shot.id, "error",
                                  f"{display_name(subject)} faces {known[0]} in `{known[1]}` but {facing} here: "
                                  f"the camera crossed the line; keep screen_direction {known[0]} or show "
                                  f"the move (a turn, an orbit)", subject=subject)
                else:
                    side[subject] = (facing, shot.id)
            # one crossing is one finding: its neighbour is not judged against the crossed shot
            skip, crossed_before = i == 0 or crossed or crossed_before, crossed
            if skip:
                continue
            previous = scene.shots[i - 1]
            if not is_exchange(previous, shot):
                continue
            other = _subject(previous)
            if facing and previous.screen_direction and facing == previous.screen_direction:
                yield Finding("180-degree", shot.id, "error",
                              f"shot/reverse-shot `{previous.id}` → `{shot.id}`: {display_name(str(other))} and "
                              f"{display_name(str(subject))} both face {facing}; across the line they face "
                              f"each other (one left, one right)", subject=subject)
            elif not facing or not previous.screen_direction:
                yield Finding("180-degree", shot.id, "warn",
                              f"shot/reverse-shot `{previous.id}` → `{shot.id}` without a recorded "
                              f"screen_direction on both shots: the 180-degree rule cannot be checked",
                              subject=subject)


def gate_jump_cut(film: Film, options: GateOptions) -> Iterator[Finding]:
    for scene in film.scenes:
        for a, b in zip(scene.shots, scene.shots[1:]):
            if a.transition is not None and a.transition.type != "cut":
                continue  # a dissolve, wipe or match-cut is a deliberate join, not a jump
            same_subject = _subject(a) == _subject(b) and set(a.characters) == set(b.characters)
            if same_subject and a.size == b.size and (a.angle or "eye") == (b.angle or "eye"):
                who = ", ".join(display_name(c) for c in b.characters) or f"the {scene.location}"
                yield Finding("jump-cut", b.id, "warn",
                              f"cut from `{a.id}` to `{b.id}`: same size ({b.size}) and angle "
                              f"({b.angle or 'eye'}) on the same subject ({who}) reads as a jump cut; "
                              f"change the size by two steps or the angle", subject=a.id)


def description_conflicts(film: Film, shot: Shot) -> list[tuple[str, str, str, int, int, str, str]]:
    """(character, field, wrong colour, start, end, noun, described colour) for each place where
    a shot's text gives a character's garment or hair another colour than their description."""
    canon: dict[str, list[tuple[str, str]]] = {
        cid: [(noun, colour) for colour, noun, *_ in colour_pairs(c.description)]
        for cid, c in film.characters.items()}
    out = []
    for field in ("action", "relation"):
        text = getattr(shot, field) or ""
        ws = words(text)
        flagged: set[int] = set()
        for colour, noun, start, end, index in colour_pairs(text):
            if start in flagged:
                continue
            owner = None
            for j in range(index - 1, max(-1, index - 7), -1):
                hit = [cid for cid in film.characters if mentions(ws[j][0], cid)]
                if hit:
                    owner = hit[0]
                    break
            if owner is None and len(shot.characters) == 1 and any(
                    w in ("her", "his", "their") for w, _, _ in ws[max(0, index - 3):index]):
                owner = shot.characters[0]
            if owner is None:
                continue
            for canon_noun, canon_colour in canon.get(owner, []):
                if _same_thing(noun, canon_noun) and canon_colour != colour:
                    out.append((owner, field, colour, start, end, noun, canon_colour))
                    flagged.add(start)
                    break
    return out


def gate_description(film: Film, options: GateOptions) -> Iterator[Finding]:
    for _, shot in film.shots():
        for owner, field, colour, _, _, noun, canon in description_conflicts(film, shot):
            yield Finding("description", shot.id, "error",
                          f"the {field} gives {display_name(owner)} a {colour} {noun}, but their description "
                          f"says {canon}; describe characters as their description does (it is in every prompt)",
                          subject=owner)


def film_length(film: Film) -> float:
    """Seconds of film: shot durations minus the overlaps of soft transitions (never the last)."""
    flat = [shot for _, shot in film.shots()]
    overlaps = sum(s.transition.overlap for s in flat[:-1] if s.transition is not None)
    return sum(s.duration for s in flat) - overlaps


def gate_budget(film: Film, options: GateOptions) -> Iterator[Finding]:
    if options.budget is None:
        return
    budget, length = options.budget, film_length(film)
    slack = max(options.tolerance * budget, 0.1)
    flat = [shot for _, shot in film.shots()]
    if length > budget + slack:
        t = 0.0
        where = flat[-1].id
        for shot in flat:
            t += shot.duration - (shot.transition.overlap if shot.transition and shot is not flat[-1] else 0.0)
            if t > budget:
                where = shot.id
                break
        yield Finding("duration-budget", where, "error",
                      f"the film runs {length:.2f}s, {length - budget:.2f}s over its {budget:g}s budget; "
                      f"the budget runs out during this shot")
    elif length < budget - slack:
        yield Finding("duration-budget", flat[-1].id, "warn",
                      f"the film runs {length:.2f}s, {budget - length:.2f}s under its {budget:g}s budget")


GATES: tuple[Gate, ...] = (gate_establishing, gate_presence, gate_180, gate_jump_cut,
                           gate_description, gate_budget)


def check_film(film: Film, options: GateOptions | None = None) -> list[Finding]:
    """Every finding of every gate, in film order (then rule order), minus allowed exemptions."""
    options = options or GateOptions()
    order = {shot.id: i for i, (_, shot) in enumerate(film.shots())}
    scene_of = {shot.id: scene.id for scene, shot in film.shots()}
    rules = list(RULES)
    findings = [f for gate in GATES for f in gate(film, options)]
    allowed = options.allow
    findings = [f for f in findings if not ({f.rule, f"{f.rule}:{f.shot_id}",
                                             f"{f.rule}:{scene_of.get(f.shot_id, '')}"} & allowed)]
    return sorted(findings, key=lambda f: (order.get(f.shot_id, 0), rules.index(f.rule)))


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]
