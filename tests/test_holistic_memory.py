"""A holistic group's memory and its cache key (issue-fixes, item 1): the key of a group's clips
names exactly the clips the group's memory is read from -- the last two clips before it, across
groups -- and nothing when the backend before it keeps no memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import small_film, write_film
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file


def _videos(result: Any) -> dict[str, dict[str, Any]]:
    entries = json.loads(result.manifest.read_text())["artifacts"]
    return {e["item"]: e for e in entries if e["stage"] == "video"}


def _three_groups() -> dict[str, Any]:
    """small_film with `lens` in a scene of its own: holistic groups [wide, mara, tomas], [both]
    and [lens] (one group per scene)."""
    data = small_film()
    lens = data["scenes"][1]["shots"].pop()
    data["scenes"][1]["shots"][0].pop("transition")
    data["scenes"].append({"id": "lamp", "location": "room", "time": "night", "shots": [lens]})
    return data


def test_memory_is_the_last_two_clips_across_groups_and_the_key_names_them_tiny(tmp_path: Path) -> None:
    """After the one-shot group [both], the group [lens] remembers `tomas` (of the first group)
    and `both`. Its key used to name only `both`; render_joint now refuses a key whose memory
    is not the memory read, so this render fails if the two disagree."""
    film = write_film(tmp_path / "film.yaml", _three_groups())
    result = render_file(film, RenderOptions(out_root=tmp_path, paradigm="holistic", profile="tiny", review=False))
    assert result.status == "complete"
    videos = _videos(result)
    assert all("memory" not in videos[s].get("info", {}) for s in ("wide", "mara", "tomas"))  # the first group
    assert videos["both"]["info"]["memory"] == ["mara", "tomas"]
    assert videos["lens"]["info"]["memory"] == ["tomas", "both"]


def test_streamed_shots_remember_the_two_shots_before_them_tiny(tmp_path: Path, film_file: Path) -> None:
    result = render_file(film_file, RenderOptions(out_root=tmp_path, paradigm="holistic", profile="tiny",
                                                  stream=True, review=False))
    assert result.status == "complete"
    videos = _videos(result)
    assert videos["mara"]["info"]["memory"] == ["wide"]
    assert [videos[s]["info"]["memory"] for s in ("tomas", "both", "lens")] == [
        ["wide", "mara"], ["mara", "tomas"], ["tomas", "both"]]


def test_a_group_after_a_backend_without_memory_keeps_its_cache_when_that_group_changes(tmp_path: Path) -> None:
    """The animatic keeps no memory (no `summarize`), so its scene-2 group reads nothing of
    scene 1: editing scene 1's last shot re-renders that group only (its key used to name
    scene 1's last clips anyway, a needless miss)."""
    data = small_film()
    film = write_film(tmp_path / "film.yaml", data)
    opts = RenderOptions(out_root=tmp_path / "out", paradigm="holistic", review=False)
    assert render_file(film, opts).status == "complete"
    data["scenes"][0]["shots"][2]["action"] = "Tomas waits by the rail"
    again = render_file(write_film(film, data), opts)
    assert again.status == "complete"
    cache = {item: e["cache"] for item, e in _videos(again).items()}
    assert cache == {"wide": "miss", "mara": "miss", "tomas": "miss", "both": "hit", "lens": "hit"}
