"""Film grammar runs once per plan (issue-fixes, item 5): the transition paradigm's `replan`
is film grammar, applied by the runner before the needs are checked; its `run` applied it a
second time, and `--auto-transitions` a third (idempotent, so only wasted and confusing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.plan import grammar


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times film grammar chose transitions: the real `grammar_choices`, counted."""
    calls = [0]
    real = grammar.grammar_choices

    def counting(plan):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return real(plan)

    monkeypatch.setattr(grammar, "grammar_choices", counting)
    return calls


@pytest.mark.parametrize(("paradigm", "auto"), [("transition", False), ("transition", True), ("stitching", True)])
def test_film_grammar_runs_once_per_render(tmp_path: Path, film_file: Path, counted: list[int],
                                           paradigm: str, auto: bool) -> None:
    from multishot.paradigms.runner import prepare

    plain, _, _ = prepare(film_file, RenderOptions(paradigm="stitching"))  # no grammar
    counted[0] = 0
    once = grammar.apply_grammar(plain)
    per_pass, counted[0] = counted[0], 0
    assert per_pass >= 1
    result = render_file(film_file, RenderOptions(out_root=tmp_path, paradigm=paradigm, auto_transitions=auto,
                                                  review=False))
    assert result.status == "complete"
    assert counted[0] == per_pass  # one pass of film grammar, however many ask for it
    # and the film is the grammar's: its seams are the ones one pass chose
    shots = json.loads(result.manifest.read_text())["shots"]
    assert [(s["frames"], s["transition"]["type"]) for s in shots] == [(s.num_frames, s.transition.type) for s in once.shots]
