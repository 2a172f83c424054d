"""File paths as upstream spells them in messages, and the order upstream visits them in.

Scopes hold absolute, normalised, sorted paths: that is what fingerprints, the store and watch need. Upstream
never resolved anything: its `-w` string (or the spec's directory as given, `.` for a bare file name) is
joined with the selector's text and walked, so a message names `./src/a.py`, `././build/x` or
`../ws/src/a.py`, and the "first" file is the first in directory-listing order. A message is part of what
users compare when they migrate, so this module rebuilds upstream's spelling from our paths:

- `folder_selector(t)`: `join(ws, t)` walked depth first in listing order (walkdir), each entry
  `join(parent, name)`;
- `file_selector(t)`: `join(ws, t)`;
- `glob_selector(p)` and `no_files_matching`: the glob crate on `join(base, p)`, which starts at `.` (or `/`)
  and replaces a path that is exactly the current directory by the next name (`./docs/*.md` → `docs/g.md`),
  and visits each directory's entries in name order.

`join` is Rust's `Path::join`, which is POSIX `os.path.join` (an absolute right side replaces the left; no
separator is added after one that ends the left side).
"""

from __future__ import annotations

import os

from hie_tasks.model.values import Scope, ScopeKindTag

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


def listing_order(paths: Iterable[str]) -> list[str]:
    """`paths` in the order upstream's directory walk yields them: depth first, each directory's entries in
    the order the file system lists them (found against the oracle on Debian's regex crate and on generated
    trees). A path whose directory cannot be listed keeps its sorted place."""
    listings: dict[str, dict[str, int]] = {}

    def index(parent: str, name: str) -> int:
        listing = listings.get(parent)
        if listing is None:
            try:
                listing = {entry: i for i, entry in enumerate(os.listdir(parent))}
            except OSError:
                listing = {}
            listings[parent] = listing
        return listing.get(name, len(listing))

    ordered = sorted(os.path.abspath(p) for p in paths)
    if len(ordered) < 2:
        return ordered
    # Directories above the paths' common one order nothing among them: they are not listed (`/tmp` can be
    # large, and this runs per check).
    skip = len(os.path.commonpath(ordered).rstrip(os.sep).split(os.sep))

    def key(path: str) -> tuple[int, ...]:
        parts = path.split(os.sep)
        return tuple(index(os.sep.join(parts[:i]) or os.sep, parts[i]) for i in range(skip, len(parts)))

    return sorted(ordered, key=key)


def glob_order(paths: Iterable[str]) -> list[str]:
    """The glob crate's order: depth first, each directory's entries by name (so `a/x` before `a.py`,
    which a plain string sort puts the other way round)."""
    return sorted(paths, key=lambda p: p.split(os.sep))


#: Item selectors (rust `struct:`…, python `fn:`/`class:`) list files in walk order upstream; so do folder
#: scopes (`crate_selector`, `files.folder_selector`). Module selectors sort; a glob lists in the crate's order.
_WALKED_KINDS = ("struct:", "enum:", "fn:", "trait:", "impl:", "class:")


def upstream_order(scope: Scope) -> Sequence[str]:
    """`scope.paths` in the order upstream holds them: our scopes are sorted, upstream's walked ones are in
    directory-listing order and its globs in the glob crate's. Which file comes first shows in messages (the
    oversize file `max_size` names, the type the type-flow checks name, `depends_on`'s module names) and in
    `depends_on`'s verdict when a file cannot be read."""
    kind = scope.kind
    if kind.tag is ScopeKindTag.GLOB:
        return glob_order(scope.paths)
    walked = kind.tag is ScopeKindTag.FOLDER or (kind.tag is ScopeKindTag.FILE and kind.text.startswith(_WALKED_KINDS))
    return listing_order(scope.paths) if walked and len(scope.paths) > 1 else scope.paths


def _is_current_dir(path: str) -> bool:
    """Rust's `Path::new(path) == Path::new(".")`: components compare, and inner `.`s normalise away."""
    return path.startswith(".") and all(piece in ("", ".") for piece in path.split("/"))


def crate_spelling(text: str) -> str:
    """How the glob crate spells a path it reached by following `text` component by component."""
    absolute = text.startswith("/")
    pieces = text.lstrip("/").split("/") if absolute else text.split("/")
    if pieces and pieces[-1] == "":
        pieces.pop()  # split_terminator: a trailing separator is no component
    path = "/" if absolute else "."
    for piece in pieces:
        path = piece if _is_current_dir(path) else os.path.join(path, piece)
    return path


def _literal_prefix(pattern: str) -> list[str]:
    pieces = pattern.split("/")
    if pieces and pieces[-1] == "":
        pieces.pop()
    prefix: list[str] = []
    for piece in pieces[:-1]:
        if any(c in piece for c in "*?["):
            break
        prefix.append(piece)
    return prefix


def glob_match_text(base_text: str, base: str, match: str) -> str:
    """A result of `glob.glob(base, …)` (built by joining names onto `base`) as upstream prints it when its
    base was `base_text`."""
    if match == base:
        return crate_spelling(base_text)
    if not match.startswith(base.rstrip("/") + "/"):
        return match
    return crate_spelling(os.path.join(base_text, match[len(base.rstrip("/")) + 1:]))


class PathSpeller:
    """Upstream's spelling of the files in scopes, for one workspace (`text` as the user gave it)."""

    def __init__(self, workspace: str, text: str) -> None:
        self.workspace = workspace
        self.text = text

    def in_scope(self, scope: Scope, path: str) -> str:
        kind = scope.kind
        if kind.tag is ScopeKindTag.FILE and os.path.normpath(os.path.join(self.workspace, kind.text)) == path:
            return os.path.join(self.text, kind.text)
        if kind.tag is ScopeKindTag.FOLDER:
            root = os.path.normpath(os.path.join(self.workspace, kind.text))
            if path.startswith(root.rstrip("/") + "/"):
                return os.path.join(os.path.join(self.text, kind.text), path[len(root.rstrip("/")) + 1:])
        if kind.tag is ScopeKindTag.GLOB:
            prefix = _literal_prefix(kind.text)
            root = os.path.normpath(os.path.join(self.workspace, *prefix))
            if path.startswith(root.rstrip("/") + "/"):
                literal = os.path.join(self.text, *prefix) if prefix else self.text
                return crate_spelling(os.path.join(literal, path[len(root.rstrip("/")) + 1:]))
        return self.relative(path)

    def relative(self, path: str) -> str:
        """A path walked from the workspace root (what upstream's python/rust walks yield)."""
        if path.startswith(self.workspace.rstrip("/") + "/"):
            return os.path.join(self.text, path[len(self.workspace.rstrip("/")) + 1:])
        return path

