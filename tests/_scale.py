"""Shared by the executor tests: in-process reference films (rendered once per test session,
through the CLI as users run it) and small helpers for real worker processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "shotlists" / "lighthouse.yaml"
MULTISHOT = [sys.executable, "-m", "multishot.cli.main"]
_FILMS: dict[tuple[str, ...], Path] = {}


def render(shotlist: Path, out: Path, *args: str, env: dict[str, str] | None = None,
           timeout: float = 600) -> tuple[dict, subprocess.CompletedProcess[str]]:
    run = subprocess.run([*MULTISHOT, "render", str(shotlist), "--out", str(out), "--no-review", "--json", *args],
                         capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), run


def in_process_film(factory: pytest.TempPathFactory, shotlist: Path, profile: str, paradigm: str,
                    *args: str) -> Path:
    """The film the default executor makes: the reference every scaled-out render must equal."""
    key = (str(shotlist), profile, paradigm, *args)
    if key not in _FILMS:
        out = factory.mktemp(f"in-process-{profile}-{paradigm}")
        summary, run = render(shotlist, out, "--profile", profile, "--paradigm", paradigm, *args)
        assert run.returncode == 0, run.stderr
        _FILMS[key] = Path(summary["film"])
    return _FILMS[key]


def worker_line(log_dir: Path, needle: str, timeout: float = 120) -> str:
    """The first worker-log line containing `needle` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for log in sorted(log_dir.glob("*.log")) if log_dir.exists() else []:
            for line in log.read_text(errors="replace").splitlines():
                if needle in line:
                    return line
        time.sleep(0.05)
    raise AssertionError(f"no worker log line with {needle!r} in {log_dir}")


def worker_pids(log_dir: Path) -> set[int]:
    pids = set()
    for log in log_dir.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if " pid " in line:
                pids.add(int(line.split(" pid ")[1].split(":")[0]))
    return pids


def alive(pid: int) -> bool:
    """A process that still runs (a zombie awaiting its reaper does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
