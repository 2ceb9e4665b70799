"""Joint groups (holistic, CineTrans): what a group remembers and what its clips record.

Issue-fixes item 1: the key of a group's clips names exactly the clips the group's memory is
read from -- the last two clips before it, across groups -- and nothing when the backend before
it keeps no memory. Item 3: a joint clip's manifest `seconds` is its share of the generation
that made it, not just the time to file it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

from conftest import small_film, write_film
from multishot.backends.registry import get_backend
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.post.manifest_record import ArtifactEntry


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


class SlowJoint:
    """The animatic, with a joint generation that takes a known time (a model's would take
    minutes): every other call is the animatic's own."""

    SECONDS = 0.6

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.name, self.capabilities = inner.name, inner.capabilities

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def joint_shots(self, reqs: Sequence[Any], memory: Any = None) -> list[list[Any]]:
        time.sleep(self.SECONDS)
        return self._inner.joint_shots(reqs, memory)


def test_a_joint_clip_records_its_share_of_the_generation(tmp_path: Path, film_file: Path) -> None:
    slow = SlowJoint(get_backend("animatic"))
    result = render_file(film_file, RenderOptions(out_root=tmp_path, paradigm="holistic", review=False),
                         pool=lambda profile: slow)
    assert result.status == "complete"
    raw = _videos(result)
    groups = {"wide": ("wide", "mara", "tomas"), "mara": ("wide", "mara", "tomas"), "tomas": ("wide", "mara", "tomas"),
              "both": ("both", "lens"), "lens": ("both", "lens")}
    # each group's generation slept SECONDS: its shots' seconds used to be only the filing (~ms)
    assert all(sum(raw[i]["seconds"] for i in g) >= SlowJoint.SECONDS for g in set(groups.values())), raw
    videos = {item: ArtifactEntry.from_json(e) for item, e in raw.items()}
    for item, entry in videos.items():
        assert entry.cache == "miss" and entry.group == groups[item]
        assert entry.group_seconds is not None and entry.group_seconds >= SlowJoint.SECONDS
        # its even share of the generation (plus the moment it took to file it), not the filing alone
        assert entry.group_seconds / len(entry.group) <= entry.seconds < entry.group_seconds / len(entry.group) + 0.5
    for group in set(groups.values()):  # the shares add up to the generation, counted once
        total = sum(videos[i].seconds for i in group)
        assert videos[group[0]].group_seconds <= total < videos[group[0]].group_seconds + 0.5
    # a cached clip was not made by this render: no share, no group
    again = render_file(film_file, RenderOptions(out_root=tmp_path, paradigm="holistic", review=False),
                        pool=lambda profile: slow)
    assert all(e["cache"] == "hit" and e["seconds"] == 0 and "group" not in e for e in _videos(again).values())


def test_manifest_entries_without_group_fields_still_read() -> None:
    old = ArtifactEntry.from_json({"stage": "video", "item": "a", "path": ".cache/video/k", "seconds": 1.5})
    assert old.group == () and old.group_seconds is None and old.seconds == 1.5
