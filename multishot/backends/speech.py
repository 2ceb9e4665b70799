"""A scratch dialogue voice: eSpeak NG, the library and voice data that the `espeakng-loader`
wheel ships, driven through ctypes.

Why eSpeak NG (README "Dependencies and why"): it is a formant synthesiser, so its voices are
rules and small tables in the wheel — nothing is downloaded at run time, it needs no model
weights, it synthesises a line in milliseconds on one core, and the same text, voice and version
give the same samples, which the content-addressed cache relies on. It sounds robotic; for a
scratch track (timing, who speaks when) that is what previz tools ship too. Neural engines
(Piper, Kokoro) sound far better but fetch their voice models from a hub, which this project's
machines cannot do at run time.

A character's voice is a pure function of its id and description: a woman / girl gets a female
variant, a man / boy a male one, a child a higher pitch, and the id picks the variant and a
small pitch and speed offset so two characters of one kind still differ.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from hashlib import sha256

import numpy as np

_LOCK = threading.Lock()  # libespeak-ng keeps global state: one synthesis at a time
_LIB: ctypes.CDLL | None = None
_RATE = 0

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE_PARAM, _VOLUME_PARAM, _PITCH_PARAM, _RANGE_PARAM = 1, 2, 3, 4
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class SpeechUnavailable(RuntimeError):
    """The eSpeak NG library could not be loaded (the `espeakng-loader` package is missing)."""


@dataclass(frozen=True)
class Voice:
    """How one character speaks: an eSpeak voice name (language + variant), pitch and speed."""

    name: str
    pitch: int   # 0-100, eSpeak's default 50
    rate: int    # words per minute, eSpeak's default 175


_FEMALE = ("woman", "women", "girl", "girls", "she", "her", "lady", "mother", "daughter", "sister",
           "grandmother", "granny", "aunt", "wife", "queen", "actress", "waitress")
_MALE = ("man", "men", "boy", "boys", "he", "his", "gentleman", "father", "son", "brother",
         "grandfather", "grandpa", "uncle", "husband", "king", "actor", "waiter")
_CHILD = ("boy", "girl", "child", "kid", "toddler", "son", "daughter")


def voice_for(char_id: str, description: str) -> Voice:
    """The character's voice (see the module docstring)."""
    import re

    words = set(re.findall(r"[a-z]+", (description or "").lower()))
    u = int.from_bytes(sha256(f"voice\x1f{char_id}".encode()).digest()[:4], "little")
    female = bool(words & set(_FEMALE)) and not (words & {"man", "boy", "he", "his"})
    male = bool(words & set(_MALE)) and not female
    child = bool(words & set(_CHILD))
    if female:
        variant = ("f1", "f2", "f3", "f4")[u % 4]
    elif male:
        variant = ("m1", "m2", "m3", "m4", "m7")[u % 5]
    else:
        variant = ("m3", "f2", "m1", "f4")[u % 4]
    pitch = 50 + (u >> 8) % 21 - 10 + (25 if child else 0)
    rate = 165 + (u >> 16) % 21
    return Voice(f"en+{variant}", max(0, min(100, pitch)), rate)


def _library() -> ctypes.CDLL:
    global _LIB, _RATE
    if _LIB is not None:
        return _LIB
    try:
        import espeakng_loader
    except ImportError as error:
        raise SpeechUnavailable("the scratch voice needs the `espeakng-loader` package "
                                "(pip install espeakng-loader), or render with --no-audio") from error
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
    if rate <= 0:
        raise SpeechUnavailable(f"eSpeak NG failed to initialise ({rate})")
    _LIB, _RATE = lib, rate
    return lib


def engine_identity() -> dict[str, object]:
    """What determines the samples (part of the voice track's cache key)."""
    with _LOCK:
        lib = _library()
        version = (lib.espeak_Info(None) or b"").decode("ascii", "replace")
    return {"engine": "espeak-ng", "version": version, "sample_rate": _RATE}


def sample_rate() -> int:
    with _LOCK:
        _library()
    return _RATE


def synthesize(text: str, voice: Voice) -> np.ndarray:
    """The line spoken by `voice`: int16 mono samples at `sample_rate()`. Text is passed as data
    (UTF-8 characters, eSpeak's SSML and phoneme input off), never interpreted as markup."""
    chunks: list[np.ndarray] = []

    def on_audio(wav: ctypes.POINTER(ctypes.c_short), n: int, _events: ctypes.c_void_p) -> int:  # type: ignore[valid-type]
        if n > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    callback = _CALLBACK(on_audio)
    data = " ".join(str(text).split()).encode("utf-8") + b"\0"
    with _LOCK:
        lib = _library()
        lib.espeak_SetSynthCallback(callback)
        # eSpeak adds noise (aspiration, jitter) from its own generator: seed it per line so the
        # same line gives the same samples whatever was synthesised before.
        lib.espeak_ng_SetRandSeed(ctypes.c_long(int.from_bytes(sha256(data).digest()[:4], "little")))
        if lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            lib.espeak_SetVoiceByName(b"en")
        lib.espeak_SetParameter(_RATE_PARAM, voice.rate, 0)
        lib.espeak_SetParameter(_PITCH_PARAM, voice.pitch, 0)
        lib.espeak_SetParameter(_VOLUME_PARAM, 100, 0)
        lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
    return np.concatenate(chunks).astype(np.int16) if chunks else np.zeros(0, np.int16)




def synthesize_all(lines: list[tuple[str, Voice]]) -> tuple[int, list[np.ndarray]]:
    """Every line, in order, synthesised in a fresh process.

    eSpeak NG carries state from one utterance to the next (its pitch flutter and noise), so a
    line's samples depend on what the process said before. A fresh process fed the lines in a
    fixed order gives the same samples every time: the film's voice track is reproducible.
    Text goes to the child as JSON on stdin, never through a shell."""
    import json
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    if not lines:
        return sample_rate(), []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "lines.npz"
        payload = json.dumps([{"text": t, "voice": v.name, "pitch": v.pitch, "rate": v.rate} for t, v in lines])
        proc = subprocess.run([sys.executable, "-m", "multishot.backends.speech", str(out)],
                              input=payload.encode("utf-8"), capture_output=True)
        if proc.returncode != 0:
            raise SpeechUnavailable(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or "eSpeak NG failed")
        with np.load(out) as data:
            return int(data["rate"]), [data[f"line{i}"] for i in range(len(lines))]


def _main() -> None:
    import json
    import sys

    items = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    arrays = {f"line{i}": synthesize(it["text"], Voice(it["voice"], int(it["pitch"]), int(it["rate"])))
              for i, it in enumerate(items)}
    np.savez(sys.argv[1], rate=np.array(sample_rate()), **arrays)


__all__ = ["SpeechUnavailable", "Voice", "engine_identity", "sample_rate", "synthesize", "synthesize_all", "voice_for"]


if __name__ == "__main__":
    _main()
