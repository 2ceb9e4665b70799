"""Shared fixtures: small real shot lists rendered by the real animatic backend and ffmpeg."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MULTISHOT = [sys.executable, "-m", "multishot.cli.main"]

# The Ctrl-C tests send SIGINT the way a terminal does, to a process whose SIGINT is at its default.
# A suite started as a background job of a non-interactive shell (`make test &` in a script)
# inherits SIGINT *ignored*, every child would too, and Python then never raises
# KeyboardInterrupt: the tests would fail for the way they were launched, not for the code. A
# caught signal is reset to its default at exec, so the children start as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def small_film(**format_overrides: object) -> dict:
    """A 2-scene, 5-shot film at a small size so renders take about a second."""
    fmt = {"resolution": "160x96", "fps": 8, "seed": 11, **format_overrides}
    return {
        "multishot": 1, "title": "Small Film", "style": "35mm film",
        "format": fmt,
        "characters": {"mara": {"description": "a woman in a yellow oilskin raincoat"},
                       "tomas": {"description": "a boy in a red knit cap"}},
        "locations": {"cliffs": {"description": "black basalt cliffs over a grey sea"},
                      "room": {"description": "the lamp room of a lighthouse, brass lens"}},
        "scenes": [
            {"id": "outside", "location": "cliffs", "time": "dusk", "shots": [
                {"id": "wide", "size": "wide", "movement": "dolly-in", "duration": 2, "action": "the beam sweeps"},
                {"id": "mara", "size": "medium", "characters": ["mara"], "duration": 2,
                 "action": "Mara climbs", "transition": {"type": "dissolve", "duration": 0.5}},
                {"id": "tomas", "size": "close", "characters": ["tomas"], "duration": 1.5, "action": "Tomas waits",
                 "transition": "fade"},
            ]},
            {"id": "inside", "location": "room", "time": "night", "shots": [
                {"id": "both", "size": "full", "characters": ["mara", "tomas"], "duration": 2, "movement": "pan-left",
                 "action": "they meet", "transition": "wipe-left"},
                {"id": "lens", "size": "extreme-close", "duration": 1.5, "action": "the lens turns"},
            ]},
        ],
    }


def write_film(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def videos_filed(manifest: Path) -> int:
    """Video clips a render has filed in its manifest so far: what a kill after this point
    must not lose (a clip's files land a moment before its manifest line)."""
    try:
        return sum(1 for e in json.loads(manifest.read_text())["artifacts"] if e["stage"] == "video")
    except (OSError, ValueError, KeyError):  # not written yet (the rename is atomic, so never half)
        return 0


@pytest.fixture
def film_file(tmp_path: Path) -> Path:
    return write_film(tmp_path / "film.yaml", small_film())


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's HF cache or the network from tests."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    if "MULTISHOT_CACHE" not in os.environ:
        monkeypatch.setenv("MULTISHOT_CACHE", str(tmp_path_factory.getbasetemp() / "multishot-cache"))


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache with the tiny random Wan pipelines built once for the session
    (backends/diffusers/tiny.py), for the tests that drive the real diffusers code."""
    from multishot.backends.diffusers import tiny

    root = tmp_path_factory.mktemp("multishot-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MULTISHOT_CACHE", str(root))
        tiny.ensure_built(root / "models" / f"tiny-v{tiny.TINY_VERSION}" / "wan_t2v")
        yield root


@pytest.fixture(scope="module")
def shared_cache():
    """One pipeline cache per test module, so a module loads each tiny pipeline once."""
    from multishot.backends.diffusers.loading import PipelineCache

    return PipelineCache()
