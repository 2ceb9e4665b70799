"""Joint generations on the executor (issue 11, item 1): holistic groups and the transition
paradigm's shots, CineTrans groups and bridges go to the workers -- one group per worker -- and
the film is the in-process film byte for byte. Real worker processes (CPU workers standing in
for GPUs through MULTISHOT_TEST_FAKE_GPUS, the `--gpus` code path), real tiny pipelines."""

from __future__ import annotations

from pathlib import Path

import pytest
from _scale import in_process_film, render
from conftest import small_film, write_film

FAKE2 = {"MULTISHOT_TEST_FAKE_GPUS": "2"}


def _transition_film() -> dict:
    data = small_film()
    shots = data["scenes"][0]["shots"]
    shots[0]["transition"] = "match-cut"                       # `mara` is composed on `wide`
    shots[1]["transition"] = "cut"                             # `mara` + `tomas`: one generated cut
    data["scenes"][1]["shots"][0]["transition"] = {"type": "bridge", "duration": 0.5}
    return data


CASES = {
    # Groups of two with memory: each group waits for the one it remembers, on either worker.
    "tiny-holistic-memory": ("tiny", "holistic", small_film(), ("--max-joint-shots", "2")),
    # The animatic keeps no memory: its groups (one per scene) run at once, one per worker.
    "animatic-holistic": ("animatic", "holistic", small_film(), ()),
    # CineTrans groups, a match cut composed on a shot from a worker, a bridge between groups.
    "tiny-cinetrans-transition": ("tiny-cinetrans", "transition", _transition_film(), ()),
}


@pytest.mark.parametrize("case", list(CASES))
def test_joint_groups_on_two_workers_make_the_in_process_film(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                                                              case: str) -> None:
    profile, paradigm, data, extra = CASES[case]
    film = write_film(tmp_path_factory.mktemp(case) / "film.yaml", data)
    reference = in_process_film(tmp_path_factory, film, profile, paradigm, *extra)
    summary, run = render(film, tmp_path, "--profile", profile, "--paradigm", paradigm, *extra, "--gpus", "0,1",
                          env=FAKE2)
    assert run.returncode == 0, run.stderr[-3000:]
    assert summary["status"] == "complete"
    assert Path(summary["film"]).read_bytes() == reference.read_bytes()
    logs = Path(summary["out_dir"]) / ".cache" / "workers"
    started = {g: [line for line in (logs / f"gpu{g}.log").read_text().splitlines() if ": start " in line] for g in "01"}
    joint = [line for lines in started.values() for line in lines if "start joint video of" in line]
    assert joint, started  # the groups were generated on the workers, not in the driver
    if case != "tiny-holistic-memory":
        assert all(started.values()), started  # both workers took work
    if case == "animatic-holistic":
        # one group per scene, one scene per worker
        assert sorted(len(lines) for lines in started.values()) == [1, 1], started
    if case == "tiny-cinetrans-transition":
        names = " ".join(line for lines in started.values() for line in lines)
        assert "joint video of `mara`, `tomas`" not in names  # `mara` is composed (match cut), not grouped
        assert "bridge of `both>lens`" in names and "video of `mara`" in names
