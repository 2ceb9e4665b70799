"""Which model profile a shot list may name in `profile:`, and what that name resolves to.

A profile picks weight folders and pipeline classes, so a shot list must not point it at any
file on the machine (issue 17 item 5). A shot list may name a profile from the installed
registry (`multishot profiles list`: the shipped profiles and $MULTISHOT_PROFILE_PATH) or a
profile file inside its own folder tree, resolved against the shot list, never against the
directory the command runs in. The `--profile` flag is the user's own choice on their command
line and is not limited by this.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from multishot.shotlist.bounds import BoundsExceeded, check_bounds


def is_profile_path(value: str) -> bool:
    """The rule `load_profile` uses: a .yaml/.yml name or anything with a slash is a file."""
    return Path(value).suffix in (".yaml", ".yml") or os.sep in value or "/" in value


def resolve_profile(value: str, source: Path) -> str:
    """A shot list's `profile:` as `load_profile` should receive it: registry names unchanged,
    file paths made absolute against the shot list's folder."""
    if not is_profile_path(value):
        return value
    return str((Path(source).resolve().parent / value).resolve())


def check_profile(value: str, source: Path) -> str | None:
    """Why `value` cannot be a shot list's profile, or None. Registry names are looked up (the
    registry's message carries a did-you-mean); files must be inside the shot list's folder and
    be valid profiles."""
    from multishot.backends.profile import ProfileError, load_profile

    if "\0" in value:
        return "a profile name may not contain a NUL character"
    if is_profile_path(value):
        root = Path(source).resolve().parent
        target = Path(resolve_profile(value, source))
        try:
            target.relative_to(root)
        except ValueError:
            return (f"profile file `{value}` is outside the shot list's folder ({root}); name a profile "
                    "from `multishot profiles list` or a profile file inside that folder")
        if not target.is_file():
            return f"profile file `{value}` not found (looked at {target})"
        # The profile loader reads plain YAML; a file beside a shot list is as untrusted as the
        # shot list, so it gets the same bounds before it is parsed (bounds.py).
        try:
            check_bounds(target.read_text(encoding="utf-8"))
        except BoundsExceeded as error:
            return f"profile file `{value}` line {error.line}: {error}"
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            return f"profile file `{value}` cannot be read as YAML: {error}"
    try:
        load_profile(resolve_profile(value, source))
    except ProfileError as error:
        return str(error)
    return None
