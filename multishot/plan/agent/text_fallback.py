"""A model's plan with its unusable texts written again, field by field: by the model, asked one
sentence at a time, else by the rule planner.

Why field by field: a small local model under a JSON-schema grammar chooses the structure well —
the scenes, each shot's purpose, cast, size, angle and movement are enums and ids the grammar
holds it to — but writes the free text inside a long JSON answer badly (SmolLM2-135M: every
action "a", descriptions cut off mid-logline or `A_SURGEENEBLAKER`; docs/notes/issue-18c.md).
Dropping the whole answer would throw away the part it got right; keeping the text would put "a"
into every frame's prompt. The same model asked one plain question ("Describe the keeper's face,
hair and clothes in one sentence") answers in 1–2 s with a usable sentence most of the time
(docs/notes/issue-18d.md). So the structure stays the model's; each text `model_text.junk` refuses
is asked for again on its own (`Ask`), and when that answer is refused too, the rules' text for the
same field stands in (the rule screenwriter's description of the same id, the rule director's
action for the model's own purpose and cast, the rule cinematographer's light for the scene's
time and weather — lighting is never asked: it follows from the time and weather the model
chose). Every replacement is returned as a `Replaced` saying who wrote the stand-in. Each
function returns the answer, the replacements, and how many texts it checked.
"""

from __future__ import annotations

from typing import Callable, Sequence

from multishot.plan.agent.cinematographer import CameraPlan, lighting
from multishot.plan.agent.director import PURPOSE_INFO, Breakdown, a_line, shot_text
from multishot.plan.agent.model_text import Replaced, junk, normal, repeated
from multishot.plan.agent.screenwriter import WEATHERS, Treatment, names_of, stand_in
from multishot.plan.agent.vocabulary import mentions
from multishot.shotlist.schema import Film

#: (role, kind, question) → the model's one-sentence answer, or None.
Ask = Callable[[str, str, str], "str | None"]
#: A lighting phrase repeated on most shots is kept when it says this many words or more
#: ("moonlight and warm practical lamps" on every shot of a night scene is a choice).
SAME_LIGHT_WORDS = 3
#: A weather names one of these ("light rain", "a clear sky"); the rule screenwriter's own first.
WEATHER_WORDS = frozenset({k for _, keys in WEATHERS for k in keys} | set((
    "clear sunny sun cloudy clouds overcast grey drizzly showers hail sleet frost frosty icy humid "
    "heat hot cold dry breeze breezy calm still muggy thundery lightning").split()))
#: At most this many questions a role: a 60-shot film falls back to the rules' words after that.
MAX_ASKED = 24


class _Writer:
    """Replaces one role's unusable texts and keeps the record."""

    def __init__(self, role: str, brief: Sequence[str], ask: Ask | None) -> None:
        self.role, self.brief, self.ask = role, tuple(t for t in brief if t), ask
        self.out: list[Replaced] = []
        self.checked = 0
        self.asked = 0
        self.answers: set[str] = set()   # what the asked answers said: one sentence is not two texts

    def use(self, field: str, text: str, kind: str, theirs: str | None, question: str | None,
            reason: str | None = None, check: Callable[[str], str | None] | None = None) -> str:
        """`text`, or what stands in for it when it is unusable (`reason` given, or found by
        `junk` or `check`, which an asked answer must pass too)."""
        self.checked += 1
        reason = junk(text, kind, self.brief) or reason or (check(text) if check else None)
        if reason is None:
            return text
        if question and self.ask is not None and self.asked < MAX_ASKED:
            self.asked += 1
            answer = self.ask(self.role, kind, question)
            if (answer and junk(answer, kind, self.brief) is None and not (check and check(answer))
                    and normal(answer) not in self.answers | {normal(text)}):
                self.answers.add(normal(answer))
                self.out.append(Replaced(self.role, field, text, reason, answer, by="model"))
                return answer
        if theirs is None:
            return text
        self.out.append(Replaced(self.role, field, text, reason, theirs, by="rules"))
        return theirs


def line_check(speaker: str, descriptions: Sequence[str]) -> Callable[[str], str | None]:
    """What a line of dialogue must not be besides `junk`: about its own speaker ("The surgeon's
    mind is racing…" as the surgeon's line) or a description again."""
    def check(said: str) -> str | None:
        if mentions(said, speaker):
            return "the speaker told about, not speaking"
        return "a description, not a line" if junk(said, "line", descriptions) else None
    return check


def treatment_text(model: Treatment, rules: Treatment, logline: str, ask: Ask | None = None,
                   title: str = "", given: Sequence[str] = ()) -> tuple[Treatment, list[Replaced], int]:
    """The model's treatment with each unusable description or beat written again (asked, else
    the rule screenwriter's for the same id: the request closed the ids to the rules' own), and an
    unusable title or prop replaced by the rules'. `given`: character ids whose descriptions the
    user gave (canon: they replace the model's whatever it wrote, so they are not checked)."""
    w = _Writer("screenwriter", (logline, title), ask)
    lead = f"Logline: {logline}\n"
    names = {**names_of(model), **rules.names}   # the rules' names read the logline ("the old keeper")
    characters = {cid: d if cid in given else w.use(
        f"characters.{cid}", d, "description", rules.characters.get(cid) or stand_in("character", cid),
        f"{lead}Describe {names.get(cid, cid)}'s face, hair and clothes (with colours) in one sentence.")
        for cid, d in model.characters.items()}
    locations = {lid: w.use(f"locations.{lid}", d, "description",
                            rules.locations.get(lid) or stand_in("location", lid),
                            f"{lead}Describe the {lid.replace('_', ' ')} (the place) in one sentence: "
                            f"what the camera sees, with colours.")
                 for lid, d in model.locations.items()}
    beats = {s.id: s for s in rules.scenes}
    n = len(model.scenes)
    scenes = []
    for i, s in enumerate(model.scenes):
        theirs = beats.get(s.id)
        update: dict[str, object] = {"beat": w.use(
            f"scenes[{i}].beat", s.beat, "beat", theirs.beat if theirs else logline,
            f"{lead}The film has {n} scene{'s' if n != 1 else ''}. What happens in scene {i + 1}"
            f"{' (the ending)' if i == n - 1 and n > 1 else ''}? One sentence.")}
        why = s.weather and (junk(s.weather, "weather", w.brief) or (
            None if set(normal(s.weather).split()) & WEATHER_WORDS else "names no weather"))
        if why:   # "2018-01-01", "Theme Park", "night": no weather is a weather
            w.out.append(Replaced("screenwriter", f"scenes[{i}].weather", s.weather or "", why,
                                  (theirs.weather if theirs else None) or "(no weather)"))
            update["weather"] = theirs.weather if theirs else None
        if s.weather:
            w.checked += 1
        scenes.append(s.model_copy(update=update))
    updates = {"characters": characters, "locations": locations, "scenes": scenes,
               "title": w.use("title", model.title, "title", rules.title, None)}
    if model.prop is not None:
        updates["prop"] = w.use("prop", model.prop, "title", rules.prop, None)
    return model.model_copy(update=updates), w.out, w.checked


def breakdown_text(model: Breakdown, treatment: Treatment, logline: str,
                   ask: Ask | None = None) -> tuple[Breakdown, list[Replaced], int]:
    """The model's breakdown with each unusable action or line written again (asked, else the
    rule director's words for the model's own purpose and cast). An action on most shots (the
    same words on six of eight) is unusable on all of them; so is one that only repeats the
    logline, and a line that repeats a description."""
    w = _Writer("director", (logline,), ask)
    # An establishing action may well name the place as described; a *line* that repeats a
    # description is no line ("a lighthouse keeper, in a yellow work jacket, blon…" as dialogue).
    descriptions = (*treatment.characters.values(), *treatment.locations.values())
    names = names_of(treatment)
    beats = {s.id: s for s in treatment.scenes}
    same = repeated([i.action for i in model.intents()])
    said_same = repeated([line for i in model.intents() for line in i.dialogue.values()])
    scenes = []
    for si, scene in enumerate(model.scenes):
        beat = beats.get(scene.scene)
        if beat is None:
            scenes.append(scene)
            continue
        shots = []
        for hi, intent in enumerate(scene.shots):
            where = f"scenes[{si}].shots[{hi}]"
            _, action, lines = shot_text(treatment, beat, hi, intent.purpose, list(intent.characters))
            who = [names.get(c, c) for c in intent.characters]
            lead = (f"Logline: {logline}\nScene: {beat.beat}\nShot {hi + 1} of {len(scene.shots)}: "
                    f"{PURPOSE_INFO.get(intent.purpose, intent.purpose)}.")
            question = (f"{lead} What does {who[0]} do in this shot? One sentence." if who else
                        f"{lead} What does the camera show in this shot? One sentence.")
            update: dict[str, object] = {}
            new = w.use(f"{where}.action", intent.action, "action", action, question,
                        "the same action as most other shots" if normal(intent.action) in same else None)
            if new != intent.action:
                update["action"] = new
            dialogue = dict(intent.dialogue)
            for cid, line in intent.dialogue.items():
                other = next((names.get(c, c) for c in intent.characters if c != cid), None)


                dialogue[cid] = w.use(
                    f"{where}.dialogue.{cid}", line, "line", lines.get(cid) or a_line(treatment.title, scene.scene, hi, cid),
                    f"{lead} {names.get(cid, cid)} speaks{f' to {other}' if other else ''}. "
                    f"Write what {names.get(cid, cid)} says, in under ten words.",
                    "the same line as most other lines" if normal(line) in said_same else None,
                    line_check(cid, descriptions))
            if dialogue != intent.dialogue:
                update["dialogue"] = dialogue
            shots.append(intent.model_copy(update=update) if update else intent)
        scenes.append(scene.model_copy(update={"shots": shots}))
    return model.model_copy(update={"scenes": scenes}), w.out, w.checked


def camera_text(model: CameraPlan, treatment: Treatment, breakdown: Breakdown,
                brief: Sequence[str]) -> tuple[CameraPlan, list[Replaced], int]:
    """The model's camera plan with each unusable lighting phrase replaced by the rule
    cinematographer's light for the shot's scene time, weather and purpose. One short phrase on
    most shots ("lightning" on all four, whatever the scene's time) is no lighting choice."""
    w = _Writer("cinematographer", brief, None)
    beats = {s.id: s for s in treatment.scenes}
    context = {i.id: (beats.get(s.scene), i.purpose) for s in breakdown.scenes for i in s.shots}
    same = {n for n in repeated([c.lighting or "" for c in model.shots]) if len(n.split()) < SAME_LIGHT_WORDS}
    shots = []
    for n, camera in enumerate(model.shots):
        if not camera.lighting:
            shots.append(camera)
            continue
        beat, purpose = context.get(camera.id, (None, "action"))
        theirs = lighting(beat.time if beat else None, beat.weather if beat else None, purpose)
        new = w.use(f"shots[{n}].lighting", camera.lighting, "lighting", theirs, None,
                    "the same short phrase on most shots" if normal(camera.lighting) in same else None)
        shots.append(camera.model_copy(update={"lighting": new}) if new != camera.lighting else camera)
    return model.model_copy(update={"shots": shots}), w.out, w.checked


def revision_text(before: Film, after: Film, logline: str) -> tuple[Film, list[Replaced], int]:
    """A revision's changed actions, lines and lighting, each kept only if the film can use it;
    else the text it replaced comes back (a revision may fix a shot, never make its words
    unusable: SmolLM2-135M once "revised" every action to "acti")."""
    w = _Writer("revise", (logline,), None)
    descriptions = (*(c.description for c in after.characters.values()),
                    *(p.description for p in after.locations.values()))
    old = {shot.id: shot for _, shot in before.shots()}
    scenes = []
    for si, scene in enumerate(after.scenes):
        shots = []
        for hi, shot in enumerate(scene.shots):
            was = old.get(shot.id)
            if was is None:
                shots.append(shot)
                continue
            update: dict[str, object] = {}
            where = f"scenes[{si}].shots[{hi}]"
            if shot.action != was.action and shot.action:
                if w.use(f"{where}.action", shot.action, "action", was.action, None) != shot.action:
                    update["action"] = was.action
            if shot.lighting != was.lighting and shot.lighting:
                if w.use(f"{where}.lighting", shot.lighting, "lighting", was.lighting, None) != shot.lighting:
                    update["lighting"] = was.lighting
            lines = dict(shot.dialogue)
            for cid, line in shot.dialogue.items():
                if line != was.dialogue.get(cid) and w.use(f"{where}.dialogue.{cid}", line, "line", was.dialogue.get(cid),
                                                            None, check=line_check(cid, descriptions)) != line:
                    lines[cid] = was.dialogue[cid]
            if lines != shot.dialogue:
                update["dialogue"] = lines
            shots.append(shot.model_copy(update=update) if update else shot)
        scenes.append(scene.model_copy(update={"shots": shots}))
    return after.model_copy(update={"scenes": scenes}), w.out, w.checked
