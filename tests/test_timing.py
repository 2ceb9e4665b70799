"""The film clock (post/timing.py) is the only place shots are put in time: assembly, the OTIO
export, the metrics, the planner and the review page must agree frame for frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from multishot.evaluate.timeline import frame_at, layout_timeline
from multishot.evaluate.render import planned_timeline
from multishot.plan.film_plan import build_plan
from multishot.post.assemble import Clip, Seam, assemble, film_length
from multishot.post.ffmpeg import VideoWriter, read_frames
from multishot.post.otio import build_timeline, film_starts, place_shots
from multishot.post.timing import FilmClock, overlap_frames, starts
from multishot.post.vocabulary import transition_names
from multishot.shotlist import ShotListError
from multishot.shotlist.loader import parse_film

SOURCE = Path("/nonexistent/clock.yaml")


def shot_list(fps: int, shots: list[tuple[float, str, float]]) -> str:
    """A one-scene shot list: (duration s, transition into the next shot, transition s)."""
    entries = []
    for i, (duration, kind, seconds) in enumerate(shots):
        shot: dict = {"id": f"s{i}", "duration": duration, "action": "the sea"}
        if kind != "cut" and i + 1 < len(shots):
            shot["transition"] = {"type": kind, "duration": seconds}
        entries.append(shot)
    return yaml.safe_dump({"multishot": 1, "title": "clock", "format": {"resolution": "32x32", "fps": fps},
                           "locations": {"x": {"description": "a field"}},
                           "scenes": [{"id": "c", "location": "x", "shots": entries}]})


def consumers(fps: int, shots: list[tuple[float, str, float]]) -> dict[str, list[int]]:
    """Each consumer's start frame of every shot (and the film length as the last entry)."""
    plan = build_plan(parse_film(shot_list(fps, shots), SOURCE), SOURCE)
    manifest = plan.summary()
    spans, bounds = planned_timeline(manifest)
    rows = [(s.id, d, kind, sec) for s, (d, kind, sec) in zip(plan.shots, shots)]
    spans_s, bounds_s = layout_timeline(rows, fps=fps)
    clips = [Clip(Path(f"{s.id}.mp4"), s.num_frames) for s in plan.shots]
    seams = [Seam(s.transition.type, s.overlap_frames()) for s in plan.shots[:-1]]
    track = build_timeline(manifest).tracks[0]
    out = {
        "planner": plan.start_frames() + [plan.total_frames],
        "otio": [p.film_start - p.trim_in for p in place_shots(manifest)] + [int(track.duration().value)],
        "report": film_starts(manifest) + [int(manifest["frames"])],
        "metrics": [frame_at(s.start, fps) for s in spans] + [frame_at(spans[-1].end, fps)],
        "metrics (shot list seconds)": [frame_at(s.start, fps) for s in spans_s] + [frame_at(spans_s[-1].end, fps)],
        "assembly": starts([c.frames for c in clips], [s.overlap for s in seams]) + [film_length(clips, seams)],
    }
    # Seams: the metrics' blended range is exactly the overlap the assembler blends.
    for b_list in (bounds, bounds_s):
        for i, b in enumerate(b_list):
            first = out["assembly"][i + 1]
            assert b.frames(fps) == (first, first + seams[i].overlap), (i, b)
    return out


def test_two_053s_dissolves_at_16fps_put_shot_3_at_frame_48_everywhere() -> None:
    """The bug the film clock fixed: 0.53 s is 8.48 frames, the film overlaps 8; the metrics
    used to sum seconds (2 - 0.53 + 2 - 0.53 = 2.94 s) and round once, landing on frame 47."""
    shots = [(2.0, "dissolve", 0.53), (2.0, "dissolve", 0.53), (2.0, "cut", 0.0)]
    found = consumers(16, shots)
    assert found["planner"] == [0, 24, 48, 80]
    for name, frames in found.items():
        assert frames == found["planner"], name
    assert overlap_frames("dissolve", 0.53, 16) == 8


def test_the_assembled_film_shows_shot_3_where_the_clock_says(tmp_path: Path) -> None:
    """Real clips through the real assembler: pure shot 3 starts at the frame the metrics expect."""
    fps, colours = 16, [(220, 30, 30), (30, 220, 30), (30, 30, 220)]
    shots = [(2.0, "dissolve", 0.53), (2.0, "dissolve", 0.53), (2.0, "cut", 0.0)]
    plan = build_plan(parse_film(shot_list(fps, shots), SOURCE), SOURCE)
    clips = []
    for spec, colour in zip(plan.shots, colours):
        path = tmp_path / f"{spec.id}.mp4"
        with VideoWriter(path, 32, 32, fps) as writer:
            writer.write_all([np.full((32, 32, 3), colour, np.uint8)] * spec.num_frames)
        clips.append(Clip(path, spec.num_frames))
    seams = [Seam(s.transition.type, s.overlap_frames()) for s in plan.shots[:-1]]
    film = tmp_path / "film.mp4"
    assemble(clips, seams, film, width=32, height=32, fps=fps)
    means = [f.reshape(-1, 3).mean(0) for f in read_frames(film)]
    _, bounds = planned_timeline(plan.summary())
    first_blend, first_pure = bounds[1].frames(fps)
    assert (first_blend, first_pure) == (48, 56)
    blue = np.array(colours[2])
    green = np.array(colours[1])
    assert np.abs(means[first_blend - 1] - green).max() < 12   # last pure frame of shot 2
    assert np.abs(means[first_blend] - green).max() > 12      # the dissolve has begun
    assert np.abs(means[first_pure - 1] - blue).max() > 12    # still blending
    assert np.abs(means[first_pure] - blue).max() < 12        # shot 3 alone
    assert len(means) == plan.total_frames


@settings(max_examples=300, deadline=None)
@given(fps=st.sampled_from([8, 12, 16, 24, 25, 30]),
       shots=st.lists(st.tuples(st.integers(25, 400), st.sampled_from(transition_names()), st.integers(3, 120)),
                      min_size=1, max_size=7))
def test_every_consumer_agrees_on_random_films(fps: int, shots: list[tuple[int, str, int]]) -> None:
    """Random durations and transitions in hundredths of a second (rarely whole frames)."""
    seconds = [(d / 100, kind, t / 100) for d, kind, t in shots]
    try:
        found = consumers(fps, seconds)
    except ShotListError:
        return  # the loader refused it (a transition longer than a shot): nothing to place
    for name, frames in found.items():
        assert frames == found["planner"], (name, frames, found["planner"])


def test_clock_basics() -> None:
    clock = FilmClock.of(16, [(32, "dissolve", 0.53), (32, "cut", 0.0), (20, "fade", 9.0)])
    assert clock.starts == [0, 24, 56] and clock.total == 76 and clock.overlaps == (8, 0)
    assert [(s.start, s.end, s.cut_point) for s in clock.seams] == [(24, 32, 28), (56, 56, 56)]
    assert clock.trims(0) == (0, 4) and clock.trims(1) == (4, 0)
    assert starts([1.5, 1.5, 1.5], [0.0, 0.5]) == [0.0, 1.5, 2.5]
