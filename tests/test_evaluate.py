"""Metrics on real encoded films: synthetic shots are written with ffmpeg, decoded back, measured.

Each shot is a coloured moving pattern (drifting stripes and a travelling disc), so shots have
real in-shot motion and real cuts; nothing here is mocked.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest
from rich.console import Console

from multishot.evaluate import (
    CharacterBoxes,
    FilmMetrics,
    PlannedBoundary,
    evaluate_film,
    layout_timeline,
    match_cuts,
    metrics_table,
    transition_control_score,
)
from multishot.evaluate.cuts import TCS_K
from multishot.evaluate.report import _metrics_section
from multishot.evaluate.timeline import ShotSpan, frame_at
from multishot.post.ffmpeg import FFmpegError, write_video

W, H, FPS = 160, 96, 16
YY, XX = np.mgrid[0:H, 0:W].astype(np.float32)

# (hue 0..180 avoiding the red wrap-around, saturation, base value, stripe angle, disc colour)
STYLES = {
    "amber": (18, 200, 150, 0.0, (40, 60, 200)),
    "green": (60, 170, 110, 1.2, (250, 240, 90)),
    "blue": (105, 210, 170, 2.2, (255, 120, 40)),
    "violet": (140, 150, 90, 0.6, (230, 230, 230)),
    "teal": (88, 230, 200, 2.8, (90, 20, 20)),
}


def pattern(style: str, t: float) -> np.ndarray:
    hue, sat, val, angle, disc = STYLES[style]
    u = XX * np.cos(angle) + YY * np.sin(angle)
    stripes = 0.5 + 0.5 * np.sin(u * 0.12 - t * 0.35)
    hsv = np.empty((H, W, 3), np.uint8)
    hsv[..., 0], hsv[..., 1] = hue, sat
    hsv[..., 2] = np.clip(val - 40 + 80 * stripes, 0, 255).astype(np.uint8)
    img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    cx = int(24 + (2 * t) % (W - 48))
    cv2.circle(img, (cx, H // 2), 11, disc, -1)
    return img


def render(path: Path, spans: list[ShotSpan], frame_fn: Callable[[str, int, int], np.ndarray]) -> Path:
    """Write a film: `frame_fn(shot_id, local_index, film_index)`; overlaps blend linearly."""
    n = frame_at(max(s.end for s in spans), FPS)
    ranges = [(s.shot_id, frame_at(s.start, FPS), frame_at(s.end, FPS)) for s in spans]
    frames = []
    for f in range(n):
        live = [(sid, lo, hi) for sid, lo, hi in ranges if lo <= f < hi]
        if len(live) == 1:
            sid, lo, _ = live[0]
            frames.append(frame_fn(sid, f - lo, f))
        else:  # a dissolve: outgoing fades out across the overlap
            (a, lo_a, hi_a), (b, lo_b, _) = live[:2]
            alpha = (f - lo_b + 1) / (hi_a - lo_b + 1)
            out, inc = frame_fn(a, f - lo_a, f), frame_fn(b, f - lo_b, f)
            frames.append((out * (1 - alpha) + inc * alpha).round().astype(np.uint8))
    return write_video(path, frames, W, H, FPS)


def four_shots() -> tuple[list[ShotSpan], list[PlannedBoundary]]:
    """a | b | c ⟋ d: two hard cuts (frames 24, 48) and a 0.5 s dissolve (frames 64..71)."""
    return layout_timeline([("a", 1.5, "cut", 0.0), ("b", 1.5, "match-cut", 0.0),
                            ("c", 1.5, "dissolve", 0.5), ("d", 1.5, "cut", 0.0)])


STYLE_OF = {"a": "amber", "b": "green", "c": "blue", "d": "violet"}


def test_timeline_layout_follows_the_shot_list_overlap_rule() -> None:
    spans, bounds = four_shots()
    assert [round(s.start, 3) for s in spans] == [0.0, 1.5, 3.0, 4.0]
    assert [b.kind for b in bounds] == ["cut", "cut", "gradual"]
    assert bounds[2].frames(FPS) == (64, 72)
    assert frame_at(spans[-1].end, FPS) == 88


def test_clean_film_has_perfect_cut_accuracy(tmp_path: Path) -> None:
    spans, bounds = four_shots()
    film = render(tmp_path / "clean.mp4", spans, lambda s, k, f: pattern(STYLE_OF[s], k))
    m = evaluate_film(film, bounds, spans, FPS)

    assert m.frames == 88 and (m.width, m.height) == (W, H)
    assert {24, 48} <= set(m.cuts.detected)
    assert m.cuts.precision == 1.0
    assert m.cuts.recall == 1.0
    assert m.cuts.spurious == []
    assert m.cuts.tcs == pytest.approx(1.0)
    assert [x.found for x in m.cuts.matches[:2]] == [True, True]
    # Whatever the detector made of the dissolve, it is reported on its own, never as spurious.
    assert m.cuts.gradual_total == 1 and m.cuts.gradual_rate in (0.0, 1.0)

    # The whole result is JSON and prints as a table.
    data = json.loads(json.dumps(m.to_json()))
    assert data["cuts"]["recall"] == 1.0 and len(data["seams"]) == 3
    out = io.StringIO()
    Console(file=out, width=160).print(metrics_table(m))
    assert "cut recall" in out.getvalue()


def test_detections_inside_a_dissolve_count_once_never_as_spurious(tmp_path: Path) -> None:
    spans, bounds = four_shots()
    film = render(tmp_path / "clean.mp4", spans, lambda s, k, f: pattern(STYLE_OF[s], k))
    # The histogram detector notices this dissolve (at its start and its end: two detections).
    m = evaluate_film(film, bounds, spans, FPS, detector="histogram")
    in_window = [d for d in m.cuts.detected if 64 - 2 <= d <= 72 + 2]
    assert len(in_window) >= 1
    assert m.cuts.gradual_found == 1 and m.cuts.matches[2].found
    assert m.cuts.spurious == [] and m.cuts.precision == 1.0
    assert m.cuts.detected_shots == 4 and m.cuts.tcs == pytest.approx(1.0)


def test_extra_cut_inside_a_shot_is_spurious(tmp_path: Path) -> None:
    spans, bounds = four_shots()

    def frame(s: str, k: int, f: int) -> np.ndarray:
        if s == "b" and k >= 12:  # the generator jumped to another look mid-shot
            return pattern("teal", k)
        return pattern(STYLE_OF[s], k)

    m = evaluate_film(render(tmp_path / "jump.mp4", spans, frame), bounds, spans, FPS)
    assert m.cuts.spurious == [36]
    assert m.cuts.recall == 1.0
    assert m.cuts.precision is not None and m.cuts.precision < 1.0
    assert m.cuts.tcs < 1.0 and m.cuts.detected_shots == m.cuts.visible_planned_shots + 1


def test_missing_planned_cut_lowers_recall(tmp_path: Path) -> None:
    spans, bounds = four_shots()
    same = {"a": "amber", "b": "green", "c": "green", "d": "violet"}
    # b and c are one continuous take: the planned cut at frame 48 shows nothing.
    m = evaluate_film(render(tmp_path / "merged.mp4", spans, lambda s, k, f: pattern(same[s], f)),
                      bounds, spans, FPS)
    assert m.cuts.recall == 0.5
    assert [x.found for x in m.cuts.matches[:2]] == [True, False]
    assert m.cuts.spurious == []
    assert m.cuts.tcs < 1.0


def test_transition_control_score_peaks_at_the_planned_count() -> None:
    assert transition_control_score(4, 4) == pytest.approx(1.0)
    assert transition_control_score(3, 4) < 1.0
    assert transition_control_score(6, 4) < transition_control_score(5, 4) < 1.0
    assert transition_control_score(0, 4) == 0.0
    # Larger k punishes the same miss harder.
    assert transition_control_score(3, 4, k=3.0) < transition_control_score(3, 4, k=1.0)


# Hand-computed x^k e^{-k(x-1)} (docs/tcs.md): ln 1.5 = 0.405465, ln 2 = 0.693147,
# ln(2/3) = -0.405465, ln 0.75 = -0.287682, ln 1.25 = 0.223144, ln(4/3) = 0.287682.
#   x = 1.5 : k=1.6 e^(0.648744 - 0.8)      = 0.859628   k=1 1.5 e^-0.5     = 0.909796
#   x = 2   : k=1.6 e^(1.109035 - 1.6)      = 0.612036   k=1 2 e^-1         = 0.735759
#   x = 2/3 : k=1.6 e^(-0.648744 + 0.533333) = 0.891000  k=1 (2/3) e^(1/3) = 0.930408
#   x = 0.5 : k=1.6 e^(-1.109035 + 0.8)     = 0.734155   k=1 0.5 e^0.5      = 0.824361
#   x = 0.75: k=1.6 e^(-0.460292 + 0.4)     = 0.941490   k=1 0.75 e^0.25    = 0.963019
#   x = 1.25: k=1.6 e^(0.357030 - 0.4)      = 0.957940   k=1 1.25 e^-0.25   = 0.973501
#   x = 4/3 : k=1.6 e^(0.460291 - 0.533333) = 0.929562
TCS_HAND = {  # (detected shots, planned shots): (k = 1.6, k = 1)
    (3, 2): (0.859628, 0.909796),
    (4, 2): (0.612036, 0.735759),
    (2, 3): (0.891000, 0.930408),
    (2, 4): (0.734155, 0.824361),
    (3, 4): (0.941490, 0.963019),
    (5, 4): (0.957940, 0.973501),
}


def test_tcs_uses_the_papers_exponent_by_default() -> None:
    assert TCS_K == 1.6
    for (seen, planned), (paper, k1) in TCS_HAND.items():
        assert transition_control_score(seen, planned) == pytest.approx(paper, abs=2e-6)
        assert transition_control_score(seen, planned, k=1.0) == pytest.approx(k1, abs=2e-6)
        # The paper's exponent punishes every miscount harder than k = 1 does.
        assert paper < k1 < 1.0


def test_tcs_exponent_effect_is_asymmetric() -> None:
    # One shot too many of two (x = 1.5) costs more than one too few of three (x = 2/3) ...
    assert transition_control_score(3, 2) < transition_control_score(2, 3)
    # ... and doubling the shots (x = 2) costs more than halving them (x = 0.5).
    assert transition_control_score(4, 2) < transition_control_score(2, 4)
    # k = 1.6 widens the gap between the two extras: 0.860 - 0.612 vs 0.910 - 0.736.
    gap_paper = transition_control_score(3, 2) - transition_control_score(4, 2)
    gap_k1 = transition_control_score(3, 2, k=1.0) - transition_control_score(4, 2, k=1.0)
    assert gap_paper == pytest.approx(0.247592, abs=2e-6) and gap_k1 == pytest.approx(0.174037, abs=2e-6)


def test_tcs_is_zero_when_planned_cuts_never_happen() -> None:
    # CineTrans's model without mask or tuning does not cut and scores 0, not the formula's value.
    assert transition_control_score(1, 2) == 0.0
    assert transition_control_score(1, 4, k=1.0) == 0.0
    assert transition_control_score(1, 2, zero_without_cuts=False) == pytest.approx(0.734155, abs=2e-6)
    # A one-shot plan shown as one shot is right.
    assert transition_control_score(1, 1) == 1.0
    with pytest.raises(ValueError):
        transition_control_score(1, 0)


# 16 fps, four shots with hard cuts planned at frames 16, 32 and 48.
HARD = [PlannedBoundary(1.0, "cut", 0.0, "a", "b"), PlannedBoundary(2.0, "cut", 0.0, "b", "c"),
        PlannedBoundary(3.0, "cut", 0.0, "c", "d")]


@pytest.mark.parametrize("detected, recall, spurious, tcs, tcs_k1", [
    ([16, 32, 48], 1.0, 0, 1.0, 1.0),                      # perfect cuts
    ([15, 33, 50], 1.0, 0, 1.0, 1.0),                      # off by 1-2 frames: inside tolerance
    ([16, 32], 2 / 3, 0, 0.941490, 0.963019),              # a cut missing: 3 shots of 4
    ([16, 32, 40, 48], 1.0, 1, 0.957940, 0.973501),        # a cut inside shot c: 5 of 4
    ([16, 24, 32, 40, 48], 1.0, 2, 0.859628, 0.909796),    # two extra cuts: 6 of 4, x = 1.5
    ([], 0.0, 0, 0.0, 0.0),                                # no cut at all: no transition control
])
def test_match_cuts_reports_tcs_at_the_papers_k_and_at_k1(detected: list[int], recall: float,
                                                         spurious: int, tcs: float, tcs_k1: float) -> None:
    r = match_cuts(detected, HARD, fps=16, tolerance_frames=2)
    assert r.recall == pytest.approx(recall) and len(r.spurious) == spurious
    assert r.tcs_k == TCS_K
    assert r.tcs == pytest.approx(tcs, abs=2e-6)
    assert r.tcs_k1 == pytest.approx(tcs_k1, abs=2e-6)
    assert r.tcs_raw == pytest.approx(tcs, abs=2e-6)  # hard cuts only: both counts agree


def test_cut_off_by_more_than_the_tolerance_is_a_miss_and_an_extra_that_tcs_cannot_see() -> None:
    # The cut planned at 48 lands at 53: recall and precision drop, but the film still shows
    # four shots, so TCS (a count, in the paper as here) stays 1 at every k.
    r = match_cuts([16, 32, 53], HARD, fps=16, tolerance_frames=2)
    assert r.recall == pytest.approx(2 / 3) and r.spurious == [53]
    assert r.precision == pytest.approx(2 / 3)
    assert r.tcs == r.tcs_k1 == r.tcs_raw == 1.0


def test_gradual_aware_tcs_and_plain_count_differ_on_a_dissolve() -> None:
    bounds = [PlannedBoundary(1.0, "cut", 0.0, "a", "b"),
              PlannedBoundary(2.0, "gradual", 0.5, "b", "c")]  # dissolve frames 32..39 at 16 fps
    # The detector fires twice inside the dissolve: one transition for `tcs`, two for the plain
    # count (4 shots of 3: x = 4/3).
    r = match_cuts([16, 33, 38], bounds, fps=16, tolerance_frames=1)
    assert r.detected_shots == 3 and r.visible_planned_shots == 3 and r.tcs == 1.0
    assert r.tcs_raw == pytest.approx(0.929562, abs=2e-6)
    # The detector misses the dissolve: neither side of `tcs` counts it; the plain count is 2 of 3.
    r = match_cuts([16], bounds, fps=16, tolerance_frames=1)
    assert r.tcs == 1.0 and r.tcs_raw == pytest.approx(0.891000, abs=2e-6)


def test_tcs_shows_both_exponents_in_the_table_json_and_report(tmp_path: Path) -> None:
    spans, bounds = four_shots()
    same = {"a": "amber", "b": "green", "c": "green", "d": "violet"}
    m = evaluate_film(render(tmp_path / "merged.mp4", spans, lambda s, k, f: pattern(same[s], f)),
                      bounds, spans, FPS)
    c = m.cuts
    assert c.tcs_k == TCS_K
    assert c.tcs == pytest.approx(transition_control_score(c.detected_shots, c.visible_planned_shots))
    assert c.tcs_k1 == pytest.approx(
        transition_control_score(c.detected_shots, c.visible_planned_shots, k=1.0))
    assert 0.0 < c.tcs < c.tcs_k1 < 1.0

    data = json.loads(json.dumps(m.to_json()))["cuts"]
    assert data["tcs_k"] == 1.6 and data["tcs"] == pytest.approx(c.tcs)
    assert data["tcs_k1"] == pytest.approx(c.tcs_k1)

    out = io.StringIO()
    Console(file=out, width=200).print(metrics_table(m))
    text = out.getvalue()
    assert "TCS (k=1.6)" in text and f"{c.tcs:.3f}" in text
    assert "TCS (k=1)" in text and f"{c.tcs_k1:.3f}" in text

    html = _metrics_section(m.to_json(), [])
    assert "TCS (k=1.6)" in html and f"{c.tcs:.3f}" in html and f"{c.tcs_k1:.3f}" in html
    # Metrics written before the paper's k (k = 1, no tcs_k1) still render, labelled by their k.
    old = {"cuts": {"tcs": 0.5, "tcs_k": 1.0}}
    assert "TCS (k=1)" in _metrics_section(old, []) and "0.500" in _metrics_section(old, [])


def test_report_lists_identity_rows_only_when_measured() -> None:
    identity = [{"char_id": "mara", "shots": ["a", "c"], "same": 0.452, "other": 0.370, "margin": 0.082,
                 "same_colour": 0.5, "same_hash": 0.404, "other_colour": 0.4, "other_hash": 0.34, "boxed": True},
                {"char_id": "tomas", "shots": ["b"], "same": None, "other": 0.37, "margin": None,
                 "same_colour": None, "same_hash": None, "other_colour": 0.4, "other_hash": 0.34, "boxed": False}]
    html = _metrics_section({"cuts": {}, "identity": identity, "identity_margin": 0.082}, [])
    assert "<td>identity margin</td><td>0.082</td>" in html
    assert "<td>· identity mara</td><td>0.082</td>" in html and "same 0.452" in html and "2 shots: a, c" in html
    assert "<td>· identity tomas</td><td>–</td>" in html and "whole keyframes" in html  # in one shot: no margin
    assert "identity" not in _metrics_section({"cuts": {}, "identity": None}, [])


def test_gradual_window_absorbs_its_detections_and_hard_cuts_pair_once() -> None:
    bounds = [PlannedBoundary(1.0, "cut", 0.0, "a", "b"),
              PlannedBoundary(2.0, "gradual", 0.5, "b", "c")]
    # 16 fps: hard cut at 16, dissolve frames 32..39. Two detections near the cut, two in the wipe.
    r = match_cuts([15, 17, 33, 40], bounds, fps=16, tolerance_frames=1)
    assert r.hard_found == 1 and r.gradual_found == 1
    assert len(r.spurious) == 1 and r.spurious[0] in (15, 17)
    assert r.precision == pytest.approx(2 / 3)


def test_colour_matched_seam_is_smoother_than_raw(tmp_path: Path) -> None:
    spans, bounds = layout_timeline([("a", 1.5, "cut", 0.0), ("b", 1.5, "cut", 0.0)])
    ref = pattern("amber", 23)  # the outgoing shot's last frame

    def matched(frame: np.ndarray) -> np.ndarray:
        """Reinhard colour transfer: incoming Lab mean/std moved onto the outgoing frame's."""
        src = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB).astype(np.float32)
        dst = cv2.cvtColor(ref, cv2.COLOR_RGB2LAB).astype(np.float32)
        out = (src - src.mean((0, 1))) / (src.std((0, 1)) + 1e-6) * dst.std((0, 1)) + dst.mean((0, 1))
        return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)

    raw = render(tmp_path / "raw.mp4", spans,
                 lambda s, k, f: pattern("amber" if s == "a" else "teal", k))
    fixed = render(tmp_path / "matched.mp4", spans,
                   lambda s, k, f: pattern("amber", k) if s == "a" else matched(pattern("teal", k)))
    seam_raw = evaluate_film(raw, bounds, spans, FPS).seams[0]
    seam_fixed = evaluate_film(fixed, bounds, spans, FPS).seams[0]

    assert (seam_raw.frame_before, seam_raw.frame_after) == (23, 24)
    assert seam_raw.colour_ratio > 3.0  # a real jump, well above in-shot change
    assert seam_fixed.colour_ratio < 0.5 * seam_raw.colour_ratio


def test_seams_of_a_dissolve_compare_the_frames_outside_it(tmp_path: Path) -> None:
    spans, bounds = four_shots()
    m = evaluate_film(render(tmp_path / "f.mp4", spans, lambda s, k, f: pattern(STYLE_OF[s], k)),
                      bounds, spans, FPS)
    dissolve = m.seams[2]
    assert (dissolve.kind, dissolve.frame_before, dissolve.frame_after) == ("gradual", 63, 72)
    assert all(s.colour_ratio > 1.0 for s in m.seams)


def test_brightness_jitter_raises_flicker(tmp_path: Path) -> None:
    spans, bounds = four_shots()
    jitter_gain = np.random.default_rng(7).choice([0.85, 1.15], size=100)  # by film frame
    ramp_gain = np.linspace(0.55, 1.15, 24)  # by shot frame: each shot brightens steadily

    def measure(name: str, gain: Callable[[int, int], float]) -> FilmMetrics:
        def frame(s: str, k: int, f: int) -> np.ndarray:
            return np.clip(pattern(STYLE_OF[s], k) * gain(k, f), 0, 255).astype(np.uint8)
        return evaluate_film(render(tmp_path / f"{name}.mp4", spans, frame), bounds, spans, FPS)

    steady = measure("steady", lambda k, f: 1.0)
    jittery = measure("jitter", lambda k, f: jitter_gain[f])
    ramped = measure("ramp", lambda k, f: ramp_gain[k])

    assert jittery.flicker_mean > 5 * steady.flicker_mean
    assert all(j.mean_abs_delta > s.mean_abs_delta
               for j, s in zip(jittery.flicker, steady.flicker, strict=True))
    # A smooth brightness change is a step per frame, but not jitter.
    assert ramped.flicker_mean > 2 * steady.flicker_mean
    assert ramped.jitter_mean < 0.25 * jittery.jitter_mean


def test_character_keeping_its_colour_is_more_consistent(tmp_path: Path) -> None:
    spans, bounds = layout_timeline([("s1", 1.0, "cut", 0.0), ("s2", 1.0, "dissolve", 0.25),
                                     ("s3", 1.0, "cut", 0.0)])
    backgrounds = {"s1": "amber", "s2": "blue", "s3": "violet"}
    keeper_rgb = (200, 40, 40)
    boy_rgb = {"s1": (40, 200, 40), "s2": (240, 240, 40), "s3": (40, 40, 220)}

    def box(name: str, k: int) -> tuple[int, int, int, int]:
        x = 10 + 2 * k if name == "keeper" else 120 - 2 * k
        return (x, 30, x + 24, 80)

    def frame(s: str, k: int, f: int) -> np.ndarray:
        img = pattern(backgrounds[s], k).copy()
        for name, colour in (("keeper", keeper_rgb), ("boy", boy_rgb[s])):
            x0, y0, x1, y1 = box(name, k)
            cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), colour, -1)
        return img

    film = render(tmp_path / "chars.mp4", spans, frame)
    per_shot = {s.shot_id: [{n: box(n, k) for n in ("keeper", "boy")}
                            for k in range(frame_at(s.end - s.start, FPS))] for s in spans}
    signatures = {"keeper": keeper_rgb, "boy": (40, 200, 40)}
    m = evaluate_film(film, bounds, spans, FPS, CharacterBoxes(per_shot, signatures=signatures))
    chars = {c.char_id: c for c in m.consistency}

    assert chars["keeper"].shots == ["s1", "s2", "s3"]
    assert chars["keeper"].pairwise < 0.5 * chars["boy"].pairwise
    assert chars["keeper"].signature_delta_e < 10 < chars["boy"].signature_delta_e
    assert m.consistency_mean == pytest.approx((chars["keeper"].pairwise + chars["boy"].pairwise) / 2)

    # Boxes drawn on a 2x larger canvas are scaled onto the film.
    doubled = {s: [{n: tuple(2 * v for v in b) for n, b in fb.items()} for fb in frames]
               for s, frames in per_shot.items()}
    m2 = evaluate_film(film, bounds, spans, FPS, CharacterBoxes(doubled, frame_size=(2 * W, 2 * H)))
    assert {c.char_id: c.pairwise for c in m2.consistency} == pytest.approx(
        {c: chars[c].pairwise for c in chars})


def test_unreadable_film_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-film.mp4"
    bad.write_bytes(b"no video here")
    with pytest.raises(FFmpegError):
        evaluate_film(bad, [], [("a", 0.0, 1.0)], FPS)
