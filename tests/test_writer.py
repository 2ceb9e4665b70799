"""One shot-list writer (shotlist/writer.py) for `import` and `direct`: the same shape from
both, and what it writes loads back to the same film."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from conftest import ROOT
from multishot.plan.agent import Brief, RulePlanner, direct, film_to_yaml
from multishot.shotlist.fountain import import_fountain
from multishot.shotlist.loader import parse_film
from multishot.shotlist.writer import data_to_yaml

FLOW_IDS = re.compile(r"^\s+characters: \[[a-z0-9_, -]+\]$", re.M)
FLOW_FORMAT = re.compile(r"^format: \{resolution: \d+x\d+, fps: \d+, seed: \d+\}$", re.M)


def shape(text: str) -> tuple[bool, bool, bool]:
    """(comment header then a blank line, ids on one line, the format on one line)."""
    head, _, _ = text.partition("\n\n")
    return (all(line.startswith("#") for line in head.splitlines()) and bool(head),
            bool(FLOW_IDS.search(text)), bool(FLOW_FORMAT.search(text)))


def test_import_and_direct_write_the_same_shape() -> None:
    imported, _ = import_fountain(ROOT / "shotlists" / "lighthouse.fountain")
    film = direct(Brief("A keeper and a girl save a ship in a storm", shots=4, duration=10.0),
                  RulePlanner(), rounds=2).film
    directed = film_to_yaml(film, "written by a test")
    assert shape(imported) == shape(directed) == (True, True, True)
    assert parse_film(directed, Path("x.yaml")) == film


def test_writer_is_safe_yaml_and_round_trips() -> None:
    data = {"multishot": 1, "title": "a: tricky\nname", "format": {"resolution": "64x32", "fps": 8, "seed": 1},
            "characters": {"yes": {"description": "on"}}, "ids": ["no", "off", "a-b"]}
    text = data_to_yaml(data, "two\nlines")
    assert text.startswith("# two\n# lines\n\n") and "!!python" not in text
    assert yaml.safe_load(text) == data
