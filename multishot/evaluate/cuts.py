"""Cut accuracy: do the cuts a viewer sees fall where the shot list planned them?

A cut detector (PySceneDetect 0.7) runs over the rendered film; its cuts are matched to the
planned boundaries:

* a hard cut (`cut`, `match-cut`) is found when a detection lies within ±`tolerance_frames` of
  its planned frame (one detection per cut, nearest first);
* a gradual transition (dissolve, fade, wipe, slide, circle-open, bridge) is found when any
  detection lies inside its overlap window (± tolerance). Every detection in the window belongs
  to that transition, so a wipe that triggers two detections is one event, never a spurious cut.

Frame-difference detectors cannot see most dissolves (each step is small: on the test suite's
0.5 s dissolve `adaptive`, `content` and `hash` see nothing, `histogram` fires at both ends), so
gradual transitions are NOT counted in recall: `recall` is over hard cuts only, and
`gradual_rate` reports separately how many gradual transitions the detector noticed. Detections
that match nothing are `spurious` (a cut inside a shot: the generator jumped).

Transition Control Score (CineTrans, arXiv 2508.11484; docs/tcs.md): with x = detected shot
count / planned shot count, TCS = x^k / e^{k(x-1)}, which is 1 at x = 1 and falls off for too
few or too many shots. No text or code we could reach states k: the paper's repository ships no
evaluation code, and the exact definitions sit in its Appendix F, which we could not read. Its
metric figure (also `static/teaser/Metric.png` on the project page) plots the curve: on the
too-many-shots side it draws the family k = 1, 1.3, 1.6, 2 and highlights k = 1.6 (a pixel fit of
the highlighted curve gives 1.60, median error 0.002; its too-few side is drawn steeper, k ~ 1.9).
`TCS_K` = 1.6 is that k; `tcs_k1` keeps k = 1, this project's earlier figure, beside it.

The paper's "w/o mask, w/o tuning" row (a model that does not cut) scores exactly 0, which the
formula alone cannot give with shot counts (one shot of 2 planned still scores 0.73 at k = 1.6),
so, by that inference, a film with planned cuts and no cut seen scores 0.

`tcs` counts shots gradual-aware (an unseen gradual transition lowers neither count; a gradual
window's detections count once, as the paper's TransNetV2 counts a dissolve once); `tcs_raw` is
the plain count: PySceneDetect's cuts + 1 over planned shots. Both use `TCS_K`.

Decoding happens once, through `multishot.post.ffmpeg.read_frames` (the project's one ffmpeg
door), fed to PySceneDetect through its own `VideoStream` interface rather than `open_video`
(whose OpenCV backend would be a second decoder); PySceneDetect's automatic downscale (to ~256 px
wide) keeps detection cheap, and an `on_frame` hook lets the other metrics see every decoded
frame in the same pass. `detect_cuts` also takes any `open_video(...)` stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from scenedetect import AdaptiveDetector, ContentDetector, HashDetector, HistogramDetector, SceneManager
from scenedetect.common import FrameTimecode, framerate_to_fraction
from scenedetect.detector import SceneDetector
from scenedetect.video_stream import VideoStream

from multishot.evaluate.timeline import PlannedBoundary, frame_at
from multishot.post.ffmpeg import FFmpegError, read_frames

#: Detector names accepted by `make_detector`. `adaptive` is the default: it compares each
#: frame's change with its neighbours' (a rolling ratio), so fast camera moves, which generated
#: shots are full of, do not read as cuts the way a fixed threshold (`content`) can.
DETECTORS = ("adaptive", "content", "histogram", "hash")

#: Shots this short still count as shots (PySceneDetect's default minimum of 15 frames would
#: swallow the 0.5 s shots a shot list may ask for).
MIN_SHOT_S = 0.25

FrameHook = Callable[[int, np.ndarray], None]

#: CineTrans's TCS exponent, read off the paper's metric figure (see the module docstring and
#: docs/tcs.md): the highlighted curve of the family k = 1, 1.3, 1.6, 2 is k = 1.6.
TCS_K = 1.6


def make_detector(name: str, fps: float, min_shot_s: float = MIN_SHOT_S) -> SceneDetector:
    """A PySceneDetect detector with a minimum shot length given in seconds."""
    min_len = max(1, int(round(min_shot_s * fps)))
    if name == "adaptive":
        return AdaptiveDetector(min_scene_len=min_len)
    if name == "content":
        return ContentDetector(min_scene_len=min_len)
    if name == "histogram":
        return HistogramDetector(min_scene_len=min_len)
    if name == "hash":
        return HashDetector(min_scene_len=min_len)
    raise ValueError(f"unknown cut detector {name!r}; expected one of {', '.join(DETECTORS)}")


class FrameStream(VideoStream):
    """PySceneDetect's `VideoStream` over RGB frames from any iterator (normally our ffmpeg pipe).

    Hands PySceneDetect BGR frames (its OpenCV convention) and calls `on_frame(index, rgb)` for
    each frame first, so other metrics ride on the same decode. The first frame is read eagerly
    because PySceneDetect asks for the frame size before it reads anything.
    """

    BACKEND_NAME = "multishot-frames"

    def __init__(self, frames: Iterable[np.ndarray], fps: float, name: str = "film",
                 on_frame: FrameHook | None = None) -> None:
        self._frames: Iterator[np.ndarray] = iter(frames)
        self._rate = framerate_to_fraction(float(fps))
        self._name = name
        self._on_frame = on_frame
        self._count = 0
        self._first = self._next()
        if self._first is None:
            raise FFmpegError(f"no frames decoded from {name}")
        self._size = (int(self._first.shape[1]), int(self._first.shape[0]))

    @property
    def path(self) -> str:
        return self._name

    @property
    def name(self) -> str:
        return Path(self._name).stem

    @property
    def is_seekable(self) -> bool:
        return False

    @property
    def frame_rate(self) -> Fraction:
        return self._rate

    @property
    def duration(self) -> FrameTimecode | None:
        return None  # unknown until the pipe ends; only PySceneDetect's progress bar wants it

    @property
    def frame_size(self) -> tuple[int, int]:
        return self._size

    @property
    def aspect_ratio(self) -> float:
        return 1.0

    @property
    def position(self) -> FrameTimecode:
        return FrameTimecode(max(0, self._count - 1), self._rate)

    @property
    def position_ms(self) -> float:
        return max(0, self._count - 1) * 1000.0 / float(self._rate)

    @property
    def frame_number(self) -> int:
        return self._count

    def _next(self) -> np.ndarray | None:
        try:
            return next(self._frames)
        except StopIteration:
            return None

    def read(self, decode: bool = True) -> np.ndarray | bool:
        frame: np.ndarray | None
        if self._first is not None:
            frame, self._first = self._first, None
        else:
            frame = self._next()
        if frame is None:
            return False
        if self._on_frame is not None:
            self._on_frame(self._count, frame)
        self._count += 1
        return np.ascontiguousarray(frame[:, :, ::-1]) if decode else True

    def reset(self) -> None:
        raise NotImplementedError("a frame pipe cannot be rewound")

    def seek(self, target: object) -> None:
        raise NotImplementedError("a frame pipe cannot seek")


def detect_cuts(video: VideoStream, detector: str = "adaptive",
                min_shot_s: float = MIN_SHOT_S) -> list[int]:
    """Frame indices where PySceneDetect sees a new shot begin (one pass over `video`)."""
    manager = SceneManager()
    manager.auto_downscale = True
    manager.add_detector(make_detector(detector, float(video.frame_rate), min_shot_s))
    manager.detect_scenes(video)
    scenes = manager.get_scene_list()
    return [int(start.frame_num) for start, _ in scenes[1:]]


def detect_cuts_in_file(path: Path, fps: float, detector: str = "adaptive",
                        min_shot_s: float = MIN_SHOT_S,
                        on_frame: FrameHook | None = None) -> list[int]:
    """`detect_cuts` over a video file, decoded once through `multishot.post.ffmpeg`."""
    stream = FrameStream(read_frames(Path(path)), fps, name=str(path), on_frame=on_frame)
    return detect_cuts(stream, detector, min_shot_s)


def transition_control_score(detected_shots: int, planned_shots: int, k: float = TCS_K,
                             *, zero_without_cuts: bool = True) -> float:
    """CineTrans's TCS (arXiv 2508.11484): x^k / e^{k(x-1)}, x = detected / planned shots.

    `k` defaults to the paper's 1.6 (`TCS_K`). With `zero_without_cuts` (inferred from the
    paper's 0 for a model that does not cut), a film that was to cut (planned_shots > 1) but
    shows one shot scores 0 rather than the formula's (1/planned)^k e^{k(1 - 1/planned)}.
    """
    if planned_shots <= 0:
        raise ValueError("planned_shots must be positive")
    if detected_shots <= 0:
        return 0.0
    if zero_without_cuts and detected_shots == 1 and planned_shots > 1:
        return 0.0
    x = detected_shots / planned_shots
    return float(math.exp(k * math.log(x) - k * (x - 1.0)))


@dataclass(frozen=True)
class BoundaryMatch:
    """How one planned boundary fared: `detected` is the matching detection frame, or None."""

    shot_out: str
    shot_in: str
    kind: str
    planned_frame: int
    window_end: int
    detected: int | None

    @property
    def found(self) -> bool:
        return self.detected is not None


@dataclass(frozen=True)
class CutReport:
    detector: str
    tolerance_frames: int
    fps: float
    detected: list[int]
    matches: list[BoundaryMatch]
    spurious: list[int]
    hard_total: int
    hard_found: int
    gradual_total: int
    gradual_found: int
    #: Matched events / all detected events (a gradual window's detections count once).
    precision: float | None
    #: Hard cuts found / hard cuts planned.
    recall: float | None
    #: Gradual transitions noticed / gradual transitions planned (informational, not a miss).
    gradual_rate: float | None
    #: Shot counts behind `tcs`: detected events + 1, and planned shots minus the gradual
    #: transitions the detector did not see (`planned_shots` is the plain count, for `tcs_raw`).
    detected_shots: int
    visible_planned_shots: int
    planned_shots: int
    #: Transition Control Score at `tcs_k` (the paper's 1.6), gradual-aware counts.
    tcs: float
    #: The same counts, plain: PySceneDetect's cuts + 1 over planned shots, at `tcs_k`.
    tcs_raw: float
    tcs_k: float = TCS_K
    #: `tcs`'s counts at k = 1 (the secondary figure; k = 1 was this project's first choice).
    tcs_k1: float | None = None

    @property
    def spurious_times(self) -> list[float]:
        return [f / self.fps for f in self.spurious]


def match_cuts(detected: Sequence[int], boundaries: Sequence[PlannedBoundary], fps: float,
               tolerance_frames: int = 2, tcs_k: float = TCS_K,
               detector: str = "adaptive") -> CutReport:
    """Score detected cut frames against the planned boundaries (see the module docstring)."""
    remaining = sorted(set(int(d) for d in detected))
    found: dict[int, int | None] = {}

    # Hard cuts first, nearest detection wins; a detection serves one cut only.
    hard = [i for i, b in enumerate(boundaries) if b.kind == "cut"]
    pairs = sorted(
        (abs(d - frame_at(boundaries[i].time, fps)), i, d)
        for i in hard for d in remaining
        if abs(d - frame_at(boundaries[i].time, fps)) <= tolerance_frames
    )
    used: set[int] = set()
    for _, i, d in pairs:
        if i not in found and d not in used:
            found[i] = d
            used.add(d)
    remaining = [d for d in remaining if d not in used]

    # Gradual windows absorb every detection inside them.
    for i, b in enumerate(boundaries):
        if b.kind == "cut":
            continue
        first, after = b.frames(fps)
        inside = [d for d in remaining if first - tolerance_frames <= d <= after + tolerance_frames]
        found[i] = inside[0] if inside else None
        remaining = [d for d in remaining if d not in inside]

    matches = []
    for i, b in enumerate(boundaries):
        first, after = b.frames(fps)
        matches.append(BoundaryMatch(b.shot_out, b.shot_in, b.kind, first, after, found.get(i)))

    hard_found = sum(1 for i in hard if found.get(i) is not None)
    gradual_total = len(boundaries) - len(hard)
    gradual_found = sum(1 for m in matches if m.kind != "cut" and m.found)
    spurious = remaining
    events = hard_found + gradual_found + len(spurious)
    planned_shots = len(boundaries) + 1
    # Gradual-aware count: an unseen gradual transition is missing from both sides.
    visible_planned = 1 + len(hard) + gradual_found
    detected_shots = 1 + events
    return CutReport(
        detector=detector, tolerance_frames=tolerance_frames, fps=float(fps),
        detected=sorted(set(int(d) for d in detected)), matches=matches, spurious=spurious,
        hard_total=len(hard), hard_found=hard_found,
        gradual_total=gradual_total, gradual_found=gradual_found,
        precision=(hard_found + gradual_found) / events if events else None,
        recall=hard_found / len(hard) if hard else None,
        gradual_rate=gradual_found / gradual_total if gradual_total else None,
        detected_shots=detected_shots, visible_planned_shots=visible_planned,
        planned_shots=planned_shots,
        tcs=transition_control_score(detected_shots, visible_planned, tcs_k),
        tcs_raw=transition_control_score(len(set(detected)) + 1, planned_shots, tcs_k),
        tcs_k=tcs_k,
        tcs_k1=transition_control_score(detected_shots, visible_planned, 1.0),
    )
