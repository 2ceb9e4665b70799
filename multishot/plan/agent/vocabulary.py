"""Words the agent roles share: colours, attire, how a character is named in an action.

A leaf module (it imports nothing of the agent), so the roles, the critic and the planners all
read one list: the screenwriter dresses characters from `ATTIRE`, the critic checks that a
garment keeps its colour, the rule planner names characters with `display_name`.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z]+")
COLOURS = frozenset((
    "red crimson scarlet maroon burgundy orange amber yellow gold golden mustard green olive "
    "emerald teal turquoise cyan blue navy azure cobalt purple violet lilac lavender magenta pink "
    "rose brown tan beige khaki rust copper bronze black charcoal grey gray silver white ivory "
    "cream blond blonde ginger auburn chestnut brunette").split())
_COLOUR_SAME = {"gray": "grey", "blonde": "blond", "golden": "gold"}
ATTIRE = frozenset((
    "coat raincoat oilskin jacket sweater jumper shirt dress gown cloak robe suit uniform hoodie "
    "parka vest cardigan overalls tunic blouse apron kimono jersey blazer poncho overcoat anorak "
    "waistcoat fleece windbreaker shawl scarf cap beanie helmet hat beret bonnet hood headscarf "
    "bandana hair braid braids plait ponytail curls bun beard moustache eyes trousers pants jeans "
    "skirt boots shoes gloves umbrella bag backpack satchel glasses spectacles tie").split())


def display_name(character_id: str) -> str:
    """How actions name a character: `mara` -> Mara, `old_keeper` -> Old Keeper."""
    return character_id.replace("_", " ").replace("-", " ").title()


def words(text: str) -> list[tuple[str, int, int]]:
    """Lower-case words of `text` with their spans."""
    return [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text.lower())]


def mentions(text: str, character_id: str) -> bool:
    """Does `text` name the character (its id or the last word of its display name)?"""
    names = {character_id.lower(), display_name(character_id).split()[-1].lower()}
    return any(w in names for w, _, _ in words(text))
