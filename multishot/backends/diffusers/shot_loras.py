"""LoRAs a shot list asks for (a character's `lora:`, a shot's `loras:`), switched per shot on
the already loaded model with diffusers' own LoRA loading (`load_lora_adapter`,
`set_adapters`, `disable_lora`; peft underneath).

Each file is loaded once per process as a named adapter on the transformer; a call activates
the profile's own attached LoRAs plus the shot's, at their weights, and afterwards puts the
transformer back to the profile's set (adapters disabled when it has none), so the next shot
without LoRAs computes exactly what the base model computes. The base model is never reloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from multishot.backends.base import LoraUnusable, LoraUse

#: Shot LoRAs go into the main transformer only (Wan 2.2's two experts take separate LoRAs,
#: which a profile's `loras:` can name per component).
TARGET = "transformer"


def adapter_name(lo: LoraUse) -> str:
    return "shot_" + hashlib.sha256(f"{lo.label}|{lo.fingerprint}|{lo.format}".encode()).hexdigest()[:12]


def base_adapters(module: Any) -> tuple[list[str], list[float]]:
    """The profile's attached (not fused) LoRAs on this module, as loading.apply_loras set them."""
    names, weights = getattr(module, "_multishot_base_adapters", ((), ()))
    return list(names), list(weights)


class ShotLoras:
    """The per-process registry of shot LoRAs loaded onto transformers."""

    def __init__(self) -> None:
        self._loaded: dict[tuple[int, str], str] = {}
        self._lock = threading.Lock()

    def _ensure(self, module: Any, lo: LoraUse, path: Path) -> str:
        from safetensors.torch import load_file

        from .weights import lora_to_diffusers

        key = (id(module), adapter_name(lo))
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
            try:
                state = lora_to_diffusers(load_file(os.fspath(path)), lo.format)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's input
                raise LoraUnusable(f"LoRA `{lo.label}`: cannot be read as a `{lo.format}` LoRA ({exc})") from None
            if not state:
                raise LoraUnusable(f"LoRA `{lo.label}` (format `{lo.format}`) has no keys this model can take")
            name = adapter_name(lo)
            try:
                module.load_lora_adapter(state, prefix="transformer", adapter_name=name)
            except (RuntimeError, ValueError, KeyError) as exc:
                first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
                raise LoraUnusable(f"LoRA `{lo.label}` does not fit {type(module).__name__} (a LoRA for another "
                                   f"model or size?): {first}") from None
            self._loaded[key] = name
            return name

    def check(self, pipe: Any, loras: Sequence[LoraUse], resolve: Callable[[LoraUse], Path]) -> None:
        """Load (once) every LoRA onto the model, so a bad file fails before any generation."""
        module = getattr(pipe, TARGET, None)
        if module is None:
            raise LoraUnusable(f"this pipeline has no `{TARGET}` to put LoRAs into")
        for lo in loras:
            self._ensure(module, lo, resolve(lo))
        self._restore(module)

    @contextlib.contextmanager
    def active(self, pipe: Any, loras: Sequence[LoraUse], resolve: Callable[[LoraUse], Path]) -> Iterator[None]:
        """The shot's LoRAs active on the pipeline's transformer for one call."""
        module = getattr(pipe, TARGET, None)
        if not loras or module is None:
            yield
            return
        names, weights = base_adapters(module)
        seen: set[str] = set()
        for lo in loras:
            name = self._ensure(module, lo, resolve(lo))
            if name not in seen:  # a LoRA named twice (character and shot) counts once
                seen.add(name)
                names.append(name)
                weights.append(lo.weight)
        try:
            module.enable_lora()
            module.set_adapters(names, weights=weights)
            yield
        finally:
            self._restore(module)

    @staticmethod
    def _restore(module: Any) -> None:
        if not getattr(module, "peft_config", None):
            return
        names, weights = base_adapters(module)
        if names:
            module.enable_lora()
            module.set_adapters(names, weights=weights)
        else:
            module.disable_lora()


#: The worker's registry (one per process, like the pipeline cache).
SHOT_LORAS = ShotLoras()
