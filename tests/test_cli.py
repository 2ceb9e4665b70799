"""The command line as users run it (a real subprocess): exit codes, batch, --json, init."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, small_film, write_film


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "multishot.cli.main", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_version_and_help() -> None:
    assert cli("--version").stdout.startswith("multishot ")
    helped = cli("render", "--help")
    assert helped.returncode == 0 and "--paradigm" in helped.stdout and "--only" in helped.stdout


def test_validate_ok_and_invalid(tmp_path: Path, film_file: Path) -> None:
    ok = cli("validate", str(film_file))
    assert ok.returncode == 0 and "5 shots" in ok.stdout
    data = small_film()
    data["scenes"][0]["shots"][0]["durration"] = 3
    bad = write_film(tmp_path / "bad.yaml", data)
    result = cli("validate", str(bad))
    assert result.returncode == 2
    assert "unknown key `durration`; did you mean `duration`?" in result.stderr
    assert "Traceback" not in result.stderr


def test_render_batch_json_lines(tmp_path: Path, film_file: Path) -> None:
    other = small_film()
    other["title"] = "Second Film"
    second = write_film(tmp_path / "second.yaml", other)
    result = cli("render", str(film_file), str(second), "--out", str(tmp_path / "r"), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [l["title"] for l in lines] == ["Small Film", "Second Film"]
    assert all(l["status"] == "complete" and Path(l["film"]).is_file() for l in lines)


def test_batch_continues_after_invalid_file_and_exits_2(tmp_path: Path, film_file: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("multishot: 1\ntitle: x\nscenes: []\n")
    result = cli("render", str(bad), str(film_file), "--out", str(tmp_path / "r"), "--json")
    assert result.returncode == 2
    statuses = [json.loads(line)["status"] for line in result.stdout.strip().splitlines()]
    assert statuses == ["invalid", "complete"]


def test_unknown_paradigm_and_profile_are_invalid_input(tmp_path: Path, film_file: Path) -> None:
    result = cli("render", str(film_file), "--paradigm", "montage", "--out", str(tmp_path))
    assert result.returncode == 2 and "unknown paradigm `montage`" in result.stderr
    result = cli("render", str(film_file), "--profile", "no-such-profile", "--out", str(tmp_path))
    assert result.returncode == 2 and "no-such-profile" in result.stderr and "Traceback" not in result.stderr


def test_failure_while_rendering_exits_1_without_traceback(tmp_path: Path, film_file: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    result = cli("render", str(film_file), "--out", str(blocker))
    assert result.returncode == 1
    assert "render failed" in result.stderr and "Traceback" not in result.stderr


def test_init_writes_a_starter_that_renders(tmp_path: Path) -> None:
    target = tmp_path / "starter.yaml"
    assert cli("init", str(target)).returncode == 0
    assert "#" in target.read_text()  # commented
    assert cli("init", str(target)).returncode == 2  # no silent overwrite
    assert cli("validate", str(target)).returncode == 0
    planned = cli("plan", str(target), "--out", str(tmp_path / "r"))
    assert planned.returncode == 0 and "stage graph" in planned.stdout and "to render" in planned.stdout


def test_plan_shows_cached_after_render(tmp_path: Path, film_file: Path) -> None:
    assert cli("render", str(film_file), "--out", str(tmp_path / "r")).returncode == 0
    planned = cli("plan", str(film_file), "--out", str(tmp_path / "r"))
    assert "video:cached" in planned.stdout and "to render" not in planned.stdout
