"""Plans kept between runs: an authenticated file per plan key, valid while what planning read is unchanged.

Contract. `PlanStore.load(key)` returns the payload `save(key, payload, inputs)` stored, or None; it never
returns a payload whose recorded inputs changed since it was saved:
- `key` is the caller's digest of everything a plan is a pure function of besides the workspace's files
  (hie-tasks version, workspace, spec texts, element filter, `hielements.toml`, library identities);
- `inputs.deps`: files the selectors read, compared by digest (the run's `FileDigester`, stat-cache shortcut);
- `inputs.trees`: directory listings the selectors read. Not re-listed: every directory below each recorded
  root is stat'ed, and its signature (mtime_ns, ctime_ns, inode, device) must be the one recorded. Creating,
  deleting or renaming an entry changes its directory's mtime, so a listing cannot change while every
  signature stays the same — provided no directory was younger than the racy window when recorded (a
  change within the same timestamp tick would not show), and no symlink lies in the tree (what a symlink
  points at decides whether a walk lists it, and retargeting the target changes no directory here).
  `save` declines both cases.

The payload is JSON, never pickle: the store lives in the workspace and can be forged. Each file carries an
HMAC (hie_tasks/secret.py, as the result store's rows); a file that does not verify, does not parse or
belongs to another key is ignored with a warning, and the caller plans afresh (and overwrites it).
The walk for signatures skips the directory the caller names (the result store, which the tool rewrites
on every run: as `.hie-cache` every `files` walk prunes it, and the python/rust walks find no sources there).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import hie_tasks.secret as secret
from hie_tasks.incremental.digests import RACY_WINDOW_NS, FileDigester, hash_text
from hie_tasks.libraries.base import TreeDep

PURPOSE = "plan cache"
#: Bumped whenever the payload or the meaning of a recorded input changes.
FORMAT = 2
PLANS_DIR = "plans"
#: Directories and files modified less than this before planning started make a plan uncacheable: a change
#: within the same timestamp tick would leave every signature as recorded. The stat cache's window.
WINDOW_NS = RACY_WINDOW_NS

#: (mtime_ns, ctime_ns, inode, device) of a directory; a plain list in JSON.
DirSignature = tuple[int, int, int, int]


class Uncacheable(Exception):
    """What planning read cannot be vouched for by signatures; the plan is not stored (the message says why)."""


@dataclass
class PlanInputs:
    """What a plan read from the workspace: files (by content) and listings (by directory signatures)."""

    deps: set[str] = field(default_factory=set)
    trees: set[TreeDep] = field(default_factory=set)
    #: files whose digest the caller already has (of the very bytes it used): path → digest
    digests: dict[str, str] = field(default_factory=dict)
    #: paths that were no regular file and must stay none (import candidates that named nothing)
    nofiles: set[str] = field(default_factory=set)
    #: `time.time_ns()` before planning started: anything modified after it may not be in the plan
    started_ns: int = 0


@dataclass
class Vouched:
    """What a stored payload was found (or made) valid by: files by digest, directories by signature, roots
    that were no directory, paths that were no regular file."""

    deps: dict[str, str]
    dirs: dict[str, DirSignature]
    absent: set[str]
    nofiles: set[str]


def _signature(st: os.stat_result) -> DirSignature:
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


class PlanStore:
    def __init__(self, cache_dir: str, digester: FileDigester, *, skip: str | None = None,
                 racy_window_ns: int | None = None) -> None:
        """`skip`: a directory not walked for signatures (the result store, when no selector lists it)."""
        self.directory = os.path.join(cache_dir, PLANS_DIR)
        self._skip = os.path.normpath(os.path.abspath(skip)) if skip else None
        self.digester = digester
        self.racy_window_ns = WINDOW_NS if racy_window_ns is None else racy_window_ns
        #: problems to show the user (a forged or unreadable plan file), each once
        self.warnings: list[str] = []
        #: what each payload loaded or saved by this store was vouched for by, by key (see `Vouched`)
        self.vouched: dict[str, Vouched] = {}

    @staticmethod
    def make_key(parts: Iterable[str]) -> str:
        return hash_text("\0".join([f"plan-cache {FORMAT}", *parts]))

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key[:40] + ".json")

    # ------------------------------------------------------------------ reading

    def load(self, key: str) -> Any | None:
        """The stored payload for `key` when its recorded inputs are unchanged, else None."""
        path = self._path(key)
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self._warn(path, getattr(exc, "strerror", None) or str(exc))
            return None
        tag, _, body = text.partition("\n")
        if not secret.verify(tag, PURPOSE, key, body):
            self._warn(path, "it is not signed by this user's cache key (forged, truncated or from elsewhere)")
            return None
        try:
            record = json.loads(body)
            if record["format"] != FORMAT or record["key"] != key:
                return None  # another format or key (a hash-prefix clash): planned afresh and overwritten
            if not self._inputs_unchanged(record["deps"], record["dirs"], record["absent"]):
                return None
            if any(os.path.isfile(path) for path in record["nofiles"]):
                return None
            self.vouched[key] = Vouched(dict(record["deps"]), {d[0]: tuple(d[1:]) for d in record["dirs"]},
                                        set(record["absent"]), set(record["nofiles"]))
            return record["payload"]
        except (ValueError, KeyError, TypeError) as exc:
            self._warn(path, f"unreadable content ({exc})")
            return None

    def _inputs_unchanged(self, deps: dict[str, str], dirs: list[list[Any]], absent: list[str]) -> bool:
        digest = self.digester.digest
        for path, old in deps.items():
            if digest(path) != old:
                return False
        for entry in dirs:
            try:
                st = os.stat(entry[0])
            except OSError:
                return False
            if not stat.S_ISDIR(st.st_mode) or list(_signature(st)) != entry[1:]:
                return False
        # A root that was no directory (absent, a file) listed nothing; it must still be none.
        return not any(os.path.isdir(path) for path in absent)

    def _warn(self, path: str, why: str) -> None:
        self.warnings.append(f"warning: ignoring the cached plan {path}: {why}; planning afresh")

    # ------------------------------------------------------------------ writing

    def save(self, key: str, payload: Any, inputs: PlanInputs) -> None:
        """Store `payload` under `key`; raises Uncacheable when the inputs cannot be vouched for."""
        limit = inputs.started_ns - self.racy_window_ns
        deps: dict[str, str] = {}
        for path in sorted(inputs.deps):
            try:
                st = os.stat(path)
            except OSError:
                st = None
            if st is not None and max(st.st_mtime_ns, st.st_ctime_ns) >= limit:
                raise Uncacheable(f"{path} changed while (or just before) planning")
            deps[path] = self.digester.digest(path)
        deps.update(inputs.digests)
        dirs: dict[str, DirSignature] = {}
        absent: list[str] = []
        for tree in sorted(inputs.trees, key=lambda t: (t.root, t.suffixes, t.exclude)):
            walk_signatures(tree, dirs, absent, limit, self._skip)
        record = {"format": FORMAT, "key": key, "deps": deps,
                  "dirs": [[path, *sig] for path, sig in dirs.items()], "absent": absent,
                  "nofiles": sorted(inputs.nofiles), "payload": payload}
        body = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
        self.vouched[key] = Vouched(dict(deps), dict(dirs), set(absent), set(inputs.nofiles))
        tag = secret.mac(PURPOSE, key, body)
        os.makedirs(self.directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".plan-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(tag + "\n" + body)
            os.replace(tmp, self._path(key))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def take_warnings(self) -> list[str]:
        out, self.warnings = self.warnings, []
        return out


def walk_signatures(tree: TreeDep, dirs: dict[str, DirSignature], absent: list[str], limit: int,
                    skip: str | None = None) -> None:
    """Every directory of `tree` with its signature, into `dirs`; a root that is no directory into `absent`.
    Raises Uncacheable for a directory modified at or after `limit`, a symlink, or a directory that cannot be
    listed (see the module docstring); `skip` is not entered."""
    root = os.path.normpath(tree.root)
    try:
        st = os.stat(root)
    except OSError:
        st = None
    if st is None or not stat.S_ISDIR(st.st_mode):
        if root not in absent:
            absent.append(root)
        return
    names = frozenset(e for e in tree.exclude if not e.startswith("*"))
    suffixes = tuple(e[1:] for e in tree.exclude if e.startswith("*"))
    pending = [(root, st)]
    seen: set[str] = set()  # per tree: another tree over the same directories may prune differently
    while pending:
        directory, dst = pending.pop()
        if directory in seen:
            continue
        seen.add(directory)
        if max(dst.st_mtime_ns, dst.st_ctime_ns) >= limit:
            raise Uncacheable(f"directory {directory} changed while (or just before) planning")
        dirs[directory] = _signature(dst)
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as exc:
            raise Uncacheable(f"cannot list {directory}: {exc.strerror or exc}") from None
        for entry in entries:
            if entry.is_symlink():
                raise Uncacheable(f"symlink {entry.path} in a listed tree")
            if not entry.is_dir(follow_symlinks=False):
                continue
            name = entry.name
            if name in names or (suffixes and name.endswith(suffixes)) or entry.path == skip:
                continue
            try:
                pending.append((entry.path, entry.stat(follow_symlinks=False)))
            except OSError as exc:
                raise Uncacheable(f"cannot stat {entry.path}: {exc.strerror or exc}") from None
