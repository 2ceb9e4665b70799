"""The weightless identity metric (issue 15 item 4) on real animatic renders: a character's
cut-outs (its reported boxes) score higher across its own shots than against the other
character, and the numbers reach metrics.json through `eval`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from conftest import MULTISHOT, small_film, write_film
from multishot.evaluate.identity import crop, fingerprint, identity_report, score, shot_prints


def test_fingerprints_of_one_picture_match_and_of_another_do_not() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    b = np.zeros_like(a)
    b[..., 2] = 220
    fa, fb = fingerprint(a, "x", "s1"), fingerprint(a, "x", "s2")
    assert abs(score(fa, fb) - 1.0) < 1e-6
    assert score(fa, fingerprint(b, "y", "s3")) < 0.7
    # a box is cut out (inset by 20% each side), a missing or empty box keeps the whole frame
    assert crop(a, (0, 0, 20, 20)).shape == (12, 12, 3) and crop(a, None).shape == a.shape
    assert crop(a, (5, 5, 5, 5)).shape == a.shape


def test_report_compares_across_shots_only_and_against_the_others() -> None:
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 200
    blue = np.zeros((32, 32, 3), np.uint8)
    blue[..., 2] = 200
    prints = shot_prints("s1", ["r"], [red, red]) + shot_prints("s2", ["r"], [red]) + shot_prints("s3", ["b"], [blue])
    report = {r.char_id: r for r in identity_report(prints)}
    assert abs(report["r"].same - 1.0) < 1e-6 and report["r"].shots == ["s1", "s2"]
    assert report["r"].margin is not None and report["r"].margin > 0.3
    assert report["b"].same is None and report["b"].margin is None  # one shot: nothing to compare


def test_on_an_animatic_render_each_character_is_more_like_itself_than_the_other(tmp_path: Path) -> None:
    film = write_film(tmp_path / "film.yaml", small_film())
    out = tmp_path / "r"
    done = subprocess.run([*MULTISHOT, "render", str(film), "--out", str(out), "--paradigm", "stitching",
                           "--no-review"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    ev = subprocess.run([*MULTISHOT, "eval", str(out / "small-film"), "--json"], capture_output=True, text=True,
                        timeout=300)
    assert ev.returncode == 0, ev.stderr
    metrics = json.loads(ev.stdout.strip().splitlines()[-1])
    assert json.loads((out / "small-film" / "metrics.json").read_text())["identity"] == metrics["identity"]
    by_id = {c["char_id"]: c for c in metrics["identity"]}
    assert set(by_id) == {"mara", "tomas"}
    for cid, c in by_id.items():
        assert c["boxed"] and c["shots"] == [cid, "both"]
        assert c["same"] > c["other"] and c["margin"] > 0.02, c
        assert c["same_colour"] > c["other_colour"], c
    assert metrics["identity_margin"] > 0.02
