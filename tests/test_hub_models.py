"""`--llm-model hf:OWNER/REPO/FILE.gguf@COMMIT`: a Hub GGUF through huggingface_hub's own cache.

No network here, so the Hub's side is a Hugging Face cache laid out as huggingface_hub lays it
(`models--OWNER--REPO/snapshots/COMMIT/FILE`, `refs/main`), read by the real `hf_hub_download` in
offline mode, in a child process with the environment a user sets (HF_HUB_CACHE, HF_HUB_OFFLINE).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from multishot.plan.agent.hub_models import HubModelError, parse

from conftest import MULTISHOT

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def hf_cache(root: Path, repo: str = "acme/tiny-GGUF", filename: str = "tiny-q4_k_m.gguf") -> Path:
    folder = root / f"models--{repo.replace('/', '--')}"
    snapshot = folder / "snapshots" / COMMIT / filename
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(b"GGUF" + bytes(60))
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(COMMIT)
    return snapshot


def run(code: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_specs_are_parsed_and_bad_ones_are_sentences() -> None:
    model = parse(f"hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf@{COMMIT}")
    assert (model.repo, model.filename, model.revision, model.pinned, model.name) == (
        "Qwen/Qwen2.5-1.5B-Instruct-GGUF", "qwen2.5-1.5b-instruct-q4_k_m.gguf", COMMIT, True,
        "qwen2.5-1.5b-instruct-q4_k_m")
    assert not parse("hf:acme/tiny/sub/dir/x.gguf").pinned and parse("hf:acme/tiny/sub/dir/x.gguf").filename == "sub/dir/x.gguf"
    for bad, says in (("hf:acme/x.gguf", "expected hf:OWNER/REPO/FILE.gguf"),
                      ("hf:acme/tiny/../../etc/passwd.gguf", "is not a .gguf file name"),
                      ("hf:acme/tiny/model.bin", "is not a .gguf file name"),
                      ("hf:../tiny/x.gguf", "is not a Hub repository id"),
                      ("hf:acme/tiny/x.gguf@bad rev;", "is not a commit hash or branch name")):
        with pytest.raises(HubModelError, match=says.replace(".", r"\.")):
            parse(bad)


def test_a_pinned_hub_file_comes_from_the_hf_cache(tmp_path: Path) -> None:
    snapshot = hf_cache(tmp_path)
    done = run("from multishot.plan.agent.local_server import resolve_model\n"
               f"name, path = resolve_model('hf:acme/tiny-GGUF/tiny-q4_k_m.gguf@{COMMIT}', report=print)\n"
               "print(name); print(path)", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["tiny-q4_k_m", str(snapshot)]   # nothing said: it is pinned


def test_an_unpinned_hub_file_says_the_commit_to_pin(tmp_path: Path) -> None:
    hf_cache(tmp_path)
    done = run("from multishot.plan.agent.local_server import resolve_model\n"
               "resolve_model('hf:acme/tiny-GGUF/tiny-q4_k_m.gguf', report=print)", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "no commit pinned" in done.stdout
    assert f"pin it with hf:acme/tiny-GGUF/tiny-q4_k_m.gguf@{COMMIT}" in done.stdout


def test_a_hub_file_missing_offline_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp", reason="the local server is the multishot[llm] extra")
    hf_cache(tmp_path)
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([*MULTISHOT, "direct", "A keeper finds a letter.", "-o", str(tmp_path / "f.yaml"),
                           "--llm", "local", "--llm-model", f"hf:acme/tiny-GGUF/missing.gguf@{COMMIT}"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())
    assert "missing.gguf of acme/tiny-GGUF" in said and "HF_HUB_OFFLINE forbids downloading it" in said
    assert not (tmp_path / "f.yaml").exists()
