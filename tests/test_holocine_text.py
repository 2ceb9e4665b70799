"""HoloCine's prompt string, token spans, text windows and frame cuts against the data HoloCine's
own code produced (../shared/parity/holocine, README there), plus the character-tag composition.

The golden tests skip when ../shared/parity is not beside the checkout; the rest always run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from multishot.backends.diffusers import holocine_text as ht
from multishot.backends.diffusers.holocine_text import (
    PromptSpans, clean_whitespace, compose_holocine_captions, cuts_from_shot_lengths, holocine_cut_frames,
    holocine_prompt, holocine_token_spans, holocine_visible_text, latent_shot_frames, snap_4t_plus_1,
)

PARITY = Path(__file__).resolve().parents[2] / "shared" / "parity"
GOLD = PARITY / "holocine"
needs_golden = pytest.mark.skipif(not GOLD.is_dir(), reason=f"HoloCine goldens not found at {GOLD} "
                                  "(../shared/parity beside the checkout)")

# The golden's captions, also written here so the composition test runs without the goldens.
GLOBAL_IN = "A harbor at dawn. [character1] is an old fisherman in a grey coat."
SHOTS_IN = ["Wide shot of the harbor and boats.", "Close-up of [character1] tying a rope.",
            "Medium shot of [character1] looking at the sea."]


@pytest.fixture(scope="module")
def gold() -> dict:
    return json.loads((GOLD / "inputs.json").read_text())


@pytest.fixture(scope="module")
def tensors() -> dict:
    from safetensors.torch import load_file

    return load_file(str(GOLD / "inputs.safetensors"))


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(GOLD), use_fast=True)


def expand(ranges: tuple[tuple[int, int], ...]) -> list[int]:
    return [i for a, b in ranges for i in range(a, b)]


# ---------------------------------------------------------------------------- goldens

@needs_golden
def test_prompt_string_is_holocines(gold: dict) -> None:
    assert gold["global_caption_in"] == GLOBAL_IN and gold["shot_captions_in"] == SHOTS_IN
    assert holocine_prompt(gold["global_caption_in"], gold["shot_captions_in"]) == gold["prompt"]


@needs_golden
def test_token_spans_and_ids_are_holocines(gold: dict, tensors: dict, tokenizer) -> None:
    spans, enc = holocine_token_spans(tokenizer, gold["prompt"], gold["text_len"])
    assert spans.to_positions() == gold["text_cut_positions_posi"]
    assert spans == PromptSpans((0, 28), ((28, 44), (44, 59), (59, 70)))
    assert enc["input_ids"].shape == (1, gold["text_len"])
    assert enc["input_ids"].tolist() == tensors["input_ids_posi"].tolist()
    assert enc["attention_mask"].tolist() == tensors["attention_mask_posi"].tolist()
    assert enc["offset_mapping"].tolist() == tensors["offset_mapping_posi"].tolist()
    assert int(enc["attention_mask"].sum()) == gold["seq_len_posi"]
    assert tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist()) == gold["tokens_posi"]
    # The `▁[` of `[per shot caption]` (its offsets include the leading space) counts as global.
    assert gold["tokens_posi"][27] == "▁[" and spans.global_span[1] == 28


@needs_golden
def test_visible_text_is_holocines_mask(gold: dict, tokenizer) -> None:
    spans, _ = holocine_token_spans(tokenizer, gold["prompt"], gold["text_len"])
    visible = holocine_visible_text(spans, gold["text_len"])
    assert [expand(v) for v in visible] == gold["cross_attn_allowed_tokens_per_shot"]
    assert visible == (((0, 45), (71, 96)), ((0, 29), (44, 60), (71, 96)), ((0, 29), (59, 96)))
    for ranges in visible:  # disjoint and sorted: a key listed twice would weigh twice
        assert all(a < b for a, b in ranges)
        assert all(prev[1] < nxt[0] for prev, nxt in zip(ranges, ranges[1:]))


@needs_golden
def test_cuts_and_latent_frames_are_holocines(gold: dict) -> None:
    assert holocine_cut_frames(37, 3) == gold["shot_cut_frames"]
    assert snap_4t_plus_1(37) == gold["num_frames"]
    assert latent_shot_frames(gold["num_frames"], gold["shot_cut_frames"]) == gold["latent_frames_per_shot"]
    assert [(f - 1) // 4 + 1 for f in gold["shot_cut_frames"]] == gold["shot_cut_latents"][1:]


@needs_golden
def test_spans_come_from_the_raw_prompt_and_tokens_from_the_cleaned_one(gold: dict, tensors: dict,
                                                                        tokenizer) -> None:
    """HoloCine's quirk, reproduced: the tokenizer sees the cleaned prompt (same ids as the golden),
    but the char spans are found in the raw one, so one extra space before the first `[shot cut]`
    moves every later border one character right -- and the first token after each cut (its
    offsets start at the cleaned border) into the shot before it."""
    spans, enc = holocine_token_spans(tokenizer, gold["prompt"].replace("at dawn", "at  dawn"), 96)
    assert enc["input_ids"].tolist() == tensors["input_ids_posi"].tolist()
    assert spans == PromptSpans((0, 28), ((28, 45), (45, 60), (60, 70)))
    spans, _ = holocine_token_spans(tokenizer, " " + gold["prompt"], 96)
    assert spans.global_span == (1, 28)  # the first `▁[` (0, 1) ends where the raw marker starts


@needs_golden
def test_truncated_prompt_keeps_eos_and_clips_spans(gold: dict, tokenizer) -> None:
    spans, enc = holocine_token_spans(tokenizer, gold["prompt"], 40)
    ids = enc["input_ids"][0].tolist()
    assert len(ids) == 40 and ids[-1] == tokenizer.eos_token_id
    assert spans == PromptSpans((0, 28), ((28, 39),))


@needs_golden
def test_one_shot_prompt_spans(tokenizer) -> None:
    prompt = holocine_prompt("A harbor at dawn.", ["Wide shot of the harbor and boats."])
    assert prompt.endswith("This scene contains 1 shots. [per shot caption] Wide shot of the harbor and boats.")
    spans, enc = holocine_token_spans(tokenizer, prompt, 96)
    n = int(enc["attention_mask"].sum())
    assert spans.global_span[0] == 0 and len(spans.shots) == 1
    assert spans.shots[0] == (spans.global_span[1], n - 1)  # up to, not including, </s>
    assert holocine_visible_text(spans, 96) == (((0, 96),),)


def test_slow_tokenizer_is_refused() -> None:
    class Slow:
        is_fast = False

    with pytest.raises(TypeError, match="fast tokenizer"):
        holocine_token_spans(Slow(), "[global caption] x", 16)


# ---------------------------------------------------------------------------- prompt string

def test_prompt_string_shape() -> None:
    assert holocine_prompt("  A room.  ", ["a", "b"]) == (
        "[global caption] A room. This scene contains 2 shots. [per shot caption] a [shot cut] b")
    # HoloCine's own test: a caption that states the count is used as is (not even stripped).
    assert holocine_prompt("A room. This scene contains 2 shots. ", ["a", "b"]) == (
        "[global caption] A room. This scene contains 2 shots.  [per shot caption] a [shot cut] b")


@pytest.mark.parametrize("global_caption, shots, match", [
    ("A room.", ["a [shot cut] b"], "marker"),
    ("A room. [per shot caption]", ["a"], "marker"),
    ("A room.", ["a", "  "], "shot 2: empty"),
    (" ", ["a"], "global caption"),
    ("A room.", [], "at least one shot"),
])
def test_prompt_refuses_inputs_that_break_spans(global_caption: str, shots: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        holocine_prompt(global_caption, shots)


def test_clean_whitespace() -> None:
    assert clean_whitespace("  a&amp;amp;b\u3000\u2003c\n\td  ") == "a&b c d"


def test_whitespace_class_is_the_regex_modules() -> None:
    regex = pytest.importorskip("regex")  # HoloCine's prompter collapses with `regex`, not `re`
    every = "".join(chr(i) for i in range(0x10000))  # no Unicode whitespace lies outside the BMP
    assert ht._WHITESPACE.findall(every) != []
    assert "".join(ht._WHITESPACE.findall(every)) == "".join(regex.findall(r"\s+", every))
    assert re.findall(r"\s", "\x1c") and not ht._WHITESPACE.findall("\x1c")


# ---------------------------------------------------------------------------- frames

def test_snap_uses_bankers_rounding() -> None:
    assert [snap_4t_plus_1(n) for n in (1, 3, 5, 7, 11, 12, 13, 15, 81)] == [1, 1, 5, 9, 9, 13, 13, 17, 81]


def test_auto_and_custom_cuts() -> None:
    assert holocine_cut_frames(37, 3) == [13, 25]
    assert holocine_cut_frames(36, 3) == [13, 25]           # 36 snaps to 37 first
    assert holocine_cut_frames(81, 1) == []
    assert holocine_cut_frames(37, 3, custom=[12, 24]) == [13, 25]
    assert holocine_cut_frames(37, 3, custom=[]) == [13, 25]  # empty custom: auto, as the reference
    assert holocine_cut_frames(37, 3, custom=[25, 13, 14, 40]) == [13, 25]  # dedup, sort, inside only
    with pytest.raises(ValueError):
        holocine_cut_frames(37, 0)


def test_latent_shot_frames() -> None:
    assert latent_shot_frames(37, [13, 25]) == [4, 3, 3]
    assert latent_shot_frames(37, []) == [10]
    assert latent_shot_frames(81, [21, 41, 61]) == [6, 5, 5, 5]
    with pytest.raises(ValueError, match="collapse onto latent frame 4"):
        latent_shot_frames(37, [13, 14])
    with pytest.raises(ValueError, match="last shot zero latent frames"):
        latent_shot_frames(37, [13, 37])
    with pytest.raises(ValueError, match="zero latent frames"):
        latent_shot_frames(37, [0, 13])
    with pytest.raises(ValueError, match="must increase"):
        latent_shot_frames(37, [25, 13])


def test_cuts_from_shot_lengths() -> None:
    assert cuts_from_shot_lengths([13, 12, 12]) == (37, [13, 25])
    assert cuts_from_shot_lengths([13, 9, 9]) == (33, [13, 21])  # 31 snaps to 33: round(7.5) is 8
    assert cuts_from_shot_lengths([40]) == (41, [])
    total, cuts = cuts_from_shot_lengths([33, 16, 24, 8])
    assert (total, cuts) == (81, [33, 49, 73]) and latent_shot_frames(total, cuts) == [9, 4, 6, 2]
    with pytest.raises(ValueError, match="collapse"):
        cuts_from_shot_lengths([5, 1, 5])
    with pytest.raises(ValueError):
        cuts_from_shot_lengths([])


# ---------------------------------------------------------------------------- characters

def test_compose_rebuilds_the_golden_captions() -> None:
    global_caption, shots = compose_holocine_captions(
        "A harbor at dawn.",
        ["Wide shot of the harbor and boats.", "Close-up of the Fisherman tying a rope.",
         "Medium shot of the  fisherman looking at the sea."],
        [("the fisherman", "an old fisherman in a grey coat")])
    assert (global_caption, shots) == (GLOBAL_IN, SHOTS_IN)
    assert holocine_prompt(global_caption, shots) == (
        "[global caption] A harbor at dawn. [character1] is an old fisherman in a grey coat. This scene "
        "contains 3 shots. [per shot caption] Wide shot of the harbor and boats. [shot cut] Close-up of "
        "[character1] tying a rope. [shot cut] Medium shot of [character1] looking at the sea.")


def test_compose_names_whole_words_longest_first() -> None:
    global_caption, shots = compose_holocine_captions(
        "Ann and Ann Lee at the annex.",
        ["ANN LEE waves at Joann and ann.", "Close-up on Mara's eyes; Character looks on.", "The annex."],
        [("Ann", "a dog"), ("Ann Lee", "Mara's neighbour"), ("Mara", "a girl"), ("character", "a stranger")])
    assert global_caption == ("[character1] and [character2] at the annex. [character1] is a dog. "
                              "[character2] is [character3]'s neighbour. [character3] is a girl. "
                              "[character4] is a stranger.")
    assert shots == ["[character2] waves at Joann and [character1].",
                     "Close-up on [character3]'s eyes; [character4] looks on.", "The annex."]


def test_compose_keeps_own_name_in_description_and_refuses_bad_cast() -> None:
    g, _ = compose_holocine_captions("", [], [("fisherman", "an old fisherman")])
    assert g == "[character1] is an old fisherman."
    assert compose_holocine_captions("A room.", ["a"], []) == ("A room.", ["a"])
    with pytest.raises(ValueError, match="twice"):
        compose_holocine_captions("", [], [("Mara", "a"), ("mara", "b")])
    with pytest.raises(ValueError, match="empty description"):
        compose_holocine_captions("", [], [("Mara", " ")])


def test_plan_captions_tag_characters_and_keep_user_tags(tmp_path: Path) -> None:
    from conftest import small_film

    from multishot.plan.film_plan import build_plan
    from multishot.plan.prompts import holocine_captions
    from multishot.shotlist.schema import Film

    data = small_film()
    shots = data["scenes"][0]["shots"]
    shots[1]["dialogue"] = {"mara": "Tomas, wait"}
    shots[2]["action"] = "Tomas waits beside [character1]"  # a tag the shot list writes itself
    film = Film.model_validate(data)
    global_caption, captions = holocine_captions(film, film.shots()[:3])
    assert global_caption == ("35mm film. black basalt cliffs over a grey sea, at dusk. "
                              "[character1] is a woman in a yellow oilskin raincoat. "
                              "[character2] is a boy in a red knit cap.")
    assert captions == [
        "wide shot, camera dollies in. the beam sweeps. dusk light.",
        'medium shot. [character1] climbs. [character1] says "[character2], wait". dusk light.',
        "close-up. [character2] waits beside [character1]. dusk light.",
    ]
    # Across two scenes the setting stays with each shot.
    _, captions = holocine_captions(film, film.shots()[2:4])
    assert "black basalt cliffs" in captions[0] and "lamp room" in captions[1]
    # The ordinary per-shot prompts keep the tag as written, and describe characters as before.
    plan = build_plan(film, tmp_path / "film.yaml")
    assert "[character1]" in plan.shots[2].shot_prompt and "tomas: a boy in a red knit cap" in plan.shots[2].shot_prompt
