"""The review page (report.html) and contact sheet of a real render, opened in headless
Chromium: it loads with no console errors, every image and the film resolve, and a screenshot
is taken. The browser tests skip only when /usr/bin/chromium is absent (Debian: `apt-get
install chromium`); the page's content is checked without a browser too."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, small_film, write_film
from multishot.evaluate.report import (CONTACT_SHEET_NAME, REPORT_NAME, SEAM_FLAG_RATIO, load_metrics,
                                       render_report, seam_views, write_contact_sheet, write_report,
                                       write_review)
from multishot.evaluate.render import evaluate_render, write_metrics
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless Chromium not installed at /usr/bin/chromium (Debian: apt-get install -y chromium)")

#: Injected at the top of <head> of a copy of the page (the page itself ships no test code):
#: records script errors, console.error calls, failed resources and rejected promises, then,
#: once the page has loaded and the video has its metadata (or failed), writes the results into
#: <body data-check=…> for --dump-dom to return.
CHECK_SCRIPT = """<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) errors.push('resource failed: ' + t.tagName + ' ' + (t.currentSrc || t.src));
    else errors.push('script error: ' + e.message);
  }, true);
  window.addEventListener('unhandledrejection', function (e) { errors.push('unhandled rejection: ' + e.reason); });
  var original = console.error;
  console.error = function () { errors.push('console.error: ' + [].join.call(arguments, ' ')); original.apply(console, arguments); };
  window.addEventListener('load', function () {
    var video = document.querySelector('video');
    var done = false;
    function finish() {
      if (done) return; done = true;
      var images = [].map.call(document.images, function (img) {
        return {src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0};
      });
      document.body.setAttribute('data-check', JSON.stringify({
        errors: errors, images: images,
        video: video ? {src: video.getAttribute('src'), readyState: video.readyState,
                        width: video.videoWidth, duration: video.duration,
                        error: video.error ? video.error.code : null} : null}));
    }
    if (!video || video.readyState >= 1) finish();
    else {
      video.addEventListener('loadedmetadata', finish);
      video.addEventListener('error', finish);
      setTimeout(finish, 8000);
    }
  });
})();
</script>"""

BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                "--mute-audio", "--enable-logging=stderr", "--v=0"]


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"chromium-profile-{len(list(tmp.glob('chromium-profile-*')))}"
    return subprocess.run([str(CHROMIUM), *BROWSER_ARGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=90)


def check_page(page: Path, tmp: Path) -> tuple[dict[str, Any], list[str]]:
    """Open a copy of `page` (same folder, so relative paths resolve) with the check script;
    return (what the page saw, console lines Chromium logged as uncaught errors)."""
    source = page.read_text(encoding="utf-8")
    assert "<head>" in source
    probe_page = page.with_name(f".check-{page.name}")
    probe_page.write_text(source.replace("<head>", "<head>" + CHECK_SCRIPT, 1), encoding="utf-8")
    try:
        done = chromium(tmp, "--virtual-time-budget=15000", "--dump-dom", probe_page.resolve().as_uri())
    finally:
        probe_page.unlink()
    match = re.search(r'data-check="([^"]*)"', done.stdout)
    assert match, f"the check script did not report (chromium rc={done.returncode}):\n{done.stderr[-3000:]}"
    uncaught = [line for line in done.stderr.splitlines() if "CONSOLE" in line and "Uncaught" in line]
    return json.loads(html.unescape(match.group(1))), uncaught


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("report")
    data = small_film()
    data["scenes"][0]["shots"][1]["action"] = 'Mara climbs <script>alert("x")</script> & "quotes"'
    source = write_film(root / "film.yaml", data)
    result = render_file(source, RenderOptions(out_root=root / "renders"))
    manifest = json.loads(result.manifest.read_text())
    write_metrics(result.out_dir, evaluate_render(result.out_dir))  # what `multishot eval` does
    write_review(result.out_dir, manifest)  # picks metrics.json up
    return result.out_dir, manifest


@needs_chromium
def test_page_loads_cleanly_in_chromium(render: tuple[Path, dict], tmp_path: Path) -> None:
    out_dir, manifest = render
    seen, uncaught = check_page(out_dir / REPORT_NAME, tmp_path)
    assert seen["errors"] == [] and uncaught == [], (seen["errors"], uncaught)
    sources = [img["src"] for img in seen["images"]]
    expected = [f"keyframes/{s['id']}_{w}.png" for s in manifest["shots"] for w in ("first", "last")]
    assert sources == expected + [CONTACT_SHEET_NAME]
    assert all(img["ok"] for img in seen["images"]), [img for img in seen["images"] if not img["ok"]]
    video = seen["video"]
    assert video["src"] == "film.mp4" and video["error"] is None
    assert video["readyState"] >= 1 and video["width"] == 160
    assert abs(video["duration"] - manifest["frames"] / manifest["fps"]) < 0.2


@needs_chromium
def test_the_check_catches_missing_media(render: tuple[Path, dict], tmp_path: Path) -> None:
    """The same page away from its media: every image and the video are reported broken."""
    out_dir, _ = render
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(out_dir / REPORT_NAME, moved / REPORT_NAME)
    seen, _ = check_page(moved / REPORT_NAME, tmp_path)
    assert seen["images"] and not any(img["ok"] for img in seen["images"])
    assert seen["video"]["readyState"] == 0
    assert any("resource failed: IMG" in e for e in seen["errors"])


@needs_chromium
def test_screenshot(render: tuple[Path, dict], tmp_path: Path) -> None:
    out_dir, _ = render
    shot = tmp_path / "report.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000",
                    "--virtual-time-budget=5000", (out_dir / REPORT_NAME).resolve().as_uri())
    assert shot.is_file(), done.stderr[-3000:]
    with Image.open(shot) as img:
        assert img.size == (1280, 2000)
        pixels = np.asarray(img.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3)[::7], axis=0)) > 200  # a page, not a blank or error screen
    if os.environ.get("MULTISHOT_SCREENSHOTS"):  # keep it, e.g. as a CI artifact
        target = Path(os.environ["MULTISHOT_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target / "report.png")


def test_page_content(render: tuple[Path, dict]) -> None:
    out_dir, manifest = render
    page = (out_dir / REPORT_NAME).read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert not re.search(r"(src|href)=['\"](https?:)?//", page), "the page must need no network"
    for shot in manifest["shots"]:
        card = page[page.index(f'id="shot-{shot["id"]}"'):]
        card = card[:card.index("</article>")]
        assert f"keyframes/{shot['id']}_first.png" in card and f"keyframes/{shot['id']}_last.png" in card
        assert html.escape(shot["prompt"], quote=True) in card
        assert f"<dd>{shot['seed']}</dd>" in card and f"<dd>{shot['profile']}</dd>" in card
        assert f"{shot['frames']} frames" in card
        assert ("hit" in card) or ("miss" in card)
    assert "cut precision" in page and "seam colour jump" in page
    assert "character consistency" in page  # from the boxes `multishot eval` reads
    assert page.count("<article") == len(manifest["shots"])


def test_page_shows_the_identity_metric(render: tuple[Path, dict]) -> None:
    """metrics.json's identity rows (evaluate/identity.py) are on the page: the film's margin and
    one row per character with its same / other scores (no browser needed)."""
    out_dir, _ = render
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["identity"], "the fixture film shows characters: the metric has rows"
    page = (out_dir / REPORT_NAME).read_text(encoding="utf-8")
    summary = page[page.index("<table class='summary'>"):]
    summary = summary[:summary.index("</table>")]
    assert f"<td>identity margin</td><td>{metrics['identity_margin']:.3f}</td>" in summary
    for ch in metrics["identity"]:
        row = summary[summary.index(f"<td>· identity {ch['char_id']}</td>"):]
        row = row[:row.index("</tr>")]
        assert f"<td>{ch['margin']:.3f}</td>" in row
        assert f"same {ch['same']:.3f}" in row and f"other {ch['other']:.3f}" in row
        assert f"{len(ch['shots'])} shots: {', '.join(ch['shots'])}" in row
        assert ("boxes" if ch["boxed"] else "whole keyframes") in row


def test_contact_sheet(render: tuple[Path, dict]) -> None:
    out_dir, manifest = render
    with Image.open(out_dir / CONTACT_SHEET_NAME) as img:
        sheet = np.asarray(img.convert("RGB"))
    # 5 shots, 4 per row: 2 rows of first/last pairs of 160x96 keyframes
    assert sheet.shape[1] >= 4 * (2 * 160) and sheet.shape[0] >= 2 * 96
    with Image.open(out_dir / "keyframes" / "wide_first.png") as first:
        key = np.asarray(first.convert("RGB")).astype(np.int16)
    top_left = sheet[46:46 + 96, 12:12 + 160].astype(np.int16)  # title bar 34 + padding 12
    assert np.abs(top_left - key).mean() < 8


def seam_manifest(ratios: list[float | None], scenes: list[str]) -> tuple[dict, dict]:
    shots = [{"id": f"s{i}", "scene": scene, "frames": 16, "transition": {"type": "cut", "duration": 0}}
             for i, scene in enumerate(scenes)]
    metrics = {"seams": [{"shot_out": f"s{i}", "shot_in": f"s{i + 1}", "colour_ratio": r, "structure_ratio": 9.0}
                         for i, r in enumerate(ratios) if r is not None]}
    return {"title": "t", "fps": 8, "resolution": "64x32", "shots": shots}, metrics


def test_seam_flags() -> None:
    manifest, metrics = seam_manifest([1.2, 1.5, 9.0, 40.0, 1.1], ["a", "a", "a", "a", "b", "b"])
    views = seam_views(manifest, metrics)
    assert [v.flagged for v in views] == [False, False, True, False, False]  # 40× is a new scene
    assert "9.0×" in views[2].reasons[0]
    # everything jumps (shots that barely move): nothing stands out, nothing is flagged
    manifest, metrics = seam_manifest([20.0, 25.0, 22.0], ["a"] * 4)
    assert not any(v.flagged for v in seam_views(manifest, metrics))
    # a lone in-scene seam is judged by the absolute threshold alone
    manifest, metrics = seam_manifest([SEAM_FLAG_RATIO + 0.5], ["a", "a"])
    assert seam_views(manifest, metrics)[0].flagged
    assert not any(v.flagged for v in seam_views(manifest, None))


def test_partial_render_page(tmp_path: Path) -> None:
    """No film yet, one keyframe missing: the page says so instead of showing broken media."""
    manifest = {"title": "Partial", "fps": 8, "resolution": "64x32", "status": "partial", "shots": [
        {"id": "a", "scene": "x", "frames": 16, "prompt": "p", "transition": {"type": "cut", "duration": 0}},
        {"id": "b", "scene": "x", "frames": 16, "prompt": "q", "transition": {"type": "cut", "duration": 0}}]}
    (tmp_path / "keyframes").mkdir()
    for which in ("first", "last"):
        Image.new("RGB", (64, 32), (200, 40, 40)).save(tmp_path / "keyframes" / f"a_{which}.png")
    write_contact_sheet(tmp_path, manifest)
    page = write_report(tmp_path, manifest, None).read_text()
    assert "<video" not in page and "not assembled yet" in page
    assert "no first keyframe" in page and "keyframes/a_first.png" in page
    assert "No metrics for this render" in page
    assert load_metrics(tmp_path) is None
    assert render_report(tmp_path, manifest) == page


def test_cli_open_prints_where_things_are(render: tuple[Path, dict], tmp_path: Path) -> None:
    out_dir, _ = render
    copy = tmp_path / "copy"
    shutil.copytree(out_dir, copy, ignore=shutil.ignore_patterns(".cache", REPORT_NAME))
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-m", "multishot.cli.main", "open", str(copy)], capture_output=True,
                          text=True, timeout=120, env={**env, "PYTHONPATH": str(ROOT), "COLUMNS": "250"})
    assert done.returncode == 0, done.stderr
    assert (copy / REPORT_NAME).is_file()  # an older render gets its page written
    for name in ("film.mp4", REPORT_NAME, CONTACT_SHEET_NAME, "timeline.otio", "manifest.json"):
        assert str(copy / name) in done.stdout
    assert "5 of 5 shot clips" in done.stdout and "opened" not in done.stdout
    assert (copy / REPORT_NAME).resolve().as_uri() in done.stdout
    bad = subprocess.run([sys.executable, "-m", "multishot.cli.main", "open", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=120, env={**env, "PYTHONPATH": str(ROOT)})
    assert bad.returncode == 2
