"""The one place that runs ffmpeg.

Everything is called with argument lists (never a shell), so no text from a shot list can be
interpreted by a shell, and every file is passed as `file:<absolute path>` (`media_path`), so
no folder name can be read by ffmpeg as an option (`-dash`) or a protocol (`a:b`). The binary is the system `ffmpeg` when one is on PATH, otherwise the one
bundled by imageio-ffmpeg, so a plain `pip install` needs no system packages. ffprobe is not
bundled by imageio-ffmpeg, so `probe` reads stream facts by decoding with ffmpeg itself.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator

import numpy as np

#: Encoder settings shared by every H.264 file multishot writes, so pieces can be compared and
#: concatenated, and so the benchmark floor uses exactly what the renderer uses.
H264_ARGS: tuple[str, ...] = (
    "-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p",
    "-movflags", "+faststart", "-fflags", "+bitexact", "-flags:v", "+bitexact",
    "-map_metadata", "-1",
)


class FFmpegError(RuntimeError):
    """ffmpeg exited non-zero; carries the tail of its log so the user sees why."""


def media_path(path: Path | str) -> str:
    """How a file is named to ffmpeg: its absolute path behind ffmpeg's `file:` protocol. A
    relative name could start with `-` (an option) or hold a `:` (`a:b/x.mp4` is protocol `a`)."""
    return "file:" + os.path.abspath(os.fspath(path))


_DISK_FULL = "No space left on device"


@functools.lru_cache(maxsize=1)
def ffmpeg_binary() -> str:
    """Path of the ffmpeg to use: $MULTISHOT_FFMPEG, then PATH, then imageio-ffmpeg's bundle."""
    forced = os.environ.get("MULTISHOT_FFMPEG")
    if forced:
        return forced
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def parse_major_version(version_line: str) -> int | None:
    """ffmpeg's major version from the first line of ``ffmpeg -version`` ("ffmpeg version
    4.2.2-static …", "… version n7.1 …", "… version 6.1.1-3ubuntu5 …"); None for git builds
    ("N-113348-g…"), which are new."""
    m = re.search(r"version n?(\d+)\.", version_line)
    return int(m.group(1)) if m else None


@functools.lru_cache(maxsize=1)
def ffmpeg_major() -> int | None:
    proc = subprocess.run([ffmpeg_binary(), "-hide_banner", "-version"], capture_output=True)
    return parse_major_version(proc.stdout.decode("utf-8", "replace").split("\n", 1)[0])


def passthrough_timing_args(major: int | None) -> list[str]:
    """Keep every decoded frame as it is (no duplicated or dropped frames): ``-fps_mode`` since
    ffmpeg 5.1, ``-vsync`` before it (imageio-ffmpeg 0.5's bundled ffmpeg is 4.2, and 5.1+
    removed nothing yet but warns on -vsync)."""
    return ["-vsync", "passthrough"] if major is not None and major < 5 else ["-fps_mode", "passthrough"]


def run_ffmpeg(args: list[str], *, input_bytes: bytes | None = None) -> str:
    """Run ffmpeg with `args` (no shell); return its stderr log; raise FFmpegError on failure."""
    cmd = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-y", *args]
    proc = subprocess.run(cmd, input=input_bytes, capture_output=True)
    log = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise FFmpegError(f"ffmpeg failed ({proc.returncode}): {' '.join(args[:6])} …\n{log[-2000:]}")
    return log


class VideoWriter:
    """Streams raw RGB frames into an ffmpeg encoder through a pipe (no PNG per frame).

    Writes to `<path>.part` and renames on `close()`, so a killed process never leaves a
    half-written file under the final name.
    """

    def __init__(self, path: Path, width: int, height: int, fps: float,
                 extra_args: Iterable[str] = H264_ARGS) -> None:
        self.path = Path(path)
        self.width, self.height, self.fps = width, height, fps
        self.frames = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(self.path.name + ".part" + self.path.suffix)
        cmd = [
            ffmpeg_binary(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps),
            "-i", "pipe:0", *extra_args, "-r", str(fps), media_path(self._tmp),
        ]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self._proc.stdin is not None
        self._stdin: IO[bytes] = self._proc.stdin

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} != ({self.height}, {self.width}, 3) uint8")
        try:
            self._stdin.write(np.ascontiguousarray(frame).data)
        except BrokenPipeError as err:
            failure = self._failure()  # the encoder died (a full disk, a bad argument): why
            self._proc.wait()
            self._tmp.unlink(missing_ok=True)
            raise failure from err
        self.frames += 1

    def write_all(self, frames: Iterable[np.ndarray]) -> None:
        for frame in frames:
            self.write(frame)

    def _failure(self) -> Exception:
        err = self._proc.stderr.read().decode("utf-8", "replace") if self._proc.stderr else ""
        if _DISK_FULL in err:  # say which file, as an OSError would
            return OSError(errno.ENOSPC, f"{_DISK_FULL} (ffmpeg could not finish writing it; free space "
                           "and run the same command to resume)", str(self.path))
        return FFmpegError(f"ffmpeg encoder failed for {self.path}: {err[-2000:]}")

    def close(self) -> Path:
        """Finish the encode and rename it into place. The encoder's flush can take a while
        (x264's lookahead): an interrupt (Ctrl-C) or error while waiting for it kills the
        encoder and removes the partial file, which would otherwise be left at full size."""
        try:
            self._stdin.close()
            code = self._proc.wait()
        except BaseException:
            self.abort()
            raise
        if code != 0:
            self._tmp.unlink(missing_ok=True)
            raise self._failure()
        if self._proc.stderr:
            self._proc.stderr.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self._stdin.close()
        except OSError:
            pass
        self._proc.kill()
        self._proc.wait()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(path: Path, frames: Iterable[np.ndarray], width: int, height: int, fps: float) -> Path:
    with VideoWriter(path, width, height, fps) as writer:
        writer.write_all(frames)
    return Path(path)


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    codec: str
    pix_fmt: str


# The pixel format is printed bare by ffmpeg 4 ("yuv420p, 32x32") and with its colour details by
# newer ones ("yuv420p(tv, bt709, progressive), 32x32"); imageio-ffmpeg's bundled build is 4.2.
_STREAM_RE = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+).*?, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)")
_FPS_RE = re.compile(r"([\d.]+) fps")
_FRAME_RE = re.compile(r"frame=\s*(\d+)")


def probe(path: Path) -> VideoInfo:
    """Stream facts of a video, counting frames by decoding (exact, ffprobe-free)."""
    log = run_ffmpeg(["-i", media_path(path), "-map", "0:v:0", "-f", "null", "-"])
    stream = _STREAM_RE.search(log)
    fps = _FPS_RE.search(log)
    frames = _FRAME_RE.findall(log)
    if not stream or not fps or not frames:
        raise FFmpegError(f"cannot read video facts of {path}:\n{log[-1500:]}")
    n, rate = int(frames[-1]), float(fps.group(1))
    return VideoInfo(width=int(stream.group(3)), height=int(stream.group(4)), fps=rate,
                     frames=n, duration=n / rate, codec=stream.group(1), pix_fmt=stream.group(2))


def read_frames(path: Path, *, start_frame: int = 0, count: int | None = None,
                size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    """Decode frames as HxWx3 uint8 arrays, streamed from an ffmpeg pipe.

    `start_frame`/`count` select by frame index (exact: selection happens after decoding).
    `size` (w, h) scales on the way out, which metrics use to stay cheap.
    """
    info_w, info_h = _frame_size(path)
    w, h = size or (info_w, info_h)
    filters = []
    if start_frame or count is not None:
        end = f"+{count}" if count is not None else ""
        sel = f"gte(n\\,{start_frame})" + (f"*lt(n\\,{start_frame}{end})" if count is not None else "")
        filters.append(f"select={sel}")
    if size:
        filters.append(f"scale={w}:{h}:flags=area")
    args = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", media_path(path)]
    if filters:
        args += ["-vf", ",".join(filters)]
    args += [*passthrough_timing_args(ffmpeg_major()), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    frame_bytes = w * h * 3
    finished = False
    try:
        while True:
            buf = proc.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                finished = True
                break
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
    finally:
        proc.stdout.close()
        if not finished:
            proc.kill()
        code = proc.wait()
        log = proc.stderr.read().decode("utf-8", "replace")
        proc.stderr.close()
    if finished and code != 0:
        raise FFmpegError(f"decoding {path} failed: {log[-1500:]}")


def read_video(path: Path, **kwargs) -> np.ndarray:
    """All (selected) frames as one (T, H, W, 3) uint8 array."""
    frames = list(read_frames(path, **kwargs))
    if not frames:
        raise FFmpegError(f"no frames decoded from {path}")
    return np.stack(frames)


@functools.lru_cache(maxsize=256)
def _frame_size_cached(path: str, mtime: float) -> tuple[int, int]:
    log = subprocess.run([ffmpeg_binary(), "-hide_banner", "-i", media_path(path)], capture_output=True).stderr
    m = _STREAM_RE.search(log.decode("utf-8", "replace"))
    if not m:
        raise FFmpegError(f"no video stream in {path}")
    return int(m.group(3)), int(m.group(4))


def frame_size(path: Path) -> tuple[int, int]:
    """(width, height) of a video's first stream, read from its header (no decoding)."""
    return _frame_size_cached(str(path), Path(path).stat().st_mtime)


def _frame_size(path: Path) -> tuple[int, int]:
    return _frame_size_cached(str(path), Path(path).stat().st_mtime)
