"""Recursive workspace walks shared by the three built-in libraries.

One `os.scandir` loop serves `files.folder_selector` (every regular file, hidden ones and `.git` included)
and the python/rust source walks (one extension, a list of pruned directory names). `DirEntry` caches the
file type from the directory listing, so a walk costs one `getdents` per directory and no `stat` per file;
that is what keeps `folder_selector('.')` fast on a checkout with a large `.git`.
"""

from __future__ import annotations

import os

from hie_tasks.model.record import FrozenRecord

#: Directories hie-tasks itself writes inside a workspace (the default result store). Selectors never see
#: them, so that running the tool — which rewrites its store — never changes a verdict or a fingerprint.
TOOL_DIRS = frozenset({".hie-cache"})


class WalkRules(FrozenRecord):
    """Which entries a walk lists and which directories it does not enter.

    The root itself is never pruned: upstream tested the exclusions against the workspace directory too,
    so a workspace called `build` or `target` yielded nothing at all (a bug the spec says not to copy).
    """

    __slots__ = ("extension", "excluded_dirs", "excluded_dir_suffixes", "regular_files_only")

    #: Only names whose extension (text after the last `.`, Rust `Path::extension` rules) equals this.
    extension: str | None
    #: Directory basenames (exact, case-sensitive) that are not entered.
    excluded_dirs: frozenset[str]
    #: Directory basename endings that are not entered (`.egg-info`).
    excluded_dir_suffixes: tuple[str, ...]
    #: True: only regular files, symlinks neither followed nor listed (`files.folder_selector`).
    #: False: every non-directory entry, symlinked files included (the python/rust walks, like upstream's).
    regular_files_only: bool

    def __init__(self, extension: str | None = None, excluded_dirs: frozenset[str] = frozenset(),
                 excluded_dir_suffixes: tuple[str, ...] = (), regular_files_only: bool = True) -> None:
        self.extension = extension
        self.excluded_dirs = excluded_dirs
        self.excluded_dir_suffixes = excluded_dir_suffixes
        self.regular_files_only = regular_files_only

    @property
    def exclude(self) -> tuple[str, ...]:
        """The pruned names in the form `CallContext.record_tree` wants."""
        return tuple(sorted(self.excluded_dirs)) + tuple(
            "*" + suffix for suffix in self.excluded_dir_suffixes
        )


def extension_of(name: str) -> str | None:
    """Rust's `Path::extension` for a basename: `.py` has none, `..py` and `a.b.py` have `py`."""
    dot = name.rfind(".")
    if dot <= 0 or name == "..":
        return None
    return name[dot + 1 :]


def file_stem(name: str) -> str:
    """Rust's `Path::file_stem` for a basename (the counterpart of `extension_of`)."""
    dot = name.rfind(".")
    if dot <= 0 or name == "..":
        return name
    return name[:dot]


def relative_path(root: str, path: str) -> str:
    """`path` relative to `root`, with `/` separators; `path` must lie below `root` (as walk results do)."""
    cut = len(root) if root.endswith("/") else len(root) + 1
    return path[cut:]


def walk_files(root: str, rules: WalkRules) -> list[str]:
    """Every entry below `root` that `rules` accepts, as `root/relative` path text, sorted.

    Unreadable directories are skipped silently; a `root` that is not a directory gives []. Sorting makes
    scope paths, fingerprints and the order of names inside messages independent of the file system.
    """
    wanted = None if rules.extension is None else "." + rules.extension
    # A name ending in `.ext` has that extension unless the dot is its first character (`.py` alone).
    min_len = 0 if wanted is None else len(wanted) + 1
    excluded = rules.excluded_dirs
    suffixes = rules.excluded_dir_suffixes
    regular_only = rules.regular_files_only
    found: list[str] = []
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                for entry in listing:
                    name = entry.name
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if name not in excluded and not (suffixes and name.endswith(suffixes)):
                                pending.append(entry.path)
                            continue
                        if regular_only and not entry.is_file(follow_symlinks=False):
                            continue
                    except OSError:
                        continue
                    if wanted is not None and (len(name) < min_len or not name.endswith(wanted)):
                        continue
                    found.append(entry.path)
        except (OSError, ValueError):
            # Unreadable, vanished or not a directory (ValueError: a NUL in a user-given path):
            # upstream skips it silently.
            continue
    found.sort()
    return found
