"""Relocation: what is stored about a check is independent of where the checkout lives.

Two forms, both reversible given the workspace root:

- paths (scope sets, deps, listings): a path under the workspace is stored relative to it with '/'
  separators; any other path stays absolute (a file outside the checkout is the same file only at the same
  absolute path, so a check that depends on one is shared only between checkouts that see it there);
- free text (messages, plugin output, identities, argument JSON): each occurrence of the absolute root, as a
  whole path component, becomes the marker `ROOT` (a private-use character). A marker or escape character
  already in the text is escaped, so decoding gives back exactly the original.

Re-rooting a stored message at another checkout therefore prints what a fresh run there prints.
"""

from __future__ import annotations

import functools
import os

from hie_tasks.model import jsontext

#: Stands for the workspace root in stored text.
ROOT = "\ue000"
#: Escapes a literal ROOT or ESCAPE found in the original text.
ESCAPE = "\ue001"


def rel_path(path: str, workspace: str) -> str:
    """`path` relative to `workspace` when under it ('.' for the root itself), else unchanged."""
    if not workspace:
        return path
    if path == workspace:
        return "."
    prefix = workspace.rstrip(os.sep) + os.sep
    if path.startswith(prefix) and len(workspace) > 1:
        rel = path[len(prefix):]
        return rel.replace(os.sep, "/") if os.sep != "/" else rel
    return path


def abs_path(path: str, workspace: str) -> str:
    """The inverse of `rel_path`."""
    if not workspace or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(workspace, path))


def _name_char(c: str, also: str) -> bool:
    # `\w` of a `str` pattern is exactly `isalnum()` or `_`.
    return c.isalnum() or c == "_" or c in also


def _replace_root(text: str, root: str) -> str:
    r"""`text` with every occurrence of `root` that is a whole component replaced by ROOT: not inside a
    longer name ("/work" in "/tmp/work" or "/workers"). By hand, what `re.sub` with
    `(?<![\w.\-/])ROOT(?![\w.\-])` does, scanning left to right: `re` (with `enum`) costs ~2.5 ms to import."""
    out: list[str] = []
    done = 0
    size = len(root)
    at = text.find(root)
    while at != -1:
        end = at + size
        if (at == 0 or not _name_char(text[at - 1], "./-")) and (end == len(text) or not _name_char(text[end], ".-")):
            out.append(text[done:at])
            out.append(ROOT)
            done = end
            at = text.find(root, end)
        else:
            at = text.find(root, at + 1)
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def relocate_text(text: str, workspace: str) -> str:
    escaped = text.replace(ESCAPE, ESCAPE + ESCAPE).replace(ROOT, ESCAPE + ROOT) if (
        ESCAPE in text or ROOT in text) else text
    root = workspace.rstrip(os.sep)
    if not root:
        return escaped
    return _replace_root(escaped, root)


def reroot_text(text: str, workspace: str) -> str:
    if ROOT not in text and ESCAPE not in text:
        return text
    root = workspace.rstrip(os.sep)
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == ESCAPE and i + 1 < n:
            out.append(text[i + 1])
            i += 2
            continue
        out.append(root if c == ROOT else c)
        i += 1
    return "".join(out)


def _json_root(workspace: str) -> str:
    # The root as it appears inside a JSON string literal (quotes and backslashes escaped).
    return jsontext.quote(workspace)[1:-1]


def relocate_json(text: str, workspace: str) -> str:
    """`relocate_text` for a JSON document (the root is matched in its escaped form)."""
    return relocate_text(text, _json_root(workspace) if workspace else "")


def reroot_json(text: str, workspace: str) -> str:
    return reroot_text(text, _json_root(workspace) if workspace else "")


def relocate_optional(text: str | None, workspace: str) -> str | None:
    return None if text is None else relocate_text(text, workspace)


def reroot_optional(text: str | None, workspace: str) -> str | None:
    return None if text is None else reroot_text(text, workspace)
