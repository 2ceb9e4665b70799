"""The command line as users run it (a real subprocess): exit codes, batch, --json, init."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, small_film, write_film


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(env or {})}
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
    # A real failure mid-render: the encoder dies on the first clip.
    result = cli("render", str(film_file), "--out", str(tmp_path / "r"), env={"MULTISHOT_FFMPEG": "/bin/false"})
    assert result.returncode == 1
    assert "render failed" in result.stderr and "Traceback" not in result.stderr


def test_unusable_output_folder_is_invalid_input_before_any_work(tmp_path: Path, film_file: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    result = cli("render", str(film_file), "--out", str(blocker), "--json")
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)["status"] == "invalid"
    assert "cannot write the render into" in result.stderr and "--out" in result.stderr
    assert "resume" not in result.stderr and "Traceback" not in result.stderr


def test_two_films_of_one_batch_never_share_a_folder(tmp_path: Path, film_file: Path) -> None:
    """Titles that sanitise alike would overwrite each other's film: the second is refused."""
    other = small_film()
    other["title"] = "small  FILM!"  # the same folder name as "Small Film"
    other["scenes"][0]["shots"] = other["scenes"][0]["shots"][:1]
    second = write_film(tmp_path / "second.yaml", other)
    result = cli("render", str(film_file), str(second), str(film_file), "--out", str(tmp_path / "r"), "--json")
    assert result.returncode == 2, result.stderr
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [l["status"] for l in lines] == ["complete", "invalid", "complete"]  # the same file twice is fine
    assert "both render into" in result.stderr and "Traceback" not in result.stderr
    manifest = json.loads((tmp_path / "r" / "small-film" / "manifest.json").read_text())
    assert manifest["source"] == str(film_file.resolve()) and len(manifest["shots"]) == 5


def test_only_with_an_unknown_shot_is_invalid_input(tmp_path: Path, film_file: Path) -> None:
    for paradigm in ("stitching", "agent+keyframe"):
        result = cli("render", str(film_file), "--out", str(tmp_path / "r"), "-p", paradigm,
                     "--only", "wde", "--only", "mara")
        assert result.returncode == 2, result.stderr
        assert "`wde` (did you mean `wide`?)" in result.stderr and "Traceback" not in result.stderr
        assert "`mara`" not in result.stderr.split("its shots are")[0]  # a real shot id is no error
    assert not (tmp_path / "r" / "small-film" / "film.mp4").exists()


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


def test_plan_shows_the_plan_the_paradigm_renders(tmp_path: Path) -> None:
    """`plan -p transition` used to print the shot list's cuts while the render dissolves, and
    `plan -p agent` the shots before the roles revised them."""
    data = small_film()
    for scene in data["scenes"]:
        for shot in scene["shots"]:
            shot.pop("transition", None)
    film = write_film(tmp_path / "f.yaml", data)
    stitched = cli("plan", str(film), "--out", str(tmp_path / "r"))
    graded = cli("plan", str(film), "-p", "transition", "--out", str(tmp_path / "r"))
    assert stitched.returncode == graded.returncode == 0
    assert "fade 1s" not in stitched.stdout
    assert "fade 1s" in graded.stdout and "time jump dusk → night" in graded.stdout  # tomas → both
    assert "72 frames" in stitched.stdout and "64 frames" in graded.stdout  # the fade takes 8
    revised = cli("plan", str(write_film(tmp_path / "one.yaml", {**small_film(), "scenes": [
        {"id": "inside", "location": "room", "shots": [{"id": "lens", "size": "close", "duration": 1}]}]})),
        "-p", "agent", "--out", str(tmp_path / "r"))
    assert revised.returncode == 0
    rows = [line for line in revised.stdout.splitlines() if line.startswith("│ ") and line[2].isdigit()]
    assert len(rows) >= 2 and "lens" in revised.stdout  # the roles added an establishing shot
    assert f"{len(rows)} shots" in revised.stdout


def test_eval_and_render_refuse_missing_things_in_a_sentence(tmp_path: Path, film_file: Path) -> None:
    missing = cli("eval", str(tmp_path / "renders" / "typo"))
    assert missing.returncode == 2 and "typo does not exist" in missing.stderr and "Traceback" not in missing.stderr
    no_film = cli("render", str(film_file), "--out", str(tmp_path / "r"), "--only", "wide")
    assert no_film.returncode == 0
    unfinished = cli("eval", str(tmp_path / "r" / "small-film"))
    assert unfinished.returncode == 2 and "not finished" in unfinished.stderr
    bad_profile = cli("render", str(film_file), "--profile", "no-such-profile", "--out", str(tmp_path / "p"))
    assert bad_profile.returncode == 2 and not (tmp_path / "p").exists()  # refused before any folder


def test_an_unwritable_output_file_is_a_sentence_not_a_traceback(tmp_path: Path, film_file: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where a folder should be")
    fountain = tmp_path / "s.fountain"
    fountain.write_text("INT. ROOM - DAY\n\nMara waits.\n")
    assert cli("render", str(film_file), "--out", str(tmp_path / "r")).returncode == 0
    for args in (("init", str(blocker / "film.yaml")),
                 ("import", str(fountain), "-o", str(blocker / "film.yaml")),
                 ("direct", "A keeper gets a letter", "-o", str(blocker / "film.yaml")),
                 ("export", str(tmp_path / "r" / "small-film"), "-o", str(blocker / "t.otio"))):
        result = cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "error: cannot use" in result.stderr and "a-file" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
