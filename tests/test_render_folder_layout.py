"""The typed render folder (post/render_folder.py) names the files a real render writes."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import small_film, write_film
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.post.render_folder import RenderFolder, keyframe_name, shot_name


def test_a_render_writes_what_the_render_folder_names(tmp_path: Path) -> None:
    source = write_film(tmp_path / "film.yaml", small_film())
    result = render_file(source, RenderOptions(out_root=tmp_path / "renders", paradigm="keyframe"))
    assert result.status == "complete"
    folder = RenderFolder(result.out_dir)
    assert folder.is_render() and folder.manifest == result.manifest
    for path in (folder.film, folder.timeline, folder.report, folder.contact_sheet, folder.cache):
        assert path.exists(), path
    manifest = json.loads(folder.manifest.read_text())
    for shot in manifest["shots"]:
        assert folder.shot(shot["id"]).is_file()
        assert folder.keyframe(shot["id"], "first").is_file() and folder.keyframe(shot["id"], "last").is_file()
        assert manifest["outputs"][f"shot:{shot['id']}"] == shot_name(shot["id"]).as_posix()
    assert keyframe_name("a", "first").as_posix() == "keyframes/a_first.png"
    assert not RenderFolder(tmp_path).is_render()
