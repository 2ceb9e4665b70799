"""Assembly with the real ffmpeg binary: every transition type has its exact length, the film is
H.264 yuv420p with faststart, and frames on each side of a seam come from the right shot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from multishot.post.assemble import Clip, Seam, assemble, film_length
from multishot.post.ffmpeg import probe, read_video, write_video
from multishot.post.smoothing import apply_colour_match, fit_colour_match
from multishot.post.transitions import BLENDS, transition_frames
from multishot.shotlist.schema import TRANSITIONS

W, H, FPS = 64, 48, 16


def solid_clip(path: Path, colour: tuple[int, int, int], n: int) -> Clip:
    frames = [np.full((H, W, 3), colour, np.uint8) for _ in range(n)]
    write_video(path, frames, W, H, FPS)
    return Clip(path, n)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Clip]:
    root = tmp_path_factory.mktemp("clips")
    return [solid_clip(root / "red.mp4", (200, 30, 30), 24),
            solid_clip(root / "blue.mp4", (30, 30, 200), 20),
            solid_clip(root / "green.mp4", (30, 200, 30), 16)]


def test_every_language_transition_has_a_renderer() -> None:
    for kind in TRANSITIONS:
        assert kind in BLENDS or kind in ("cut", "match-cut"), kind


@pytest.mark.parametrize("kind", sorted(BLENDS))
def test_transition_length_and_film_facts(tmp_path: Path, clips: list[Clip], kind: str) -> None:
    seams = [Seam(kind, 8), Seam("cut", 0)]
    out = tmp_path / "film.mp4"
    n = assemble(clips, seams, out, width=W, height=H, fps=FPS)
    assert n == 24 + 20 + 16 - 8 == film_length(clips, seams)
    info = probe(out)
    assert info.frames == n
    assert info.duration == pytest.approx((24 + 20 + 16 - 8) / FPS)
    assert info.codec == "h264" and info.pix_fmt == "yuv420p"
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "faststart: moov atom must come first"
    film = read_video(out).astype(int)
    assert film[10, H // 2, W // 2, 0] > 150            # red before the seam
    assert film[16 + 8 + 5, H // 2, W // 2, 2] > 150     # blue after the overlap
    assert film[-1, H // 2, W // 2, 1] > 150             # green at the end (hard cut)
    overlap = film[16:24]
    assert not np.array_equal(overlap[0], overlap[-1]), "the overlap must change over time"


def test_dissolve_midpoint_is_a_mix() -> None:
    a = [np.full((H, W, 3), 200, np.uint8)] * 4
    b = [np.full((H, W, 3), 0, np.uint8)] * 4
    frames = transition_frames("dissolve", a, b)
    means = [f.mean() for f in frames]
    assert means == sorted(means, reverse=True)
    assert 80 < (means[1] + means[2]) / 2 < 120


def test_fade_goes_through_black_and_white_through_white() -> None:
    a = [np.full((H, W, 3), 120, np.uint8)] * 9
    b = [np.full((H, W, 3), 120, np.uint8)] * 9
    assert transition_frames("fade", a, b)[4].max() < 20
    assert transition_frames("fade-to-white", a, b)[4].min() > 235


def test_soft_cut_keeps_timing(tmp_path: Path, clips: list[Clip]) -> None:
    hard = assemble(clips[:2], [Seam("cut", 0)], tmp_path / "hard.mp4", width=W, height=H, fps=FPS)
    soft = assemble(clips[:2], [Seam("cut", 0, blend=3)], tmp_path / "soft.mp4", width=W, height=H, fps=FPS)
    assert hard == soft == 44
    a, b = read_video(tmp_path / "hard.mp4").astype(int), read_video(tmp_path / "soft.mp4").astype(int)
    assert np.abs(a[23] - b[23]).mean() > 10          # the frame before the cut leans toward blue
    assert np.abs(a[:20] - b[:20]).mean() < 2          # far from the cut nothing changes


def test_colour_match_moves_incoming_toward_outgoing() -> None:
    rng = np.random.default_rng(0)
    warm = np.clip(rng.normal((180, 120, 80), 20, (H, W, 3)), 0, 255).astype(np.uint8)
    cool = np.clip(rng.normal((80, 120, 180), 20, (H, W, 3)), 0, 255).astype(np.uint8)
    match = fit_colour_match([warm], [cool], frames=16)
    fixed = apply_colour_match(cool, match, 0)
    assert np.abs(fixed.mean((0, 1)) - warm.mean((0, 1))).sum() < np.abs(cool.mean((0, 1)) - warm.mean((0, 1))).sum() / 4
    assert np.array_equal(apply_colour_match(cool, match, 16), cool)  # faded out after a second


def test_wrong_seam_count_is_an_error(tmp_path: Path, clips: list[Clip]) -> None:
    with pytest.raises(ValueError, match="one seam"):
        assemble(clips, [Seam()], tmp_path / "x.mp4", width=W, height=H, fps=FPS)


def test_system_ffprobe_agrees_with_probe(tmp_path: Path, clips: list[Clip]) -> None:
    """probe() counts frames by decoding with the bundled ffmpeg (imageio-ffmpeg ships no
    ffprobe); where a system ffprobe exists, it must agree."""
    import json
    import shutil
    import subprocess

    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        pytest.skip("no system ffprobe on this machine; probe() decodes with the bundled ffmpeg")
    out = tmp_path / "film.mp4"
    n = assemble(clips, [Seam("dissolve", 8), Seam("wipe-up", 4)], out, width=W, height=H, fps=FPS)
    facts = json.loads(subprocess.run(
        [ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_frames,codec_name,pix_fmt,duration", "-of", "json", str(out)],
        capture_output=True, text=True, check=True).stdout)["streams"][0]
    assert int(facts["nb_read_frames"]) == n == probe(out).frames
    assert facts["codec_name"] == "h264" and facts["pix_fmt"] == "yuv420p"
    assert float(facts["duration"]) == pytest.approx(n / FPS, abs=1 / FPS)


def test_stream_headers_and_versions_of_old_and_new_ffmpeg_parse_alike() -> None:
    """imageio-ffmpeg 0.5's bundled ffmpeg (4.2.2) prints a bare pixel format and knows no
    `-fps_mode`; a render on a machine with only that binary failed with "no video stream".
    The header lines are copied from the real binaries' `ffmpeg -i` output."""
    from multishot.post.ffmpeg import _STREAM_RE, parse_major_version, passthrough_timing_args

    old = ("    Stream #0:0(und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p, 32x32, "
           "37 kb/s, 16 fps, 16 tbr, 16384 tbn, 32 tbc (default)")
    new = ("  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), "
           "832x480 [SAR 1:1 DAR 26:15], 1200 kb/s, 16 fps, 16 tbr, 16384 tbn (default)")
    assert _STREAM_RE.search(old).groups() == ("h264", "yuv420p", "32", "32")
    assert _STREAM_RE.search(new).groups() == ("h264", "yuv420p", "832", "480")
    assert parse_major_version("ffmpeg version 4.2.2-static https://johnvansickle.com/ffmpeg/") == 4
    assert parse_major_version("ffmpeg version n7.1 Copyright (c) 2000-2024") == 7
    assert parse_major_version("ffmpeg version 6.1.1-3ubuntu5 Copyright") == 6
    assert parse_major_version("ffmpeg version N-113348-g0a5813fc68") is None
    assert passthrough_timing_args(4) == ["-vsync", "passthrough"]
    assert passthrough_timing_args(7) == passthrough_timing_args(None) == ["-fps_mode", "passthrough"]
