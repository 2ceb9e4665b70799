"""The command line on hostile and careless input (issue 17 items 3-6, 8, 11), as users run it
(a real subprocess, whose stdout and stderr are pipes, not terminals)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from conftest import ROOT, small_film, write_film
from test_cli import cli

ANIMATIC = ROOT / "multishot" / "backends" / "profiles" / "animatic.yaml"


def two_shots(**top: object) -> dict:
    """A 2-shot film that renders in well under a second on the animatic."""
    return {"multishot": 1, "title": "Two Shots", "format": {"resolution": "64x48", "fps": 4}, **top,
            "locations": {"x": {"description": "a room"}},
            "scenes": [{"id": "s", "location": "x", "shots": [{"id": "a", "duration": 1},
                                                              {"id": "b", "duration": 1}]}]}


# -- item 3: a render of a hostile file is `invalid`, not `failed` ------------------------------

def test_render_batch_reports_hostile_files_as_invalid_json_lines(tmp_path: Path) -> None:
    base = yaml.safe_dump(two_shots(), sort_keys=False)
    hostile = {
        "nan.yaml": base.replace("duration: 1\n", "duration: 1\n    transition: {type: dissolve, duration: .nan}\n", 1),
        "int.yaml": base.replace("duration: 1\n", "duration: !!int abc\n", 1),
        "alias.yaml": base.replace("title: Two Shots", "title: &t [*t]"),
        "deep.yaml": base + "logline: " + "[" * 2000 + "]" * 2000 + "\n",
        "merge.yaml": base.replace("  x:\n    description: a room", "  x: &d\n    description: a room\n  y:\n    <<: *d"),
    }
    files = []
    for name, text in hostile.items():
        (tmp_path / name).write_text(text)
        files.append(str(tmp_path / name))
    good = write_film(tmp_path / "good.yaml", two_shots())
    result = cli("render", *files, str(good), "--out", str(tmp_path / "r"), "--json", "--no-review")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["status"] for line in lines] == ["invalid"] * len(hostile) + ["complete"], lines
    for line in lines[:-1]:
        assert line["problems"] and all(p["line"] for p in line["problems"]), line


# -- item 4: the status says `complete` only after publish succeeded ----------------------------

def test_a_failed_publish_leaves_status_failed(tmp_path: Path) -> None:
    film = write_film(tmp_path / "film.yaml", two_shots())
    assert cli("render", str(film), "--out", str(tmp_path / "r"), "--no-review").returncode == 0
    folder = tmp_path / "r" / "two-shots"
    shutil.rmtree(folder / "shots")
    (folder / "shots").write_text("a file where the shots folder goes")  # publish cannot write
    again = cli("render", str(film), "--out", str(tmp_path / "r"), "--no-review")
    assert again.returncode == 1 and "Traceback" not in again.stderr, again.stderr
    assert json.loads((folder / "manifest.json").read_text())["status"] == "failed"


# -- item 5: profile and paradigm names -----------------------------------------------------------

def test_profile_files_are_found_beside_the_shot_list_and_never_outside_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "profiles").mkdir(parents=True)
    (project / "profiles" / "mine.yaml").write_text(ANIMATIC.read_text().replace("name: animatic", "name: mine"))
    inside = write_film(project / "film.yaml", two_shots(profile="profiles/mine.yaml"))
    planned = cli("plan", str(inside), "--out", str(tmp_path / "r"), cwd=tmp_path)  # not the shot list's folder
    assert planned.returncode == 0, planned.stderr
    assert str(project / "profiles" / "mine.yaml") in planned.stdout.replace("\n", "")
    (tmp_path / "outside.yaml").write_text(ANIMATIC.read_text().replace("name: animatic", "name: outside"))
    for value in ("../outside.yaml", str(tmp_path / "outside.yaml")):
        film = write_film(project / "bad.yaml", two_shots(profile=value))
        result = cli("validate", str(film), cwd=project)
        assert result.returncode == 2, result.stdout
        assert "bad.yaml:6: profile: profile file" in result.stderr and "outside the shot list's folder" in result.stderr


def test_an_alias_bomb_in_a_profile_beside_the_shot_list_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["name: evil", "a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (tmp_path / "evil.yaml").write_text("\n".join(lines) + "\n")
    film = write_film(tmp_path / "film.yaml", two_shots(profile="evil.yaml"))
    result = cli("validate", str(film))
    assert result.returncode == 2 and "profile file `evil.yaml` line 7" in result.stderr, result.stderr


def test_validate_checks_paradigm_and_profile_names_with_did_you_mean(tmp_path: Path) -> None:
    film = write_film(tmp_path / "film.yaml", two_shots(paradigm="keyfram", profile="animatc"))
    result = cli("validate", str(film), "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    found = {(p["line"], p["field"]): p["message"] for p in report["problems"]}
    assert "did you mean `keyframe`?" in found[(6, "paradigm")]
    assert "did you mean `animatic`?" in found[(7, "profile")]


# -- item 6: nothing from the input reaches the terminal raw or adds lines ------------------------

def test_escape_sequences_in_a_shot_list_never_reach_the_output(tmp_path: Path) -> None:
    data = two_shots(title="Dusk\x1b[31m red")
    data["scenes"][0]["time"] = "dusk\x1b[2J\x07"
    film = write_film(tmp_path / "film.yaml", data)
    bad = two_shots()
    bad["scenes"][0]["sh\x1bots"] = 1
    bad_file = write_film(tmp_path / "bad.yaml", bad)
    for args in (("validate", str(film)), ("plan", str(film), "--out", str(tmp_path / "r")), ("validate", str(bad_file))):
        result = cli(*args)
        assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout + result.stderr, args
        assert "Traceback" not in result.stderr
    assert "\\x1b" in cli("validate", str(bad_file)).stderr  # shown escaped, not dropped


def test_a_title_with_newlines_adds_no_edl_events_and_a_file_name_no_yaml_lines(tmp_path: Path) -> None:
    film = write_film(tmp_path / "film.yaml", two_shots(title="Two\n001  AX  V  C  00:00:00:00 00:00:09:00"))
    assert cli("render", str(film), "--out", str(tmp_path / "r"), "--no-review").returncode == 0
    (folder,) = (tmp_path / "r").iterdir()
    result = cli("export", str(folder), "-f", "edl", "-o", str(tmp_path / "film.edl"))
    assert result.returncode == 0, result.stderr
    edl = (tmp_path / "film.edl").read_text().splitlines()
    assert [line[:3] for line in edl if line[:3].isdigit()] == ["001", "002"], edl  # one event per shot
    screenplay = tmp_path / "a\nmultishot: 2\nb.fountain"
    screenplay.write_text("INT. ROOM - DAY\n\nMara waits.\n")
    imported = cli("import", str(screenplay), "-o", "-")
    assert imported.returncode == 0, imported.stderr
    header = imported.stdout.split("\nmultishot: 1\n")[0]
    assert all(line.startswith("#") or not line for line in header.splitlines()), header


# -- item 8: strictness of the render-folder commands --------------------------------------------

def test_damaged_manifests_are_sentences_for_eval_export_and_open(tmp_path: Path) -> None:
    film = write_film(tmp_path / "film.yaml", two_shots())
    assert cli("render", str(film), "--out", str(tmp_path / "r"), "--no-review").returncode == 0
    folder = tmp_path / "r" / "two-shots"
    manifest = (folder / "manifest.json").read_text()
    for damage, words in ((manifest[:100], "not valid JSON"), ("[1, 2]", "not a multishot manifest"),
                          (json.dumps({**json.loads(manifest), "fps": "a"}), "fps"),
                          (json.dumps({**json.loads(manifest), "shots": [{"id": "../x", "frames": 4}]}), "shots[0]")):
        (folder / "manifest.json").write_text(damage)
        for args in (("eval", str(folder)), ("export", str(folder)), ("open", str(folder), "--no-browser")):
            result = cli(*args)
            assert result.returncode == 2 and "Traceback" not in result.stderr, (args, result.stderr)
            assert "manifest.json" in result.stderr and words in result.stderr, (args, result.stderr)


def test_export_partial_render_is_refused_unless_asked_and_o_dir_writes_inside(tmp_path: Path) -> None:
    film = write_film(tmp_path / "film.yaml", two_shots())
    assert cli("render", str(film), "--out", str(tmp_path / "r"), "--only", "a", "--no-review").returncode == 0
    folder = tmp_path / "r" / "two-shots"
    refused = cli("export", str(folder))
    assert refused.returncode == 2 and "partial render" in refused.stderr and "b" in refused.stderr
    assert not (folder / "timeline.otio").exists()
    anyway = cli("export", str(folder), "--partial", "-o", str(tmp_path))
    assert anyway.returncode == 0 and "missing clip" in anyway.stderr, anyway.stderr
    assert (tmp_path / "timeline.otio").is_file() and not list(tmp_path.glob(".*.tmp"))


def test_eval_accepts_the_shot_list_as_export_and_open_do(tmp_path: Path) -> None:
    film = write_film(tmp_path / "film.yaml", two_shots())
    assert cli("render", str(film), "--out", str(tmp_path / "r"), "--no-review").returncode == 0
    result = cli("eval", str(film), "--out", str(tmp_path / "r"), "--json")
    assert result.returncode == 0, result.stderr
    assert "cut_recall" in json.loads(result.stdout) or json.loads(result.stdout)


def test_help_texts_keep_angle_bracket_placeholders() -> None:
    """Every `<title>`/`<ext>`-style placeholder written in a command's help survives rich's
    markdown rendering (it read them as HTML tags and dropped them)."""
    import re

    import typer
    from typer.testing import CliRunner

    from multishot.cli.main import app

    def walk(command, path):  # type: ignore[no-untyped-def]
        yield path, command
        for name, sub in (getattr(command, "commands", None) or {}).items():
            yield from walk(sub, [*path, name])

    checked = 0
    for path, command in walk(typer.main.get_command(app), []):
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        words = {w for t in texts for w in re.findall(r"<[A-Za-z_.-]+>", t)}
        if words:
            shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "300"}).output
            assert all(w in shown for w in words), (path, words, shown)
            checked += 1
    assert checked >= 3  # export, open, eval


def test_models_download_offline_does_not_tell_you_to_run_itself(tmp_path: Path) -> None:
    result = cli("models", "download", "wan-2.1-1.3b", env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "HF_HUB_OFFLINE is set" in result.stderr and "Fetch it once with" not in result.stderr
    assert "can only check the cache" in result.stderr


def test_a_render_refused_for_a_missing_model_leaves_no_failed_folder(tmp_path: Path) -> None:
    film = write_film(tmp_path / "film.yaml", two_shots())
    result = cli("render", str(film), "--profile", "wan-2.1-1.3b", "--out", str(tmp_path / "r"),
                 env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert result.returncode == 2 and "not available on this machine" in result.stderr, result.stderr
    assert not (tmp_path / "r" / "two-shots").exists()


# -- item 11: shell- and CI-friendly output ------------------------------------------------------

def test_problems_are_one_unwrapped_line_each_when_not_a_terminal(tmp_path: Path) -> None:
    data = small_film()
    data["scenes"][0]["shots"][0]["durration"] = 3
    data["scenes"][1]["location"] = "the-cliffs-at-dusk-over-a-grey-sea"
    bad = write_film(tmp_path / "bad.yaml", data)
    for command in ("validate", "check"):
        result = cli(command, str(bad), env={"COLUMNS": ""})
        assert result.returncode == 2
        lines = result.stderr.splitlines()
        assert len(lines) == 2, lines
        assert all(line.startswith(f"{bad}:") for line in lines), lines
        assert any(":28: scenes[0].shots[0].durration: unknown key" in line for line in lines), lines
        assert any(len(line) > 100 and "unknown location" in line for line in lines), lines


def test_check_json_on_an_invalid_shot_list(tmp_path: Path) -> None:
    data = small_film()
    data["scenes"][0]["shots"][0]["durration"] = 3
    bad = write_film(tmp_path / "bad.yaml", data)
    result = cli("check", str(bad), "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["status"] == "invalid" and report["problems"][0]["field"] == "scenes[0].shots[0].durration"


def test_check_findings_are_one_line_each_with_the_shots_line_when_not_a_terminal(tmp_path: Path) -> None:
    film = write_film(tmp_path / "film.yaml", two_shots())  # opens on a medium shot: a finding
    result = cli("check", str(film), env={"COLUMNS": ""})
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    shot_a_line = film.read_text().splitlines().index("  - id: a") + 1
    assert any(line.startswith(f"{film}:{shot_a_line}: scenes[0].shots[0]: ") and "[establishing]" in line
               for line in lines), lines
    assert all(line.startswith(f"{film}:") for line in lines), lines
