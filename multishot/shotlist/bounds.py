"""Bounds on a YAML document before it is composed: expanded size, nesting depth, alias cycles.

YAML aliases let a 3 KB file name 10⁹ nodes ("billion laughs": each anchor is a list of ten
aliases of the one before). PyYAML composes such a file into a small shared graph, but anything
that walks it (our line-numbering walk, pydantic) walks every expansion: 10⁷ nodes took 33 s and
2.4 GB. PyYAML's composer is also recursive, so a few hundred nested brackets raise
RecursionError, and `&a [*a]` composes a cycle that no walk ends on.

This pass reads the YAML event stream (the parser keeps an explicit state stack, so it does not
recurse) once, counting for every anchor the size and height of what it expands to. It stops at
the first event that crosses a bound, so a bomb is rejected after reading only its anchors, in
time linear in the file, with the line of the anchor or alias that crossed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

#: Most nodes a shot list may expand to, aliases counted at their full size. A 2,000-shot film
#: is about 30,000 nodes; a bomb passes this after its fourth or fifth anchor.
MAX_NODES = 200_000
#: Deepest nesting of mappings and sequences (aliases counted expanded). A shot list needs 7
#: (film → scenes → scene → shots → shot → transition → value); PyYAML's recursive composer and
#: our walk stay far from Python's recursion limit below this.
MAX_DEPTH = 64


#: libyaml's parser when PyYAML was built with it (20x faster, and like PyYAML's own parser a
#: state machine that does not recurse); the pure-Python one otherwise. Only events are read.
_EVENT_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class BoundsExceeded(ValueError):
    """The document is too big, too deep, or refers to itself. `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class _Open:
    """A mapping or sequence whose end event has not come yet."""

    anchor: str | None
    line: int
    nodes: int = 1
    height: int = 1


@dataclass
class _Counter:
    max_nodes: int
    max_depth: int
    #: Nodes of the expanded document so far (an alias counts as everything it names).
    total: int = 0
    stack: list[_Open] = field(default_factory=list)
    #: anchor -> (expanded node count, expanded height) of the node it names.
    anchors: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, nodes: int, line: int, what: str) -> None:
        self.total += nodes
        if self.total > self.max_nodes:
            raise BoundsExceeded(line, f"{what} makes the document expand to more than {self.max_nodes:,} "
                                       "nodes (YAML aliases nested in aliases); a shot list is far smaller")

    def finish(self, nodes: int, height: int, line: int, what: str) -> None:
        """A finished node (scalar, alias or closed collection) joins its open parent."""
        if len(self.stack) + height > self.max_depth:
            raise BoundsExceeded(line, f"{what} nests deeper than {self.max_depth} levels")
        if self.stack:
            parent = self.stack[-1]
            parent.nodes += nodes
            parent.height = max(parent.height, height + 1)


def check_bounds(text: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> None:
    """Raise BoundsExceeded if `text` expands past `max_nodes` nodes or `max_depth` levels, or
    an alias names an anchor that encloses it; raise yaml.YAMLError for text that is not YAML.
    Undefined aliases are left to the composer, which reports them with their line."""
    counter = _Counter(max_nodes, max_depth)
    for event in yaml.parse(text, Loader=_EVENT_LOADER):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(counter.stack) + 1 > max_depth:
                raise BoundsExceeded(line, f"nesting deeper than {max_depth} levels")
            counter.add(1, line, "this node")
            counter.stack.append(_Open(event.anchor, line))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            done = counter.stack.pop()
            if done.anchor is not None:
                counter.anchors[done.anchor] = (done.nodes, done.height)
            counter.finish(done.nodes, done.height, done.line, "this node")
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                counter.anchors[event.anchor] = (1, 0)
            counter.add(1, line, "this value")
            counter.finish(1, 0, line, "this value")
        elif isinstance(event, yaml.AliasEvent):
            if any(o.anchor == event.anchor for o in counter.stack):
                raise BoundsExceeded(line, f"alias *{event.anchor} refers to the node that contains it "
                                           "(a recursive alias)")
            if event.anchor in counter.anchors:
                nodes, height = counter.anchors[event.anchor]
                counter.add(nodes, line, f"alias *{event.anchor}")
                counter.finish(nodes, height, line, f"alias *{event.anchor}")
