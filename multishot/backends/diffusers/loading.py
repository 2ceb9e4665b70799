"""Getting weights onto the machine and pipelines into memory, once per worker.

Weights come only through huggingface-hub (`snapshot_download` / `hf_hub_download` at the
profile's pinned revision, into the user's HF cache, honouring ``HF_HUB_OFFLINE``) or from a
local folder, and are read only with ``from_pretrained(..., use_safetensors=True)``; no
``trust_remote_code`` anywhere, and component classes are imported only from diffusers or
transformers.

Every component (transformer, VAE, text encoder, tokenizer, ...) is loaded on its own and kept in
a process-level cache keyed by where it came from, its dtype and its weights override; the
pipeline is then assembled with ``PipelineClass.from_pretrained(folder, **components)``, which
reads only model_index.json. So two roles on one model share one pipeline object, and two
models that declare the same VAE or text encoder (`shared_components`) hold one copy of it.
"""

from __future__ import annotations

from multishot.errors import InvalidInput

import importlib
import inspect
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from multishot.backends.base import Capability
from multishot.post.hashing import file_sha256

from .speed import TRANSFORMERS, prepare_transformer
from .profile import ComponentSource, Profile, RoleSpec, LoraSpec, Source, WeightsOverride, load_profile, resolve_local_path

log = logging.getLogger("multishot.backends.diffusers")

#: Libraries a model_index.json may name. Anything else would mean importing code the profile
#: author did not choose, which is what trust_remote_code is about.
ALLOWED_LIBRARIES = ("diffusers", "transformers")
#: Files a component folder may need: configs, safetensors weights, tokenizer vocabularies.
_COMPONENT_FILES = ("*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken")


class ModelNotAvailable(InvalidInput, RuntimeError):
    """A model's files are not on this machine and cannot be fetched now. The message is one
    paragraph for the user (the CLI prints it without a traceback)."""


class WeightsMismatch(RuntimeError):
    """A weights override does not fit the component it is meant for."""


# --------------------------------------------------------------------------------------------
# Hub access
# --------------------------------------------------------------------------------------------


def is_offline() -> bool:
    """``HF_HUB_OFFLINE`` read at call time (huggingface-hub reads it once at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hf_cache_dir() -> Path | None:
    """The user's HF cache, from ``HF_HUB_CACHE`` or ``HF_HOME`` at call time; None lets
    huggingface-hub use its default."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return None


def _not_available(what: str, revision: str | None, profile_name: str | None, why: str) -> ModelNotAvailable:
    fetch = (f"`multishot models download {profile_name}`" if profile_name
             else "`multishot models download PROFILE`")
    where = f"{what} at revision {revision}" if revision else what
    error = ModelNotAvailable(
        f"Model {where} is not available on this machine: {why}. Fetch it once with {fetch} "
        f"(with network access and HF_HUB_OFFLINE unset), then render again; downloaded files stay "
        f"in the Hugging Face cache ({hf_cache_dir() or 'the default HF cache'})."
    )
    error.model = f"Model {where}"  # type: ignore[attr-defined]  # for `models download`'s own sentence
    return error


def fetch_repo_files(repo: str, revision: str, patterns: list[str], *, profile_name: str | None = None,
                     offline: bool | None = None) -> Path:
    """The local snapshot folder of `repo`@`revision` holding the files matching `patterns`,
    downloading what is missing unless offline."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError, LocalEntryNotFoundError, OfflineModeIsEnabled, RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    offline = is_offline() if offline is None else offline
    try:
        folder = snapshot_download(repo, revision=revision, allow_patterns=patterns, cache_dir=hf_cache_dir(),
                                   local_files_only=offline)
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):
        why = ("it is not in the Hugging Face cache and HF_HUB_OFFLINE is set" if offline
               else "it is not in the Hugging Face cache and the Hub could not be reached")
        raise _not_available(repo, revision, profile_name, why) from None
    except GatedRepoError:
        raise _not_available(repo, revision, profile_name,
                             "the repository is gated; accept its licence on huggingface.co and log in "
                             "with `hf auth login`") from None
    except RevisionNotFoundError:
        raise _not_available(repo, revision, profile_name, "that revision does not exist in the repository"
                             ) from None
    except RepositoryNotFoundError:
        raise _not_available(repo, revision, profile_name, "the repository does not exist or is private"
                             ) from None
    return Path(folder)


def fetch_file(repo: str, revision: str, filename: str, *, profile_name: str | None = None) -> Path:
    folder = fetch_repo_files(repo, revision, [filename], profile_name=profile_name)
    path = folder / filename
    if not path.is_file():
        raise _not_available(f"{repo}/{filename}", revision, profile_name, "the file is missing from the snapshot")
    return path


# --------------------------------------------------------------------------------------------
# Folders of models
# --------------------------------------------------------------------------------------------


def read_model_index(folder: Path) -> dict[str, tuple[str, str]]:
    """Component name -> (library, class) from a diffusers model_index.json (absent ones skipped)."""
    data = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    comps: dict[str, tuple[str, str]] = {}
    for name, value in data.items():
        if name.startswith("_") or not isinstance(value, list) or len(value) != 2:
            continue
        lib, cls = value
        if lib is None or cls is None:
            continue
        comps[name] = (lib, cls)
    return comps


def _component_patterns(subfolders: list[str]) -> list[str]:
    return [f"{sub}/{pat}" for sub in subfolders for pat in _COMPONENT_FILES]


def _check_component_files(folder: Path, subfolder: str, label: str, revision: str | None,
                           profile_name: str | None) -> None:
    """A component folder is complete when it has its JSON files and, for a model (one with
    config.json), its safetensors weights including every shard its index lists; an interrupted
    download must not surface later as a confusing from_pretrained error."""
    sub = folder / subfolder
    problem = None
    if not sub.is_dir() or not any(sub.glob("*.json")):
        problem = f"{sub} is missing"
    elif (sub / "config.json").is_file():
        shards: set[str] = set()
        for index in sub.glob("*.safetensors.index.json"):
            shards |= set(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values())
        if not shards and not any(sub.glob("*.safetensors")):
            problem = f"{sub} has no .safetensors weights"
        elif any(not (sub / s).is_file() for s in shards):
            problem = f"{sub} is missing weight shards"
    if problem:
        raise _not_available(f"{label} (component `{subfolder}`)", revision, profile_name, problem)


def local_folder(src: Source, base: Path, *, profile_name: str | None = None) -> Path:
    """The folder of a local model; builds it first when it is a `build: tiny` folder."""
    folder = resolve_local_path(src.path or "", base)
    if not (folder / "model_index.json").is_file() and src.build == "tiny":
        from .tiny import ensure_built

        ensure_built(folder)
    if not folder.is_dir():
        raise ModelNotAvailable(
            f"Model folder {folder} (profile `{profile_name}`) does not exist. Point the profile's `path` "
            "at a folder written by diffusers' save_pretrained, or use a Hub `repo` with a `revision`."
        )
    return folder


def resolve_model(src: Source, base: Path, components: list[str] | None, *,
                  profile_name: str | None = None) -> Path:
    """Local folder holding `src`'s model_index.json and the given component folders (all of
    them when None). Hub repos are fetched in two steps: model_index.json first, to learn the
    components, then only the component folders that are really needed."""
    if src.repo is None:
        return local_folder(src, base, profile_name=profile_name)
    assert src.revision is not None
    folder = fetch_repo_files(src.repo, src.revision, ["model_index.json"], profile_name=profile_name)
    if components is None:
        components = list(read_model_index(folder))
    if components:
        folder = fetch_repo_files(src.repo, src.revision, _component_patterns(components),
                                  profile_name=profile_name)
    for comp in components:
        _check_component_files(folder, comp, src.repo, src.revision, profile_name)
    return folder


def resolve_component_folder(src: ComponentSource, name: str, base: Path, *,
                             profile_name: str | None = None) -> tuple[Path, str]:
    """(folder, subfolder) of a shared component."""
    sub = src.subfolder or name
    if src.repo is None:
        return local_folder(src, base, profile_name=profile_name), sub
    assert src.revision is not None
    folder = fetch_repo_files(src.repo, src.revision, _component_patterns([sub]), profile_name=profile_name)
    _check_component_files(folder, sub, src.repo, src.revision, profile_name)
    return folder, sub


def resolve_weights_file(w: WeightsOverride | LoraSpec, base: Path, *, profile_name: str | None = None) -> Path:
    if w.repo is not None:
        assert w.revision is not None and w.filename is not None
        path = fetch_file(w.repo, w.revision, w.filename, profile_name=profile_name)
    else:
        path = resolve_local_path(w.path or "", base)
        if not path.is_file():
            raise ModelNotAvailable(f"Weights file {path} (profile `{profile_name}`) does not exist.")
    if w.sha256:
        check_sha256(path, w.sha256, w.source_label(), profile_name)
    return path


_VERIFIED: dict[tuple[str, int, int, str], bool] = {}
_VERIFIED_LOCK = threading.Lock()


def check_sha256(path: Path, expected: str, label: str, profile_name: str | None) -> None:
    """Refuse a weights file whose bytes are not the published ones. The HF cache stores files
    by the Hub's own hash, but a copy edited in place, a truncated local file or a revision that
    was force-pushed would otherwise load silently. The result is remembered per (file, size,
    mtime) for the process, so a 700 MB LoRA is read once, not at every pipeline load."""
    real = path.resolve()
    st = real.stat()
    key = (str(real), st.st_size, st.st_mtime_ns, expected)
    with _VERIFIED_LOCK:
        if _VERIFIED.get(key):
            return
    got = file_sha256(real, chunk=1 << 22)
    if got != expected:
        fix = (f"delete it (`{path}`) and fetch it again with `multishot models download {profile_name}`"
               if profile_name else f"delete it (`{path}`) and fetch it again")
        raise ModelNotAvailable(
            f"Weights file {label} (profile `{profile_name}`) is damaged or not the pinned file: its "
            f"SHA-256 is {got}, the profile pins {expected}; {fix}.")
    with _VERIFIED_LOCK:
        _VERIFIED[key] = True


def download_profile(name_or_profile: str | Profile) -> list[Path]:
    """Fetch exactly the files a profile needs (for `multishot models download PROFILE`); build
    `tiny` folders offline. Returns the local files. Runs online even when this process was
    started with HF_HUB_OFFLINE unset only; offline it verifies the cache instead."""
    profile = name_or_profile if isinstance(name_or_profile, Profile) else load_profile(name_or_profile)
    if not isinstance(profile, Profile):  # another backend's profile (the animatic): no models to fetch
        return []
    base = profile.base_dir
    files: list[Path] = []
    seen: set[str] = set()
    for role in profile.roles.values():
        if role.repo is not None:
            index_folder = resolve_model(role, base, [], profile_name=profile.name)
            needed = [c for c in read_model_index(index_folder) if c not in role.shared_components]
            folder = resolve_model(role, base, needed, profile_name=profile.name)
            files += [folder / "model_index.json"]
            files += [f for c in needed for f in sorted((folder / c).iterdir()) if f.is_file()]
        else:
            folder = local_folder(role, base, profile_name=profile.name)
            files += [f for f in sorted(folder.rglob("*")) if f.is_file()]
        for name, src in role.shared_components.items():
            cfolder, sub = resolve_component_folder(src, name, base, profile_name=profile.name)
            files += [f for f in sorted((cfolder / sub).iterdir()) if f.is_file()]
        for w in (*role.weights_override, *role.loras):
            files.append(resolve_weights_file(w, base, profile_name=profile.name))
    unique: list[Path] = []
    for f in files:
        key = os.fspath(f)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def transformer_configs(profile: Profile, role: RoleSpec) -> list[tuple[str, str, dict[str, Any]]]:
    """(component, class name, config.json) of every transformer of a role's model, read
    without loading any weights (checks made before any work, e.g. `render --cp`)."""
    base = profile.base_dir
    if role.repo is None:
        folder = local_folder(role, base, profile_name=profile.name)
    else:
        assert role.revision is not None
        folder = fetch_repo_files(role.repo, role.revision,
                                  ["model_index.json", *(f"{c}/config.json" for c in TRANSFORMERS)],
                                  profile_name=profile.name)
    index = read_model_index(folder)
    out = []
    for comp in TRANSFORMERS:
        config = folder / comp / "config.json"
        if comp in index and config.is_file():
            out.append((comp, index[comp][1], json.loads(config.read_text(encoding="utf-8"))))
    return out


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def torch_dtype(name: str) -> Any:
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def _quiet_library_progress() -> None:
    """multishot shows its own progress; the libraries' per-load tqdm bars would interleave with
    it. MULTISHOT_VERBOSE=1 keeps them."""
    if os.environ.get("MULTISHOT_VERBOSE"):
        return
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def _import_class(library: str, name: str) -> type:
    _quiet_library_progress()
    if library not in ALLOWED_LIBRARIES:
        raise ValueError(f"model_index.json names a component class from `{library}`; multishot only loads "
                         f"classes from {', '.join(ALLOWED_LIBRARIES)} (no remote code)")
    module = importlib.import_module(library)
    cls = getattr(module, name, None)
    if cls is None:
        raise ValueError(f"{library} {module.__version__} has no class `{name}`; upgrade {library}")
    return cls


def _load_component(library: str, cls_name: str, folder: Path, subfolder: str, dtype: Any) -> Any:
    import torch

    cls = _import_class(library, cls_name)
    if isinstance(cls, type) and issubclass(cls, torch.nn.Module):
        module = cls.from_pretrained(folder, subfolder=subfolder, use_safetensors=True, dtype=dtype)
        return module.eval()
    return cls.from_pretrained(folder, subfolder=subfolder)


def apply_weights_override(module: Any, path: Path, mapping: str) -> None:
    """Load `path` (safetensors), rename its keys with `mapping`, and load them strictly, so a
    checkpoint for another architecture fails loudly instead of half-loading."""
    from safetensors.torch import load_file

    from .weights import get_mapping

    state = get_mapping(mapping)(load_file(os.fspath(path)))
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        def show(keys: list[str]) -> str:
            return ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")
        raise WeightsMismatch(
            f"weights {path} (mapping `{mapping}`) do not fit {type(module).__name__}: "
            f"missing {len(missing)} [{show(missing)}], unexpected {len(unexpected)} [{show(unexpected)}], "
            f"wrong shape {len(wrong)} [{show(wrong)}]"
        )
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)


def apply_loras(module: Any, loras: list[tuple[Path, Any]]) -> None:
    """Load LoRAs (safetensors) into a transformer with diffusers' LoRA loading (peft), keys
    converted by `weights.lora_to_diffusers`, each at its profile scale."""
    from safetensors.torch import load_file

    from .weights import lora_to_diffusers

    names, scales = [], []
    for i, (path, spec) in enumerate(loras):
        state = lora_to_diffusers(load_file(os.fspath(path)), spec.format)
        if not state:
            raise WeightsMismatch(f"LoRA {path} (format `{spec.format}`) has no keys diffusers can place")
        name = f"multishot_lora_{i}"
        module.load_lora_adapter(state, prefix="transformer", adapter_name=name)
        names.append(name)
        scales.append(spec.scale)
    module.set_adapters(names, weights=scales)
    fused = [n for n, (_, spec) in zip(names, loras) if spec.fuse]
    if fused and len(fused) != len(names):
        raise WeightsMismatch("fuse all LoRAs of one component or none (`fuse: true` on each, or on none)")
    if fused:
        # Merge W + scale * B @ A into the base weights, then drop the adapter layers so no
        # step pays for them (diffusers' fuse_lora, then unload_lora keeps the merged weights).
        module.fuse_lora(adapter_names=fused)
        module.unload_lora()
    else:
        # Shot LoRAs (shot_loras.py) are switched on top of these and back to these.
        module._multishot_base_adapters = (tuple(names), tuple(scales))


def _make_scheduler(loaded: Any, role: RoleSpec) -> Any:
    """A fresh scheduler per pipeline (schedulers hold per-call state), of the profile's class
    and shift when it names them (`flow_shift` for UniPC/DPM, `shift` for flow-match Euler)."""
    import diffusers

    cls = getattr(diffusers, role.scheduler, None) if role.scheduler else type(loaded)
    if cls is None:
        raise ValueError(f"diffusers {diffusers.__version__} has no scheduler `{role.scheduler}`")
    overrides: dict[str, Any] = {}
    if role.flow_shift is not None:
        params = inspect.signature(cls.__init__).parameters
        key = next((k for k in ("flow_shift", "shift") if k in params), None)
        if key is None:
            raise ValueError(f"scheduler {cls.__name__} has no flow shift setting; remove `flow_shift`")
        overrides[key] = role.flow_shift
    return cls.from_config(loaded.config, **overrides)


@dataclass
class LoadedPipeline:
    """A pipeline in this worker, with the memory strategy ladder it runs under."""

    key: tuple[Any, ...]
    pipe: Any
    ladder: tuple[str, ...]
    device: Any
    level: int = 0
    #: The strategy currently applied (None: not placed on the device yet, or parked).
    applied: str | None = None
    roles: set[Capability] = field(default_factory=set)

    @property
    def strategy(self) -> str:
        return self.ladder[self.level]


class PipelineCache:
    """Process-level cache: one load per worker. `pipeline_loads` and `component_loads` count
    real loads, for tests and for the run log."""

    def __init__(self) -> None:
        self._pipelines: dict[tuple[Any, ...], LoadedPipeline] = {}
        self._components: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.RLock()
        self.pipeline_loads = 0
        self.component_loads = 0

    def entries(self) -> list[LoadedPipeline]:
        return list(self._pipelines.values())

    def clear(self) -> None:
        with self._lock:
            self._pipelines.clear()
            self._components.clear()

    def get(self, profile: Profile, cap: Capability, device: Any) -> LoadedPipeline:
        """The pipeline serving `cap` of `profile` on `device`, loading it on first use."""
        role = profile.roles[cap]
        base = profile.base_dir
        where = (role.repo, role.revision) if role.repo else (os.fspath(resolve_local_path(role.path or "", base)),)
        key = (*where, *role.load_key()[3:], str(device))
        with self._lock:
            entry = self._pipelines.get(key)
            if entry is None:
                pipe = self._load_pipeline(profile, role, base, device)
                entry = LoadedPipeline(key=key, pipe=pipe, ladder=tuple(role.memory), device=device)
                self._pipelines[key] = entry
            entry.roles.add(cap)
            return entry

    def _component(self, key: tuple[Any, ...], load: Any) -> Any:
        if key not in self._components:
            self._components[key] = load()
            self.component_loads += 1
        return self._components[key]

    def _load_pipeline(self, profile: Profile, role: RoleSpec, base: Path, device: Any) -> Any:
        import diffusers

        cls = getattr(diffusers, role.pipeline, None)
        if cls is None or not issubclass(cls, diffusers.DiffusionPipeline):
            raise ValueError(f"profile `{profile.name}`: diffusers {diffusers.__version__} has no pipeline "
                             f"`{role.pipeline}`")
        name = profile.name
        index_folder = resolve_model(role, base, [], profile_name=name)
        index = read_model_index(index_folder)
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
        for comp in list(role.shared_components) + list(role.component_dtypes):
            if comp not in index and comp not in accepted:
                raise ValueError(f"profile `{name}`: {role.pipeline} has no component `{comp}` "
                                 f"(it takes {', '.join(sorted(accepted))})")
        own = [c for c in index if c not in role.shared_components]
        folder = resolve_model(role, base, own, profile_name=name)
        overrides = {w.component: w for w in role.weights_override}
        model_id = role.repo or os.fspath(folder)
        components: dict[str, Any] = {}
        for comp, (lib, cls_name) in index.items():
            src_id: tuple[Any, ...] = (model_id, role.revision, comp)
            cfolder, sub = folder, comp
            shared = role.shared_components.get(comp)
            if shared is not None:
                cfolder, sub = resolve_component_folder(shared, comp, base, profile_name=name)
                src_id = (shared.repo or os.fspath(cfolder), shared.revision, sub)
            dtype = torch_dtype(role.component_dtypes.get(comp, role.dtype))
            w = overrides.get(comp)
            wkey = w.label() + ":" + w.mapping if w else None
            loras = tuple(lo for lo in role.loras if lo.component == comp)
            kernels = None
            if comp in TRANSFORMERS and (role.speed.compile or role.speed.attention_backend):
                kernels = (bool(role.speed.compile), role.speed.compile_mode, role.speed.attention_backend)
            # LoRAs, compilation and the attention backend change the module in place, so such
            # a transformer is its own cache entry.
            key = (*src_id, lib, cls_name, str(dtype), wkey, tuple(lo.label() for lo in loras), kernels)

            def load(lib: str = lib, cls_name: str = cls_name, cfolder: Path = cfolder, sub: str = sub,
                     dtype: Any = dtype, w: WeightsOverride | None = w, loras: tuple[Any, ...] = loras,
                     kernels: Any = kernels) -> Any:
                module = _load_component(lib, cls_name, cfolder, sub, dtype)
                if w is not None:
                    apply_weights_override(module, resolve_weights_file(w, base, profile_name=name), w.mapping)
                if loras:
                    apply_loras(module, [(resolve_weights_file(lo, base, profile_name=name), lo) for lo in loras])
                if kernels is not None:
                    prepare_transformer(module, role.speed)
                if comp in TRANSFORMERS:  # `render --cp N`: sharded over this worker's N ranks
                    from .ulysses import shard_loaded

                    shard_loaded(module)
                return module

            components[comp] = self._component(key, load)
        # Components a pipeline can take that this repo does not ship (e.g. the I2V image
        # encoder for an FLF model) can still come from `shared_components`.
        for comp, shared in role.shared_components.items():
            if comp in components:
                continue
            cfolder, sub = resolve_component_folder(shared, comp, base, profile_name=name)
            cindex = read_model_index(cfolder) if (cfolder / "model_index.json").is_file() else {}
            if comp not in cindex:
                raise ValueError(f"profile `{name}`: cannot tell the class of shared component `{comp}`")
            lib, cls_name = cindex[comp]
            dtype = torch_dtype(role.component_dtypes.get(comp, role.dtype))
            key = (shared.repo or os.fspath(cfolder), shared.revision, sub, lib, cls_name, str(dtype), None)
            components[comp] = self._component(
                key, lambda lib=lib, cls_name=cls_name, cfolder=cfolder, sub=sub, dtype=dtype:
                _load_component(lib, cls_name, cfolder, sub, dtype))
        if "scheduler" in components:
            components["scheduler"] = _make_scheduler(components["scheduler"], role)
        # All components are passed, so from_pretrained reads only model_index.json here.
        pipe = cls.from_pretrained(folder, use_safetensors=True, dtype=torch_dtype(role.dtype), **components)
        pipe.set_progress_bar_config(disable=True)
        self.pipeline_loads += 1
        log.info("loaded %s from %s (%s) for profile %s", role.pipeline, role.label(), role.dtype, name)
        return pipe


#: The worker's cache. Backends use it unless given another (tests pass a fresh one).
PIPELINES = PipelineCache()
