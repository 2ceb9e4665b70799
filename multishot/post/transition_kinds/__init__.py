"""The built-in transitions, one module each, and the one list of them (`REGISTRY`).

A transition is one object: a `TransitionKind` (base.py) carrying its name, its properties (a
hard cut? made by a generation stage?), its help line and its blend, the function that draws
its overlap. The vocabulary (post/vocabulary.py) registers every entry of `REGISTRY` at import,
then the plug-ins' (`multishot.transitions` entry points, multishot/plugins.py).

Adding a built-in transition = one module here with a `TRANSITION = TransitionKind(...)` and one
line in `REGISTRY` — the same shape as a plug-in, whose entry point is the same
"module:attribute" string (``iris = "my_pkg.iris:TRANSITION"``). Related transitions may share a
module (the four wipes are one function turned four ways); each still has its own line.
The order is the shot-list language's (SHOTLIST.md); the JSON schema lists the names in it.
"""

from __future__ import annotations

#: name -> "module:attribute" of its TransitionKind, in the language's order.
REGISTRY: dict[str, str] = {
    "cut": "multishot.post.transition_kinds.cut:CUT",
    "dissolve": "multishot.post.transition_kinds.dissolve:TRANSITION",
    "fade": "multishot.post.transition_kinds.fade:FADE",
    "fade-to-white": "multishot.post.transition_kinds.fade:FADE_TO_WHITE",
    "wipe-left": "multishot.post.transition_kinds.wipe:WIPE_LEFT",
    "wipe-right": "multishot.post.transition_kinds.wipe:WIPE_RIGHT",
    "wipe-up": "multishot.post.transition_kinds.wipe:WIPE_UP",
    "wipe-down": "multishot.post.transition_kinds.wipe:WIPE_DOWN",
    "slide-left": "multishot.post.transition_kinds.slide:SLIDE_LEFT",
    "slide-right": "multishot.post.transition_kinds.slide:SLIDE_RIGHT",
    "circle-open": "multishot.post.transition_kinds.circle_open:TRANSITION",
    "match-cut": "multishot.post.transition_kinds.cut:MATCH_CUT",
    "bridge": "multishot.post.transition_kinds.bridge:TRANSITION",
}
