"""The review page of a render: `report.html` (a storyboard you open in a browser) and
`contact_sheet.png` (every keyframe on one image).

Films are reviewed visually; a manifest is not. The page shows the film, then one card per shot
with its first and last keyframes, the composed prompt, camera, timing, seed, profile and what
the cache did, and — when `multishot eval` metrics are given — the film's numbers with the seams
that jump flagged on the cards they belong to.

The page is self-contained: inline CSS and script, no fonts or libraries from a network. Media
are referenced by relative paths (the page sits in renders/<slug>/ next to film.mp4, shots/ and
keyframes/), which keeps it small and lets the folder move. Every text that comes from a shot
list is HTML-escaped, so a prompt can never become markup.

`evaluate` sits below `shotlist` and `plan`; the manifest is read as the typed records of
`post/manifest_record.py` (a caller may pass the JSON dict, turned into records at each entry
point), and shot starts come from the film clock (`post.timing`, through `post.otio.film_starts`),
so page and timeline agree. Metrics are `FilmMetrics.to_json()` (metrics.json), read as given.
"""

from __future__ import annotations

import html
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from PIL import Image, ImageDraw, ImageFont

from multishot.post.atomic import atomic_path, atomic_write_text
from multishot.post.manifest_record import ArtifactEntry, RenderManifest, TransitionRecord, as_manifest
from multishot.post.otio import film_starts
from multishot.post.render_folder import (CONTACT_SHEET, FILM, MANIFEST, METRICS, REPORT, SUBTITLES_SRT,
                                          SUBTITLES_VTT, TIMELINE, RenderFolder)

#: What the page's entry points take: the records, or manifest.json's dict.
Manifest = RenderManifest | Mapping[str, Any]

REPORT_NAME = REPORT
CONTACT_SHEET_NAME = CONTACT_SHEET

#: When a seam is flagged. Only seams inside a scene are judged (a new scene is supposed to look
#: different), and only by colour: a cut from a wide shot to a close-up changes the structure by
#: design, while location, time and lighting — what the colour histogram reflects — should hold
#: within a scene. The seam ratio (`evaluate/seams.py`: the jump across the seam over the shots'
#: own frame-to-frame change; a continuous take is ~1) must reach SEAM_FLAG_RATIO, and also be
#: SEAM_OUTLIER_FACTOR times the median of the film's other in-scene seams, so the flag means
#: "worse than this film's usual seam": a backend whose shots barely move (tiny baselines, high
#: ratios everywhere) does not get every seam flagged.
SEAM_FLAG_RATIO = 3.0
SEAM_OUTLIER_FACTOR = 2.0

#: Contact sheet: widest thumbnail, and shots per row (each shot is a first/last pair).
THUMB_MAX_WIDTH = 240
SHEET_PAIRS_PER_ROW = 4


@dataclass(frozen=True)
class SeamView:
    """One seam as the page shows it."""

    shot_out: str
    shot_in: str
    kind: str
    scene_change: bool
    colour_ratio: float | None = None
    structure_ratio: float | None = None
    detected: bool | None = None      # did the cut detector see the planned boundary?
    reasons: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)


@dataclass(frozen=True)
class ShotView:
    """One shot card's data, from the manifest's records (and metrics)."""

    index: int
    id: str
    scene: str
    prompt: str
    size: str | None
    angle: str | None
    movement: str | None
    frames: int
    start_s: float
    end_s: float
    seed: Any
    profile: Any
    transition: TransitionRecord
    cache: tuple[ArtifactEntry, ...]
    first: str | None                  # relative path of the first keyframe, if it exists
    last: str | None
    seam_out: SeamView | None = None
    flicker: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = field(default=())
    #: `draft` / `final` after `render --draft` / `--final`; None for an ordinary render.
    quality: str | None = None
    dialogue: tuple[tuple[str, str], ...] = field(default=())
    #: The shot's characters with the relative path of each one's bank image (None: no bank).
    cast: tuple[tuple[str, str | None], ...] = field(default=())

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def render_seconds(self) -> float:
        return sum(e.seconds for e in self.cache)


def keyframe_path(out_dir: Path, shot_id: str, which: str) -> Path:
    return RenderFolder(out_dir).keyframe(shot_id, which)


def bank_path(out_dir: Path, character_id: str) -> Path:
    """A character's bank image as `stages.publish` writes it."""
    return RenderFolder(out_dir).character(character_id)


def seam_views(manifest: Manifest, metrics: Mapping[str, Any] | None) -> list[SeamView]:
    """Every planned seam, with its metrics and the reasons it is flagged (if any)."""
    shots = as_manifest(manifest).shots
    scores = {(s.get("shot_out"), s.get("shot_in")): s for s in (metrics or {}).get("seams") or []}
    matches = {(m.get("shot_out"), m.get("shot_in")): m
               for m in ((metrics or {}).get("cuts") or {}).get("matches") or []}
    pairs = list(zip(shots, shots[1:]))
    colour = [(scores.get((a.id, b.id)) or {}).get("colour_ratio") for a, b in pairs]
    in_scene = [a.scene == b.scene for a, b in pairs]
    out: list[SeamView] = []
    for i, (a, b) in enumerate(pairs):
        key = (a.id, b.id)
        score = scores.get(key) or {}
        match = matches.get(key)
        reasons: list[str] = []
        ratio = colour[i]
        if in_scene[i] and ratio is not None and ratio >= SEAM_FLAG_RATIO:
            others = [float(c) for j, c in enumerate(colour) if j != i and in_scene[j] and c is not None]
            usual = statistics.median(others) if others else None
            if usual is None or ratio >= SEAM_OUTLIER_FACTOR * usual:
                reasons.append(f"colour jumps {ratio:.1f}× the shots' own change inside one scene"
                               + (f" ({ratio / usual:.1f}× this film's usual seam)" if usual else ""))
        out.append(SeamView(a.id, b.id, a.transition.type,
                            not in_scene[i], ratio, score.get("structure_ratio"),
                            None if match is None else match.get("detected") is not None,
                            tuple(reasons)))
    return out


def shot_views(out_dir: Path, manifest: Manifest,
               metrics: Mapping[str, Any] | None = None) -> list[ShotView]:
    """The cards of the page, in film order."""
    out_dir = Path(out_dir)
    record = as_manifest(manifest)
    shots = record.shots
    fps = record.fps or 1
    starts = film_starts(record) if shots else []
    seams = {s.shot_out: s for s in seam_views(record, metrics)}
    flicker = {f.get("shot_id"): f for f in (metrics or {}).get("flicker") or []}
    spurious = [int(f) for f in ((metrics or {}).get("cuts") or {}).get("spurious") or []]
    views: list[ShotView] = []
    for i, shot in enumerate(shots):
        sid = shot.id
        start, frames = starts[i], shot.frames
        inside = [f for f in spurious if start <= f < start + frames
                  and (i + 1 >= len(starts) or f < starts[i + 1])]
        notes = tuple(f"a cut was detected inside the shot at {f / fps:.2f}s" for f in inside)
        first, last = (keyframe_path(out_dir, sid, w) for w in ("first", "last"))
        views.append(ShotView(
            index=i, id=sid, scene=shot.scene, prompt=shot.prompt,
            size=shot.size, angle=shot.angle, movement=shot.movement,
            frames=frames, start_s=start / fps, end_s=(start + frames) / fps, seed=shot.seed,
            profile=shot.profile, transition=shot.transition, cache=record.artifacts_of(sid),
            dialogue=tuple((str(k), str(t)) for k, t in shot.dialogue.items()),
            first=_rel(first, out_dir) if first.is_file() else None,
            last=_rel(last, out_dir) if last.is_file() else None,
            seam_out=seams.get(sid) if i + 1 < len(shots) else None,
            flicker=flicker.get(sid), notes=notes, quality=record.quality.get(sid),
            cast=tuple((str(c), _rel(bank_path(out_dir, str(c)), out_dir) if bank_path(out_dir, str(c)).is_file()
                        else None) for c in shot.characters),
        ))
    return views


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _url(rel: str) -> str:
    return quote(rel, safe="/")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any, digits: int = 2, suffix: str = "") -> str:
    return "–" if value is None else f"{float(value):.{digits}f}{suffix}"


CSS = """
:root { color-scheme: dark; --bg:#16171b; --card:#202127; --ink:#ecebe6; --dim:#a2a4ad;
  --accent:#eca83c; --bad:#ff6b5e; --ok:#6fcf8a; --line:#33353d; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 16px 24px; }
h1 { margin: 0 0 4px; font-size: 26px; } h2 { font-size: 18px; margin: 24px 0 8px; }
.dim { color: var(--dim); } .bad { color: var(--bad); } .ok { color: var(--ok); }
.facts { display:flex; flex-wrap:wrap; gap:6px 18px; color:var(--dim); }
.facts b { color: var(--ink); font-weight: 600; }
.player { background:#000; border-radius:8px; overflow:hidden; }
video { display:block; width:100%; max-height:70vh; background:#000; }
.bar { position:relative; height:34px; margin:8px 0 0; background:#0d0e11; border-radius:6px; }
.seg { position:absolute; top:4px; bottom:4px; border-radius:4px; cursor:pointer; opacity:.85;
  border:1px solid rgba(0,0,0,.5); overflow:hidden; font-size:11px; padding:2px 4px; white-space:nowrap; }
.seg.s0 { background:#3d6f8e; } .seg.s1 { background:#7a5c8e; } .seg.s2 { background:#5e8a4e; }
.seg.s3 { background:#8e6a3d; }
.seg.now { outline:2px solid var(--accent); opacity:1; }
.seam-flag { position:absolute; top:0; bottom:0; width:3px; background:var(--bad); }
.playhead { position:absolute; top:0; bottom:0; width:2px; background:#fff; left:0; pointer-events:none; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color: var(--dim); font-weight: 500; }
.cards { display:grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap:16px; }
.card { background:var(--card); border-radius:8px; padding:12px; border:2px solid transparent; }
.card.now { border-color: var(--accent); }
.card.flagged { box-shadow: inset 4px 0 0 var(--bad); }
.quality { font-size: .75em; text-transform: uppercase; padding: 0 .4em; border-radius: 3px; }
.quality.draft { background: var(--bad); color: #fff; }
.quality.final { border: 1px solid var(--accent); }
.card h3 { margin:0 0 6px; font-size:16px; display:flex; justify-content:space-between; gap:8px; }
.frames { display:grid; grid-template-columns: 1fr 1fr; gap:6px; margin-bottom:8px; }
.frames figure { margin:0; } .frames img { width:100%; display:block; border-radius:4px; background:#000; }
.frames figcaption { font-size:11px; color:var(--dim); }
.missing { aspect-ratio: 16/9; display:grid; place-items:center; background:#0d0e11; color:var(--dim);
  border-radius:4px; font-size:12px; }
.prompt { font-size:13px; background:#17181d; padding:6px 8px; border-radius:4px; margin:6px 0; }
dl { display:grid; grid-template-columns: max-content 1fr; gap:2px 10px; margin:6px 0; }
dt { color: var(--dim); } dd { margin: 0; }
.flag { color: var(--bad); font-weight: 600; }
button.play { background:none; border:1px solid var(--line); color:var(--ink); border-radius:4px;
  padding:1px 8px; cursor:pointer; font-size:12px; }
.sheet img { max-width:100%; border-radius:6px; }
.cast { display:flex; flex-wrap:wrap; gap:6px; margin:0 0 8px; }
.cast figure { margin:0; width:64px; } .cast img { width:64px; height:64px; object-fit:cover; border-radius:4px; }
.cast figcaption { font-size:11px; color:var(--dim); overflow:hidden; text-overflow:ellipsis; }
.bank { display:flex; flex-wrap:wrap; gap:16px; }
.bank figure { margin:0; width:160px; } .bank img { width:160px; border-radius:6px; background:#000; }
.bank figcaption { font-size:12px; } .bank a { color: var(--accent); }
details summary { cursor: pointer; color: var(--dim); }
"""

SCRIPT = """
(function () {
  var video = document.getElementById('film');
  var items = Array.prototype.slice.call(document.querySelectorAll('[data-shot]'));
  function seek(t) {
    if (!video) return;
    video.currentTime = t;
    var p = video.play();
    if (p && p.catch) p.catch(function () {});
    video.scrollIntoView({behavior: 'smooth', block: 'center'});
  }
  document.querySelectorAll('[data-seek]').forEach(function (el) {
    el.addEventListener('click', function () { seek(parseFloat(el.getAttribute('data-seek'))); });
  });
  if (!video) return;
  var head = document.querySelector('.playhead');
  var total = parseFloat(document.body.getAttribute('data-duration')) || 0;
  video.addEventListener('timeupdate', function () {
    var t = video.currentTime;
    if (head && total > 0) head.style.left = Math.min(100, 100 * t / total) + '%';
    items.forEach(function (el) {
      var a = parseFloat(el.getAttribute('data-start')), b = parseFloat(el.getAttribute('data-end'));
      el.classList.toggle('now', t >= a && t < b);
    });
  });
})();
"""


def _metrics_section(metrics: Mapping[str, Any] | None, seams: Sequence[SeamView]) -> str:
    if not metrics:
        return ("<section id='metrics'><h2>Metrics</h2><p class='dim'>No metrics for this render. "
                "<code>multishot eval</code> measures cuts, seams, flicker, character consistency and identity; "
                "<code>multishot open --refresh</code> then shows them here.</p></section>")
    c = metrics.get("cuts") or {}
    rows = [
        ("cut precision", _num(c.get("precision")), "detections that match a planned boundary"),
        ("cut recall", _num(c.get("recall")),
         f"{c.get('hard_found', '–')} of {c.get('hard_total', '–')} hard cuts found"),
        ("gradual seen", _num(c.get("gradual_rate")),
         f"{c.get('gradual_found', '–')} of {c.get('gradual_total', '–')} gradual transitions visible"),
        ("spurious cuts", str(len(c.get("spurious") or [])), "cuts detected inside shots"),
        (f"TCS (k={c.get('tcs_k', 1.0):g})", _num(c.get("tcs"), 3),
         "CineTrans's transition control: shots seen vs. shots expected (1 is right)"),
        ("seam colour jump", _num(metrics.get("seam_colour"), 1, "×"),
         "Lab-histogram distance across seams / in-shot motion (lower is smoother)"),
        ("seam structure jump", _num(metrics.get("seam_structure"), 1, "×"), "1-SSIM across seams / in-shot motion"),
        ("flicker", _num(metrics.get("flicker_mean")), "mean |Δ luma| per frame inside shots"),
        ("flicker jitter", _num(metrics.get("jitter_mean")), "the part a smooth change does not explain"),
    ]
    if c.get("tcs_k1") is not None:  # metrics written before the paper's k carry only one TCS
        rows.insert(5, ("TCS (k=1)", _num(c.get("tcs_k1"), 3), "the same counts at k = 1"))
    if metrics.get("consistency_mean") is not None:
        rows.append(("character consistency", _num(metrics.get("consistency_mean"), 3),
                     "mean colour distance of a character across shots (0 = identical)"))
        for ch in metrics.get("consistency") or []:
            rows.append((f"· {ch.get('char_id')}", _num(ch.get("pairwise"), 3),
                         f"in {len(ch.get('shots') or [])} shots: {', '.join(ch.get('shots') or [])}"))
    rows += _identity_rows(metrics)
    summary = "".join(f"<tr><td>{_e(a)}</td><td>{_e(b)}</td><td class='dim'>{_e(d)}</td></tr>"
                      for a, b, d in rows)
    seam_rows = []
    for s in seams:
        detected = "–" if s.detected is None else ("yes" if s.detected else "no")
        flag = ("<span class='flag'>⚑ " + _e("; ".join(s.reasons)) + "</span>") if s.flagged else (
            "<span class='dim'>new scene</span>" if s.scene_change else "<span class='ok'>ok</span>")
        row_class = " class='flagged'" if s.flagged else ""
        seam_rows.append(
            f"<tr{row_class}><td>{_e(s.shot_out)} → {_e(s.shot_in)}</td>"
            f"<td>{_e(s.kind)}</td><td>{_num(s.colour_ratio, 1, '×')}</td>"
            f"<td>{_num(s.structure_ratio, 1, '×')}</td><td>{detected}</td><td>{flag}</td></tr>")
    n_flagged = sum(s.flagged for s in seams)
    return (
        "<section id='metrics'><h2>Metrics</h2>"
        f"<table class='summary'><tr><th>metric</th><th>value</th><th>meaning</th></tr>{summary}</table>"
        f"<h2>Seams <span class='{'bad' if n_flagged else 'dim'}'>({n_flagged} flagged)</span></h2>"
        "<table class='seams'><tr><th>seam</th><th>transition</th><th>colour</th><th>structure</th>"
        f"<th>detected</th><th></th></tr>{''.join(seam_rows)}</table></section>"
    )


def _identity_rows(metrics: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The identity metric (evaluate/identity.py, metrics.json `identity`): the film's mean
    margin, then per character its margin with the parts it is made of, as `eval` prints them."""
    identity = metrics.get("identity") or []
    if not identity:
        return []
    rows = [("identity margin", _num(metrics.get("identity_margin"), 3),
             "colour + pHash similarity of a character across its shots minus against the others (> 0: "
             "recognisable as itself)")]
    for ch in identity:
        shots = ch.get("shots") or []
        where = "boxes" if ch.get("boxed") else "whole keyframes"
        rows.append((f"· identity {ch.get('char_id')}", _num(ch.get("margin"), 3),
                     f"same {_num(ch.get('same'), 3)} (colour {_num(ch.get('same_colour'), 3)}, "
                     f"hash {_num(ch.get('same_hash'), 3)}), other {_num(ch.get('other'), 3)} "
                     f"(colour {_num(ch.get('other_colour'), 3)}, hash {_num(ch.get('other_hash'), 3)}); "
                     f"{len(shots)} shots: {', '.join(map(str, shots))}; {where}"))
    return rows


def _figure(rel: str | None, label: str, shot_id: str) -> str:
    if rel is None:
        return f"<figure><div class='missing'>no {label} keyframe</div><figcaption>{label}</figcaption></figure>"
    return (f"<figure><img src='{_e(_url(rel))}' alt='{_e(shot_id)} {label} frame'>"
            f"<figcaption>{label}</figcaption></figure>")


def _cast(v: ShotView) -> str:
    """The bank images of the shot's characters, beside its keyframes."""
    figs = [f"<figure><img src='{_e(_url(rel))}' alt='{_e(cid)} bank image'><figcaption>{_e(cid)}</figcaption></figure>"
            for cid, rel in v.cast if rel is not None]
    return f"<div class='cast' title='character bank'>{''.join(figs)}</div>" if figs else ""


def _bank_section(views: Sequence[ShotView]) -> str:
    """Every character's bank image with the shots that use it (links to their cards)."""
    uses: dict[str, list[str]] = {}
    images: dict[str, str] = {}
    for v in views:
        for cid, rel in v.cast:
            if rel is not None:
                images[cid] = rel
                uses.setdefault(cid, []).append(v.id)
    if not images:
        return ""
    figs = "".join(
        f"<figure id='character-{_e(cid)}'><img src='{_e(_url(images[cid]))}' alt='{_e(cid)} bank image'>"
        f"<figcaption><b>{_e(cid)}</b> · in " + ", ".join(f"<a href='#shot-{_e(s)}'>{_e(s)}</a>" for s in uses[cid])
        + "</figcaption></figure>" for cid in sorted(images))
    return f"<h2>Character bank</h2><section class='bank'>{figs}</section>"


def _card(v: ShotView, fps: int) -> str:
    t = v.transition
    camera = " · ".join(x for x in (v.size, v.angle, v.movement) if x) or "–"
    trans = _e(t.type)
    if t.duration:
        trans += f" {t.duration:g}s"
    if t.reason:
        trans += f" <span class='dim'>({_e(t.reason)})</span>"
    cache_rows = "".join(
        f"<tr><td>{_e(e.stage)}</td><td>{_e(e.item)}</td>"
        f"<td class='{'ok' if e.cache == 'hit' else 'dim'}'>{_e(e.cache)}</td>"
        f"<td>{_num(e.seconds, 2, 's')}</td></tr>" for e in v.cache)
    hits = sum(1 for e in v.cache if e.cache == "hit")
    seam = ""
    if v.seam_out is not None:
        s = v.seam_out
        ratios = (f"colour {_num(s.colour_ratio, 1, '×')}, structure {_num(s.structure_ratio, 1, '×')}"
                  if s.colour_ratio is not None or s.structure_ratio is not None else "not measured")
        mark = f" <span class='flag'>⚑ {_e('; '.join(s.reasons))}</span>" if s.flagged else ""
        seam = f"<dt>seam →</dt><dd>{_e(s.shot_in)}: {ratios}{mark}</dd>"
    flicker = ""
    if v.flicker:
        flicker = (f"<dt>flicker</dt><dd>{_num(v.flicker.get('mean_abs_delta'))} "
                   f"<span class='dim'>(jitter {_num(v.flicker.get('jitter'))})</span></dd>")
    notes = "".join(f"<p class='flag'>⚑ {_e(n)}</p>" for n in v.notes)
    said = "".join(f"<dt>{_e(who)}</dt><dd>“{_e(line)}”</dd>" for who, line in v.dialogue)
    flagged = v.notes or (v.seam_out is not None and v.seam_out.flagged)
    return f"""
<article class="card{' flagged' if flagged else ''}" id="shot-{_e(v.id)}" data-shot="{_e(v.id)}"
  data-start="{v.start_s:.4f}" data-end="{v.end_s:.4f}">
  <h3><span>{v.index + 1:02d} · {_e(v.id)}</span>
    {f"<span class='quality {_e(v.quality)}'>{_e(v.quality)}</span>" if v.quality else ""}
    <button class="play" type="button" data-seek="{v.start_s:.4f}">▶ {v.start_s:.2f}s</button></h3>
  <div class="frames">{_figure(v.first, 'first', v.id)}{_figure(v.last, 'last', v.id)}</div>
  {_cast(v)}
  <div class="prompt">{_e(v.prompt)}</div>
  <dl>
    <dt>scene</dt><dd>{_e(v.scene)}</dd>{said}
    <dt>camera</dt><dd>{_e(camera)}</dd>
    <dt>timing</dt><dd>{v.start_s:.2f}s – {v.end_s:.2f}s in the film · {v.duration_s:.2f}s · {v.frames} frames @ {fps} fps</dd>
    <dt>seed</dt><dd>{_e(v.seed)}</dd>
    <dt>profile</dt><dd>{_e(v.profile)}</dd>
    <dt>transition →</dt><dd>{trans}</dd>
    {seam}{flicker}
    <dt>cache</dt><dd>{hits} hit / {len(v.cache) - hits} made · {v.render_seconds:.2f}s of work</dd>
  </dl>
  {notes}
  <details><summary>artifacts</summary><table>{cache_rows}</table></details>
</article>"""


def _bar(views: Sequence[ShotView], seams: Sequence[SeamView], total: float) -> str:
    if total <= 0:
        return ""
    scene_ids: list[str] = []
    segs = []
    for v in views:
        if v.scene not in scene_ids:
            scene_ids.append(v.scene)
        left, width = 100 * v.start_s / total, 100 * v.duration_s / total
        segs.append(f"<div class='seg s{scene_ids.index(v.scene) % 4}' data-shot='{_e(v.id)}' "
                    f"data-start='{v.start_s:.4f}' data-end='{v.end_s:.4f}' data-seek='{v.start_s:.4f}' "
                    f"style='left:{left:.3f}%;width:{width:.3f}%' title='{_e(v.id)} ({_e(v.scene)})'>"
                    f"{_e(v.id)}</div>")
    by_out = {v.id: v for v in views}
    flags = []
    for s in seams:
        if s.flagged and s.shot_in in by_out:
            flags.append(f"<div class='seam-flag' style='left:{100 * by_out[s.shot_in].start_s / total:.3f}%' "
                         f"title='{_e('; '.join(s.reasons))}'></div>")
    return f"<div class='bar'>{''.join(segs)}{''.join(flags)}<div class='playhead'></div></div>"


def render_report(out_dir: Path, manifest: Manifest, metrics: Mapping[str, Any] | None = None) -> str:
    """The page's HTML (see `write_report`)."""
    out_dir = Path(out_dir)
    record = as_manifest(manifest)
    fps = record.fps or 1
    views = shot_views(out_dir, record, metrics)
    seams = seam_views(record, metrics)
    total = max((v.end_s for v in views), default=0.0)
    film_rel = record.outputs.get("film") or FILM
    has_film = (out_dir / film_rel).is_file()
    sheet = (out_dir / CONTACT_SHEET_NAME).is_file()
    hits = sum(1 for e in record.artifacts if e.cache == "hit")
    made = sum(1 for e in record.artifacts if e.cache == "miss")
    title = record.title or "multishot film"
    facts = [("status", record.status), ("paradigm", record.paradigm),
             ("profile", record.profile), ("format", f"{record.resolution} @ {fps} fps"),
             ("length", f"{total:.2f}s · {len(views)} shots"),
             ("render", f"{_num(record.seconds, 1, 's')} · {made} made, {hits} cached"),
             ("multishot", record.multishot)]
    poster = f" poster='{_e(_url(views[0].first))}'" if views and views[0].first else ""
    track = (f"<track kind='subtitles' src='{_e(_url(SUBTITLES_VTT))}' srclang='en' label='Dialogue' default>"
             if has_film and RenderFolder(out_dir).vtt.is_file() else "")
    player = (f"<div class='player'><video id='film' src='{_e(_url(film_rel))}'{poster} controls "
              f"preload='metadata' playsinline>{track}</video></div>") if has_film else (
        "<p class='dim'>The film is not assembled yet (some shots are not rendered); the cards show what is.</p>")
    links = [f"<a href='{_e(_url(film_rel))}'>{_e(FILM)}</a>"] if has_film else []
    for name in (TIMELINE, MANIFEST, CONTACT_SHEET_NAME, SUBTITLES_SRT, SUBTITLES_VTT):
        if (out_dir / name).is_file():
            links.append(f"<a href='{_e(_url(name))}'>{_e(name)}</a>")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} · multishot review</title>
<style>{CSS}</style>
</head>
<body data-duration="{total:.4f}">
<header>
  <h1>{_e(title)}</h1>
  <div class="facts">{''.join(f'<span>{_e(k)} <b>{_e(v)}</b></span>' for k, v in facts if v is not None)}</div>
  <p class="dim">source: {_e(record.source)} · {' · '.join(links)}</p>
</header>
<main>
  {player}
  {_bar(views, seams, total)}
  {_metrics_section(metrics, seams)}
  {_bank_section(views)}
  <h2>Shots</h2>
  <section class="cards">{''.join(_card(v, fps) for v in views)}</section>
  {f"<h2>Contact sheet</h2><div class='sheet'><img src='{CONTACT_SHEET_NAME}' alt='all keyframes'></div>" if sheet else ''}
</main>
<footer class="dim">Written by multishot from {_e(MANIFEST)}. Click a shot or a segment of the bar to play from it.</footer>
<script>{SCRIPT}</script>
</body>
</html>
"""


def write_report(out_dir: Path, manifest: Manifest, metrics: Mapping[str, Any] | None = None) -> Path:
    """Write `out_dir/report.html` (atomically) and return its path. `metrics` is
    `FilmMetrics.to_json()` of `multishot eval`, or None."""
    out_dir = Path(out_dir)
    path = out_dir / REPORT_NAME
    atomic_write_text(path, render_report(out_dir, manifest, metrics))
    return path


def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", px)
    except OSError:
        try:
            return ImageFont.load_default(size=px)
        except TypeError:  # Pillow < 10.1: the bitmap font, one size
            return ImageFont.load_default()


def write_contact_sheet(out_dir: Path, manifest: Manifest) -> Path:
    """Write `out_dir/contact_sheet.png`: every shot's first and last keyframe side by side,
    labelled with number, id and duration, SHEET_PAIRS_PER_ROW shots a row, in film order."""
    out_dir = Path(out_dir)
    record = as_manifest(manifest)
    shots = record.shots
    width, height = record.size
    if not (width and height):  # a manifest without its resolution: the animatic's default
        width, height = 160, 90
    tw = min(width, THUMB_MAX_WIDTH)
    th = max(1, round(height * tw / width))
    gap, pad, label_h, title_h = 4, 12, 20, 34
    cols = max(1, min(SHEET_PAIRS_PER_ROW, len(shots)))
    rows = max(1, -(-len(shots) // cols))
    pair_w = 2 * tw + gap
    sheet_w = pad * 2 + cols * pair_w + (cols - 1) * pad
    sheet_h = title_h + pad + rows * (th + label_h + pad)
    sheet = Image.new("RGB", (sheet_w, sheet_h), (22, 23, 27))
    draw = ImageDraw.Draw(sheet)
    title_font, label_font = _font(18), _font(12)
    fps = record.fps or 1
    draw.text((pad, 8), record.title, fill=(236, 235, 230), font=title_font)
    for i, shot in enumerate(shots):
        r, c = divmod(i, cols)
        x = pad + c * (pair_w + pad)
        y = title_h + pad + r * (th + label_h + pad)
        for k, which in enumerate(("first", "last")):
            box = (x + k * (tw + gap), y)
            path = keyframe_path(out_dir, shot.id, which)
            if path.is_file():
                with Image.open(path) as img:
                    sheet.paste(img.convert("RGB").resize((tw, th), Image.Resampling.LANCZOS), box)
            else:
                draw.rectangle((box[0], box[1], box[0] + tw - 1, box[1] + th - 1), fill=(13, 14, 17))
                draw.text((box[0] + 6, box[1] + 6), "missing", fill=(162, 164, 173), font=label_font)
        seconds = shot.frames / fps
        draw.text((x, y + th + 3), f"{i + 1:02d} {shot.id}  {seconds:.2f}s", fill=(236, 235, 230),
                  font=label_font)
    path = out_dir / CONTACT_SHEET_NAME
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
    return path


METRICS_NAME = METRICS


def load_metrics(out_dir: Path) -> dict[str, Any] | None:
    """Metrics saved next to the film (`metrics.json`, `FilmMetrics.to_json()`), if they are
    there and newer than the film they measure."""
    out_dir = Path(out_dir)
    path, film = RenderFolder(out_dir).metrics, RenderFolder(out_dir).film
    if not path.is_file() or (film.is_file() and path.stat().st_mtime < film.stat().st_mtime):
        return None
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_review(out_dir: Path, manifest: Manifest,
                 metrics: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Everything a person reviews a render with: `timeline.otio` (when the film is complete),
    `contact_sheet.png` and `report.html`. Metrics: those given, else `metrics.json` beside the
    film if it is newer than the film (what `multishot eval` writes), else none. Returns
    {name: path} of what it wrote."""
    from multishot.post.otio import write_timeline

    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    record = as_manifest(manifest)
    folder = RenderFolder(out_dir)
    complete = folder.film.is_file() and all(folder.shot(s.id).is_file() for s in record.shots)
    if complete and record.shots:
        written["timeline"] = write_timeline(out_dir, record)
    written["contact_sheet"] = write_contact_sheet(out_dir, record)
    written["report"] = write_report(out_dir, record, metrics if metrics is not None else load_metrics(out_dir))
    return written



__all__ = ["REPORT_NAME", "CONTACT_SHEET_NAME", "METRICS_NAME", "load_metrics", "write_review", "SEAM_FLAG_RATIO", "SEAM_OUTLIER_FACTOR", "SeamView", "ShotView",
           "render_report", "seam_views", "shot_views", "write_contact_sheet",
           "write_report"]
