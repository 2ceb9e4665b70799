"""manifest.json read into typed records (post/manifest_record.py): the same answers from the
records as from the JSON, for the consumers that read them."""

from __future__ import annotations

import json
from pathlib import Path

import opentimelineio as otio
import pytest

from conftest import small_film, write_film
from multishot.evaluate.render import planned_timeline
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.post.manifest_record import RenderManifest, as_manifest
from multishot.post.otio import build_timeline, film_starts, place_shots


def test_records_of_a_real_render(tmp_path: Path) -> None:
    source = write_film(tmp_path / "film.yaml", small_film())
    result = render_file(source, RenderOptions(out_root=tmp_path / "renders"))
    data = json.loads(result.manifest.read_text())
    record = RenderManifest.from_json(data)
    assert as_manifest(record) is record
    assert record.fps == data["fps"] and record.frames == data["frames"] and record.status == "complete"
    assert [s.id for s in record.shots] == [s["id"] for s in data["shots"]]
    assert [s.transition.type for s in record.shots] == [s["transition"]["type"] for s in data["shots"]]
    assert {a.stage for a in record.artifacts} == {a["stage"] for a in data["artifacts"]}
    assert record.outputs["film"] == data["outputs"]["film"]
    assert "events" in record.extra  # header fields it has no record for are kept, not dropped
    assert record.clock().total == data["frames"]
    assert place_shots(record) == place_shots(data)
    assert film_starts(record) == film_starts(data)
    assert planned_timeline(record) == planned_timeline(data)
    typed, plain = build_timeline(record), build_timeline(data)
    assert otio.adapters.write_to_string(typed, "otio_json") == otio.adapters.write_to_string(plain, "otio_json")


def test_a_damaged_manifest_fails_when_read() -> None:
    with pytest.raises((KeyError, ValueError, TypeError)):
        RenderManifest.from_json({"fps": 16, "shots": [{"id": "a", "frames": "many"}]})
