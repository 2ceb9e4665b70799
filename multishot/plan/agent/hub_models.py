"""A GGUF model from the Hugging Face Hub for `--llm local`: `--llm-model hf:OWNER/REPO/FILE.gguf@REVISION`.

Why: the one instruct model small enough to ship on the package index (SmolLM2-135M) gives a
plan's structure but not its words (docs/notes/issue-18d.md); a model worth its words (a 1–3B
instruct model, 1–2 GB in Q4_K_M) is published as GGUF on the Hub, which is where llama.cpp's own
`-hf` option takes it from. The file is fetched with `huggingface_hub.hf_hub_download` — the
library the rest of multishot loads weights with — so it lands in the user's HF cache (shared
with every other tool), honours `HF_HUB_OFFLINE`/`HF_HOME`/`HF_TOKEN`, resumes, and is never
fetched twice. The revision should be a commit hash (a branch name moves: the model, and the
plans it writes, would change under the same command); without one, `main` is taken and the
resolved commit is said, so the user can pin it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from multishot.plan.agent.model_files import downloads_off   # MULTISHOT_OFFLINE / HF_HUB_OFFLINE

PREFIX = "hf:"
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_FILE = re.compile(r"^(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+\.gguf$", re.IGNORECASE)
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class HubModelError(ValueError):
    """The spec is malformed or the file cannot be had; the message is the sentence to show."""


@dataclass(frozen=True)
class HubModel:
    repo: str
    filename: str
    revision: str | None

    @property
    def pinned(self) -> bool:
        return self.revision is not None and bool(_COMMIT.match(self.revision))

    @property
    def name(self) -> str:
        return Path(self.filename).stem


def parse(spec: str) -> HubModel:
    """`hf:OWNER/REPO/FILE.gguf[@REVISION]` → its parts (nothing fetched)."""
    body = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
    body, _, revision = body.partition("@")
    parts = body.split("/")
    if len(parts) < 3:
        raise HubModelError(f"--llm-model {spec!r}: expected hf:OWNER/REPO/FILE.gguf (optionally @COMMIT)")
    repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
    if not _REPO.match(repo) or ".." in repo:
        raise HubModelError(f"--llm-model {spec!r}: {repo!r} is not a Hub repository id (OWNER/NAME)")
    if not _FILE.match(filename) or ".." in filename.split("/"):
        raise HubModelError(f"--llm-model {spec!r}: {filename!r} is not a .gguf file name in that repository")
    if revision and not re.match(r"^[A-Za-z0-9_.-]{1,100}$", revision):
        raise HubModelError(f"--llm-model {spec!r}: revision {revision!r} is not a commit hash or branch name")
    return HubModel(repo, filename, revision or None)


def hub_path(model: HubModel, *, report: Callable[[str], None] | None = None) -> Path:
    """The local file of a Hub model: from the HF cache, or downloaded into it now."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    off = downloads_off()
    if report is not None and not model.pinned:
        report(f"--llm-model hf:{model.repo}/{model.filename}: no commit pinned (`@{model.revision or 'main'}` "
               f"can change); the resolved commit is said below")
    try:
        path = Path(hf_hub_download(model.repo, model.filename, revision=model.revision,
                                    local_files_only=off is not None))
    except LocalEntryNotFoundError:
        why = f"{off} forbids downloading it" if off else "the Hub cannot be reached"
        raise HubModelError(f"the model file {model.filename} of {model.repo}"
                            f"{f' at {model.revision}' if model.revision else ''} is not in the Hugging Face "
                            f"cache and {why}: fetch it once online (the same command), or give a local "
                            f"file with --llm-model PATH.gguf") from None
    except (HfHubHTTPError, OSError, ValueError) as error:
        raise HubModelError(f"cannot fetch {model.filename} from {model.repo}: "
                            f"{str(error).splitlines()[0][:300]}") from None
    commit = path.parents[len(model.filename.split("/")) - 1].name   # …/snapshots/COMMIT/FILE
    if report is not None and not model.pinned and _COMMIT.match(commit):
        report(f"--llm-model resolved to commit {commit}: pin it with hf:{model.repo}/{model.filename}@{commit}")
    return path
