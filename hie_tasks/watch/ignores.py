"""Every ignore file git would consult for a path: `.git/info/exclude` and the `.gitignore` of each directory.

Git's order, lowest precedence first: `$GIT_DIR/info/exclude`, then the `.gitignore` files from the repository
top down to the path's own directory; within that sequence the last matching pattern wins, each file's
patterns matching paths relative to the directory holding it. A directory that is ignored is never entered,
so nothing below it can be re-included, whatever deeper files or later `!` patterns say.

Watch mode asks this for every event that no scope claims, so the parsed rules are cached per directory and
each directory's own verdict is memoised; an edit to an ignore file drops exactly that file's rules (and the
verdicts, which may depend on them).
"""

from __future__ import annotations

import os

from hie_tasks.watch.gitignore import GITIGNORE, GitIgnore

_GIT = ".git"


def _read_pointer(path: str, prefix: str) -> str | None:
    """The path a git pointer file names (`gitdir: …` in a worktree's `.git`, or a bare `commondir`)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read().strip()
    except OSError:
        return None
    if not text.startswith(prefix):
        return None
    target = text[len(prefix):].strip()
    return os.path.normpath(os.path.join(os.path.dirname(path), target)) if target else None


def find_repository(workspace: str) -> tuple[str, str | None]:
    """(top of the git working tree holding `workspace`, its git directory); (workspace, None) outside git.

    A worktree or submodule has a `.git` file pointing at its git directory, whose `commondir` (if any) holds
    the `info/exclude` shared by all worktrees.
    """
    directory = os.path.abspath(workspace)
    while True:
        marker = os.path.join(directory, _GIT)
        if os.path.isdir(marker):
            return directory, marker
        if os.path.isfile(marker):
            git_dir = _read_pointer(marker, "gitdir:")
            if git_dir is not None:
                common = _read_pointer(os.path.join(git_dir, "commondir"), "")
                return directory, common or git_dir
            return directory, None
        parent = os.path.dirname(directory)
        if parent == directory:
            return os.path.abspath(workspace), None
        directory = parent


class IgnoreTree:
    """Git's ignore verdict for paths of one working tree, reading each ignore file at most once until it
    changes."""

    def __init__(self, workspace: str) -> None:
        self.workspace = os.path.abspath(workspace)
        self.top, git_dir = find_repository(self.workspace)
        self.exclude_file = None if git_dir is None else os.path.join(git_dir, "info", "exclude")
        #: directory → the rules of its `.gitignore` (empty when it has none)
        self._rules: dict[str, GitIgnore] = {}
        self._exclude: GitIgnore | None = None
        #: "a/b" (relative to `top`) → whether that directory is ignored
        self._dir_verdicts: dict[str, bool] = {}

    def outside_files(self) -> list[str]:
        """Ignore files that apply to the workspace but lie outside it (its git directory, and the
        `.gitignore` of each directory between the repository top and the workspace): watch them too."""
        found: list[str] = []
        directory = self.workspace
        while directory != self.top:
            directory = os.path.dirname(directory)
            found.append(os.path.join(directory, GITIGNORE))
        if self.exclude_file is not None and not self.exclude_file.startswith(self.workspace + os.sep):
            found.append(self.exclude_file)
        return found

    # ------------------------------------------------------------------ verdicts

    def ignored(self, path: str, is_dir: bool = False) -> bool:
        rel = os.path.relpath(path, self.top)
        if rel == "." or rel.startswith(".."):
            return False
        parts = rel.split(os.sep)
        for depth in range(1, len(parts)):
            if self._dir_ignored(parts[:depth]):
                return True
        return self._verdict(parts, is_dir)

    def _dir_ignored(self, parts: list[str]) -> bool:
        key = "/".join(parts)
        verdict = self._dir_verdicts.get(key)
        if verdict is None:
            verdict = self._dir_verdicts[key] = self._verdict(parts, True)
        return verdict

    def _verdict(self, parts: list[str], is_dir: bool) -> bool:
        """The path's own verdict, its parent directories being known not to be ignored."""
        # Deepest file first: its patterns come last in git's order, so its last matching pattern decides.
        for depth in range(len(parts) - 1, -1, -1):
            found = self._rules_of(os.path.join(self.top, *parts[:depth])).match("/".join(parts[depth:]), is_dir)
            if found is not None:
                return found
        return self._exclude_rules().match("/".join(parts), is_dir) is True

    def _rules_of(self, directory: str) -> GitIgnore:
        rules = self._rules.get(directory)
        if rules is None:
            rules = self._rules[directory] = GitIgnore.load(directory)
        return rules

    def _exclude_rules(self) -> GitIgnore:
        if self._exclude is None:
            self._exclude = GitIgnore([]) if self.exclude_file is None else GitIgnore.load_file(self.exclude_file)
        return self._exclude

    # ------------------------------------------------------------------ changes to the ignore files

    def note_change(self, path: str, is_dir: bool) -> bool:
        """Forget the rules a change at `path` may have edited; True if any ignore file was affected.

        A directory created, removed or renamed carries its `.gitignore` files with it, and its events for
        the files inside may be missing (a rename reports only the directory), so every cached file below it
        is dropped.
        """
        dropped = False
        if os.path.basename(path) == GITIGNORE:
            self._rules.pop(os.path.dirname(path), None)
            dropped = True
        if path == self.exclude_file or (is_dir and self.exclude_file is not None
                                         and self.exclude_file.startswith(path + os.sep)):
            self._exclude = None
            dropped = True
        if is_dir:
            prefix = path + os.sep
            below = [d for d in self._rules if d == path or d.startswith(prefix)]
            for directory in below:
                del self._rules[directory]
            dropped = dropped or bool(below)
        if dropped:
            self._dir_verdicts.clear()
        return dropped

    def reset(self) -> None:
        """Forget everything (after lost file events, any ignore file may have changed unseen)."""
        self._rules.clear()
        self._exclude = None
        self._dir_verdicts.clear()
