"""Third-party plug-ins (issue 14): a paradigm with one option, a transition and a backend, each
one file of tests/plugin_example/, registered through entry points and rendered through the CLI.

The plug-in is installed the way importlib.metadata finds any distribution: its package and a
`.dist-info` folder (METADATA + entry_points.txt, what pip writes) in a folder on PYTHONPATH.
Nothing is faked: the CLI is a real subprocess, the render is real (ffmpeg, the animatic).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, small_film, write_film

EXAMPLE = Path(__file__).with_name("plugin_example")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the installed example distribution `multishot-example`."""
    target = tmp_path_factory.mktemp("site")
    shutil.copytree(EXAMPLE / "multishot_example", target / "multishot_example")
    info = target / "multishot_example-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: multishot-example\nVersion: 0.1.0\n")
    shutil.copy(EXAMPLE / "entry_points.txt", info / "entry_points.txt")
    return target


def cli(site: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([*([str(site)] if site else []), str(ROOT)])
    env = {**os.environ, "PYTHONPATH": path, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "multishot.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=600)


def test_plugin_flag_paradigm_and_profile_are_listed(site: Path) -> None:
    helped = cli(site, "render", "--help")
    assert helped.returncode == 0 and "--sketch-label" in helped.stdout and "--no-smooth" in helped.stdout
    assert "--sketch-label" not in cli(None, "render", "--help").stdout  # it comes from the plug-in only
    listed = json.loads(cli(site, "paradigms", "--json").stdout)["paradigms"]
    by_name = {p["name"]: p for p in listed}
    assert by_name["sketch"]["from"] == "multishot-example" and by_name["sketch"]["flags"] == ["--sketch-label"]
    assert by_name["stitching"]["from"] == "builtin" and "--blend-cuts" in by_name["stitching"]["flags"]
    profiles = {p["name"]: p for p in json.loads(cli(site, "profiles", "list", "--json").stdout)}
    assert profiles["toy"]["origin"] == "multishot-example" and profiles["toy"]["backend"] == "toy"
    assert profiles["animatic"]["origin"] == "builtin"


def test_the_plugin_backend_validates_its_profiles_with_its_own_model(site: Path, tmp_path: Path) -> None:
    """toy.yaml has `negative:`, a field of the plug-in's ToyProfile (named on its BackendKind)
    that neither the neutral profile model nor the diffusers one has: it loads, and a bad value
    is refused naming the file and the field, as for a built-in profile."""
    shown = cli(site, "profiles", "show", "toy", "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["backend"] == "toy" and data["negative"] is True and "roles" not in data
    bad = tmp_path / "toy-bad.yaml"
    bad.write_text("backend: toy\nlicence: x\ncapabilities: [text_to_video]\nnegative: sideways\n")
    refused = cli(site, "profiles", "show", str(bad))
    assert refused.returncode == 2 and str(bad) in refused.stderr and "negative" in refused.stderr, refused.stderr
    roles = tmp_path / "toy-roles.yaml"
    roles.write_text("backend: toy\nlicence: x\nroles: {}\n")
    refused = cli(site, "profiles", "show", str(roles))
    assert refused.returncode == 2 and "a toy profile has no `roles`" in refused.stderr, refused.stderr
    # Without the plug-in the backend is unknown: named, with the backends there are.
    unknown = cli(None, "profiles", "show", str(bad))
    assert unknown.returncode == 2 and "unknown backend `toy`" in unknown.stderr and "animatic" in unknown.stderr


def test_render_with_the_plugin_paradigm_transition_and_backend(site: Path, tmp_path: Path) -> None:
    data = small_film()
    data["scenes"][0]["shots"][0]["transition"] = {"type": "iris", "duration": 0.5}
    film = write_film(tmp_path / "film.yaml", data)
    assert cli(None, "validate", str(film)).returncode == 2  # without the plug-in `iris` is no transition
    done = cli(site, "render", str(film), "--paradigm", "sketch", "--profile", "toy", "--sketch-label", "first-cut",
               "--out", str(tmp_path / "r"), "--json", "--no-review")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["status"] == "complete" and summary["paradigm"] == "sketch"
    manifest = json.loads(Path(summary["manifest"]).read_text())
    assert {"kind": "sketch", "label": "first-cut"}.items() <= next(e for e in manifest["events"]
                                                                   if e["kind"] == "sketch").items()
    assert {a["stage"] for a in manifest["artifacts"]} >= {"video", "assemble"}
    # The toy backend drew the animatic as a negative: same shot on the animatic, inverted.
    from multishot.post.ffmpeg import read_video

    again = cli(site, "render", str(film), "--paradigm", "sketch", "--profile", "animatic",
                "--out", str(tmp_path / "a"), "--json", "--no-review")
    assert again.returncode == 0, again.stderr
    shot = data["scenes"][0]["shots"][1]["id"]
    toy = np.asarray(next(iter(read_video(tmp_path / "r" / "small-film" / "shots" / f"{shot}.mp4"))), np.float32)
    plain = np.asarray(next(iter(read_video(tmp_path / "a" / "small-film" / "shots" / f"{shot}.mp4"))), np.float32)
    assert np.abs((255 - plain) - toy).mean() < 12 < np.abs(plain - toy).mean()
    # The film is the sum of the shots less the overlaps, the iris's counted like a dissolve's.
    fps = data["format"]["fps"]
    shots = [s for sc in data["scenes"] for s in sc["shots"]]
    frames = sum(max(1, round(s["duration"] * fps)) for s in shots)
    for s in shots[:-1]:
        t = s.get("transition", "cut")
        kind, seconds = (t, 0.5) if isinstance(t, str) else (t["type"], t.get("duration", 0.5))
        frames -= 0 if kind in ("cut", "match-cut") else round(seconds * fps)
    assert sum(1 for _ in read_video(Path(summary["film"]))) == frames
