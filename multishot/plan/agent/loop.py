"""The bounded critique → revise loop, and the roles run over an existing shot list.

critic (gates) → findings → the planner revises → critic again …, at most `rounds` revisions,
stopping early when nothing is found or a revision changes nothing. Every step goes into the
transcript (saved as an artifact by the agent paradigm). When a model planner leaves errors
behind, the rule planner gets the same number of rounds: a render never starts from a shot list
that fails a gate the rules can fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from multishot.plan.agent.planner import Planner
from multishot.plan.agent.cinematographer import apply_camera, recorded_sides
from multishot.plan.agent.critic import Finding, GateOptions, check_film, errors
from multishot.plan.agent.director import infer_breakdown
from multishot.plan.agent.screenwriter import treatment_from_film
from multishot.shotlist.schema import Film


@dataclass
class AgentResult:
    film: Film
    findings: list[Finding]
    rounds: int
    transcript: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, dict[str, int]] = field(default_factory=dict)
    planner: dict[str, Any] = field(default_factory=dict)
    #: Which planner answered each role: {"screenwriter": "model" | "rules", …, "revise": [per
    #: round: "model", "rules" (the model's answer was unusable) or "fixes" (the gates' own fixes,
    #: chosen: no model asked)]}, plus the response format the endpoint took (`provenance_of`)
    #: and, for a role some of whose texts the film could not use, "texts": {role: {"written": n,
    #: "model": written again by the model asked alone, "rules": the rules' words}}.
    provenance: dict[str, Any] = field(default_factory=dict)
    #: What the user should know about the result (a shot count that changed, kept fields).
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"planner": self.planner, "provenance": self.provenance, "notes": self.notes,
                "rounds": self.rounds, "findings": [f.to_json() for f in self.findings], "usage": self.usage,
                "film": self.film.model_dump(mode="json"), "transcript": self.transcript}

    def describe(self) -> str:
        """Who wrote what, for YAML headers, summaries and reports: `rule planner`, or per role
        `screenwriter: model, director: rules (fallback), …` with the model's name."""
        if self.planner.get("planner") != "llm":
            return "rule planner"
        p = self.provenance

        texts = p.get("texts") or {}

        def who(role: str) -> str:
            if p.get(role) == "model":
                t = texts.get(role)
                if not t:
                    return "model"
                parts = [f"{t['model']} asked again" if t.get("model") else "",
                         f"{t['rules']} from the rules" if t.get("rules") else ""]
                return f"model ({' and '.join(x for x in parts if x)} of its {t['written']} texts)"
            return "rules (fallback)" if p.get(role) == "rules" else "-"

        rounds = p.get("revise") or []
        parts = [f"{role}: {who(role)}" for role in ("screenwriter", "director", "cinematographer")
                 if role in p]
        if rounds and set(rounds) == {"fixes"}:
            parts.append(f"revise: the gates' fixes ({len(rounds)} round{'s' if len(rounds) != 1 else ''}, "
                         f"model revise off)")
        elif rounds:
            parts.append("revise: " + "/".join(rounds))
        fmt = f", {p['response_format']} output" if p.get("response_format") else ""
        return f"llm planner `{self.planner.get('model')}`{fmt}; " + (", ".join(parts) or "no model answer")

    def replaced(self) -> dict[str, dict[str, int]]:
        """Per role, how many texts of the model's answer the film does not use, and who wrote
        their stand-ins: {role: {"written": n, "model": asked again, "rules": the rules'}}."""
        return dict(self.provenance.get("texts") or {})

    def replaced_examples(self) -> list[str]:
        """One refused text per role, as `director: 'a' (too few words …)`, for the CLI."""
        out: dict[str, str] = {}
        for event in self.transcript:
            if event.get("event") == "text-replaced" and event.get("fields") and event.get("role") not in out:
                first = event["fields"][0]
                out[str(event.get("role"))] = f"{event.get('role')}: {first.get('text', '')!r} ({first.get('reason', '')})"
        return list(out.values())

    def fallbacks(self) -> list[str]:
        """The roles a model planner was asked for but the rule planner answered."""
        out = [r for r in ("screenwriter", "director", "cinematographer") if self.provenance.get(r) == "rules"]
        rounds = self.provenance.get("revise") or []
        if "rules" in rounds:
            out.append(f"revise ({rounds.count('rules')} of {len(rounds)} rounds)")
        return out if self.planner.get("planner") != "rules" else []

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "AgentResult":
        return cls(film=Film.model_validate(data["film"]),
                   findings=[Finding(**f) for f in data["findings"]], rounds=data["rounds"],
                   transcript=data["transcript"], usage=data["usage"], planner=data["planner"],
                   provenance=data.get("provenance", {}), notes=data.get("notes", []))


def diff_films(a: Film, b: Film) -> list[str]:
    """What a revision changed, one line per change (for the transcript)."""
    out = []
    before = {shot.id: (scene.id, shot) for scene, shot in a.shots()}
    after = {shot.id: (scene.id, shot) for scene, shot in b.shots()}
    for sid, (scene_id, _) in after.items():
        if sid not in before:
            out.append(f"+ shot `{sid}` in scene `{scene_id}`")
    for sid in before:
        if sid not in after:
            out.append(f"- shot `{sid}`")
    for sid, (_, shot) in after.items():
        if sid in before:
            old, new = before[sid][1].model_dump(mode="json"), shot.model_dump(mode="json")
            out += [f"shot `{sid}`: {k} {old[k]!r} → {new[k]!r}" for k in new if old.get(k) != new[k]]
    common = [s for s in after if s in before]
    if common != [s for s in before if s in after]:
        out.append("shot order changed")
    scenes_a = {s.id: s for s in a.scenes}
    scenes_b = {s.id: s for s in b.scenes}
    out += [f"+ scene `{sid}`" for sid in scenes_b if sid not in scenes_a]
    out += [f"- scene `{sid}`" for sid in scenes_a if sid not in scenes_b]
    for sid, scene in scenes_b.items():
        if sid in scenes_a:
            old_s, new_s = scenes_a[sid], scene
            out += [f"scene `{sid}`: {k} {getattr(old_s, k)!r} → {getattr(new_s, k)!r}"
                    for k in ("location", "time", "weather") if getattr(old_s, k) != getattr(new_s, k)]
    if [s for s in scenes_b if s in scenes_a] != [s for s in scenes_a if s in scenes_b]:
        out.append("scene order changed")
    for key in ("title", "characters", "locations", "format", "style"):
        if getattr(a, key) != getattr(b, key):
            out.append(f"{key} changed")
    return out


def critique(film: Film, planner: Planner, *, rounds: int, gates: GateOptions,
             fallback: Planner | None = None) -> tuple[Film, list[Finding], int]:
    """Run the loop; return the final film, what the critic still finds, and rounds used."""
    transcript = planner.transcript
    used = 0
    for r in range(rounds + 1):
        findings = check_film(film, gates)
        planner.usage.role("gates").calls += 1   # runs of the gates; "critic" counts model calls
        notes = planner.critic(film, findings) if r < rounds and hasattr(planner, "critic") else []
        findings = findings + notes
        transcript.add("critic", "findings", round=r, errors=len(errors(findings)), model_notes=len(notes),
                       warnings=len(findings) - len(errors(findings)),
                       findings=[f.to_json() for f in findings])
        if not findings or r == rounds:
            break
        revised = planner.revise(film, findings, gates)
        changes = diff_films(film, revised)
        source = getattr(planner, "last_source", "model" if planner.name != "rules" else "rules")
        transcript.add("revise", "revise", round=r + 1,
                       planner=planner.name if source == "model" else "rules", changes=changes)
        used += 1
        if not changes:
            break
        film = revised
    findings = check_film(film, gates)
    if fallback is not None and errors(findings) and rounds > 0:
        transcript.add("critic", "fallback", reason=f"{len(errors(findings))} errors left after "
                       f"{planner.name}; the rule planner revises", planner=fallback.name)
        fallback.transcript = transcript
        film, findings, extra = critique(film, fallback, rounds=rounds, gates=gates)
        for role, counts in fallback.usage.roles.items():
            mine = planner.usage.role(role)
            mine.calls += counts.calls
            mine.fallbacks += 1 if role == "revise" else 0
        provenance = getattr(planner, "provenance", None)
        if isinstance(provenance, dict):
            # rounds of the rules after a model's revisions are fallbacks; after a planner that
            # chose the gates' fixes (model_revise off) they are more of the same choice
            label = "rules" if getattr(planner, "model_revise", True) else "fixes"
            provenance["revise"] = list(provenance.get("revise") or []) + [label] * extra
        used += extra
    return film, findings, used


def review(film: Film, planner: Planner, *, rounds: int, gates: GateOptions | None = None,
           fallback: Planner | None = None) -> AgentResult:
    """The roles over an existing shot list: the director reads each shot's purpose, the
    cinematographer fills the camera language the writer left unset, then critique → revise."""
    gates = gates or GateOptions()
    transcript = planner.transcript
    treatment = treatment_from_film(film)
    breakdown = infer_breakdown(film)
    transcript.add("director", "purposes", shots={i.id: i.purpose for i in breakdown.intents()})
    plan = planner.cinematographer(treatment, breakdown, recorded_sides(film))
    framed = apply_camera(film, plan, fill_only=True)
    transcript.add("cinematographer", "camera", planner=planner.name, changes=diff_films(film, framed))
    final, findings, used = critique(framed, planner, rounds=rounds, gates=gates, fallback=fallback)
    return AgentResult(final, findings, used, transcript.entries, planner.usage.to_json(), planner.identity(),
                       provenance_of(planner))


def provenance_of(planner: Planner) -> dict[str, Any]:
    """Which planner answered each role: the model planner records it as it goes; the rule
    planner answers everything."""
    recorded = getattr(planner, "provenance", None)
    if not isinstance(recorded, dict):
        return {"screenwriter": "rules", "director": "rules", "cinematographer": "rules", "revise": []}
    out = dict(recorded)
    mode = getattr(planner, "response_format_mode", None)
    if mode:
        out["response_format"] = mode
    return out
