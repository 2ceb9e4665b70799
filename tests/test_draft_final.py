"""Draft then final (issue 13 item 4): `render --draft` renders every shot at the profile's
draft settings into the render folder; `render --final --only S` re-renders only S at full
settings with the same seeds and assembles a film whose mix of draft and final shots the
manifest and the review page state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "multishot.cli.main", *args], capture_output=True, text=True,
                          env=dict(os.environ), cwd=cwd, timeout=600)


def _render(film: Path, out: Path, *flags: str) -> tuple[dict, dict]:
    done = _cli("render", str(film), "--out", str(out), "--json", *flags, cwd=film.parent)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    return summary, json.loads(Path(summary["manifest"]).read_text())


def _shot_entries(manifest: dict, shot: str) -> list[dict]:
    return [e for e in manifest["artifacts"] if e.get("stage") == "video" and shot in (e.get("shots") or [])]


@pytest.mark.parametrize("profile", ["animatic", "tiny"])
def test_draft_then_final_only_rerenders_the_accepted_shot(profile: str, film_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "renders"
    base = ("--profile", profile, "--paradigm", "stitching")
    _, draft = _render(film_file, out, *base, "--draft")
    ids = [s["id"] for s in draft["shots"]]
    assert draft["status"] == "complete" and set(draft["quality"].values()) == {"draft"}
    if profile == "tiny":
        assert "size_scale 0.5" in draft["speed"]["tiny#draft"]["text_to_video"]

    accepted = ids[1]
    summary, final = _render(film_file, out, *base, "--final", "--only", accepted)
    assert final["status"] == "complete"
    assert final["quality"] == {i: ("final" if i == accepted else "draft") for i in ids}
    # Same seeds and timing as the draft; only the accepted shot's clip was made again.
    assert [(s["seed"], s["frames"]) for s in final["shots"]] == [(s["seed"], s["frames"]) for s in draft["shots"]]
    made = {sid for e in final["artifacts"] if e.get("stage") == "video" and e.get("cache") == "miss"
            for sid in e.get("shots") or []}
    assert made == {accepted}
    assert all(e["cache"] == "hit" for sid in ids if sid != accepted for e in _shot_entries(final, sid))
    page = (Path(summary["out_dir"]) / "report.html").read_text()
    assert page.count("class='quality draft'") == len(ids) - 1 and page.count("class='quality final'") == 1

    # A plain render afterwards is the full film: no shot is a draft, none marked.
    _, full = _render(film_file, out, *base)
    assert "quality" not in full


def test_draft_and_final_together_are_refused(film_file: Path, tmp_path: Path) -> None:
    done = _cli("render", str(film_file), "--draft", "--final", "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 2 and "exclude each other" in done.stderr
