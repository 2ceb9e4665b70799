"""`multishot check` on real peer scripts (issue 17 item 10): the HoloCine examples, StoryMem
stories and VideoGen-of-Thought's `Mary`, converted literally (tests/peer_scripts.py) from the
held-out copies in ../shared/corpus/prompts. They open scenes on mediums and close-ups and cut to
characters first seen in their own shot: conventions broken, nothing contradicted, so warnings
(exit 0); `--strict` fails them, as a CI that wants the conventions would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from typer.testing import CliRunner

import peer_scripts
from multishot.cli.main import app
from multishot.plan.agent import check_film
from multishot.shotlist import load_film

SCRIPTS: dict[str, Callable[[], dict[str, Any]]] = {
    "holocine-1": lambda: peer_scripts.holocine(1), "holocine-2": lambda: peer_scripts.holocine(2),
    "storymem-black": lambda: peer_scripts.storymem("black"), "storymem-robot": lambda: peer_scripts.storymem("robot"),
    "vgot-mary": peer_scripts.vgot,
}

pytestmark = pytest.mark.skipif(not peer_scripts.PROMPTS.is_dir(),
                                reason=f"the held-out prompts are not at {peer_scripts.PROMPTS}")


def check(path: Path, *flags: str) -> Any:
    return CliRunner().invoke(app, ["check", str(path), "--json", *flags], env={"COLUMNS": "200"})


@pytest.mark.parametrize("name", SCRIPTS)
def test_peer_scripts_pass_check_and_fail_strict(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(SCRIPTS[name](), sort_keys=False, allow_unicode=True), encoding="utf-8")
    film = load_film(path)  # a valid shot list first
    result = check(path)
    findings = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0, findings
    assert findings and {f["severity"] for f in findings} == {"warn"}
    assert findings == [f.to_json() for f in check_film(film)]
    assert any(f["rule"] == "establishing" for f in findings)  # they do open close
    assert check(path, "--strict").exit_code == 2


def test_strict_passes_a_clean_file_and_errors_still_fail(tmp_path: Path) -> None:
    data = peer_scripts.holocine(1)
    shots = data["scenes"][0]["shots"]
    for shot in shots:
        shot["size"], shot["characters"] = "wide", ["character1", "character2"]
        shot["action"] = f"{shot['action']} character1 and character2 stand together"
    for k, shot in enumerate(shots):
        shot["size"] = ("wide", "close")[k % 2]  # no jump cuts
    clean = tmp_path / "clean.yaml"
    clean.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert check(clean).exit_code == 0 and check(clean, "--strict").exit_code == 0
    shots[1]["screen_direction"], shots[3]["screen_direction"] = "left", "right"  # the line crossed
    crossed = tmp_path / "crossed.yaml"
    crossed.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = check(crossed)
    assert result.exit_code == 2 and '"180-degree"' in result.stdout and '"error"' in result.stdout
