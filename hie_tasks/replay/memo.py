"""The run memo: a whole `run`, answered from the previous one without loading the engine.

A no-op run still has to conclude, check by check, that nothing changed: parse arguments, load the cached spec
and plan, build the libraries, fingerprint thousands of checks and read their verdicts — ~0.3 s of Python at
10k files before a single file is stat'ed. Most of that is the same conclusion reached again. So the end of a
standalone `run` whose next run would replay every check writes down *what that next run would print* and
*everything that answer depends on*; the next `run` with the same request stats those inputs and, when every
one is as recorded, prints the answer — before argparse, the spec, the plan or sqlite are imported.

Contract.
- Served only for the request it was made for: the key is hie-tasks' version and location, the command line
  exactly, the working directory, the environment (all of it, minus the shell's own bookkeeping `_`, `OLDPWD`,
  `SHLVL`, and `PYTEST_CURRENT_TEST`) and, for stdout and stderr, whether each is a terminal, its size and its encoding.
- Served only while every input is unchanged, each compared by `os.stat`: every file a check's fingerprint or
  recorded dependencies cover, every spec file, `hielements.toml`, each plugin's module or program
  (`Library.identity_files`), the files the selectors read (mode, size, mtime, inode, ctime); every directory
  whose listing a selector or a check depended on (mtime, ctime, inode, device — creating, deleting or
  renaming an entry changes them); paths that named nothing must still name nothing; and the result store
  itself (its inode: a deleted or replaced store is a new one).
- Written only when the answer is exactly what the next run would print: every check was replayed or
  recorded with a verdict the next run replays (no Error, no impure library, no store failure), the spec and
  the plan were kept by their caches, nothing but the spec's own diagnostics went to stderr, no remote cache,
  sharding or `-o`/`-v`/`--dry-run`. Racy inputs: a file rewritten within one timestamp tick of being read
  keeps its stat, so a file changed within `RACY_WINDOW_NS` of the run's start is vouched for by content
  instead — the memo keeps the digest the run used, and serving hashes the file again (a file just saved,
  the common case after an edit). A racy file whose digest the run did not take (a spec file's, the
  config's, a plugin's) or a racy directory means no memo. Every other run removes the memo of its request.
- Authenticated like every cache here (hie_tasks/secret.py): one HMAC over the key and the body. The body is
  `marshal` data and is never decoded before its MAC verifies; one that does not verify is ignored with a
  warning and the run goes the full way (and rewrites it).
- The answer is the bytes the previous run's replay rendering produced, with the run phase's duration (the
  JSON summary's `duration_ms`, the human `Cache:` line) filled in with this run's own time.
- Partial rerun (hie_tasks/replay/partial.py): when everything but a few files (at most `PARTIAL_MAX`) is
  unchanged, a `-f json` memo knows which checks' verdicts rest on each of them; the run reruns just those
  through the engine's runner and store and prints the kept report with their entries put in. Any changed
  file that planning read, or one a plugin check reads, makes the run go the full way instead.
- Delta: rewriting a memo costs as much as its inputs are many (~10 ms at 10k files, ~110 ms at 100k), so
  a partial rerun writes only what it changed — `runs/<key>.delta`: the answer's changed byte ranges, the
  edited files' new stats, the racy list, the partial rerun's own updates — signed like the memo and bound
  to the memo it applies to by that memo's MAC. Serving applies it to the memo; a delta bound to another
  memo (one left behind by a full rewrite) is not ours to apply and is ignored; one that does not verify is
  warned about like a memo, and the run goes the full way. Deltas accumulate against the same memo until
  they cover `DELTA_MAX` entries, then the memo is written whole again.

`hie-tasks run` with `HIE_TASKS_RUN_MEMO=0` neither reads nor writes memos.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
import sys
import time

import hie_tasks.secret as secret
from hie_tasks.daemon.client import target, terminal_facts
from hie_tasks.version import __version__

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any, TextIO, TypeAlias

    #: What a memo keeps beside itself for partial reruns (hie_tasks/replay/partial.py): a head, whose
    #: digest the signed memo holds, and a tail of pieces the head names by their digests: a rerun of two
    #: checks hashes the head and its two pieces, not the 500 kB of every planned check.
    Partial: TypeAlias = tuple[bytes, bytes]

FORMAT = 2
PURPOSE = "run memo"
DELTA_FORMAT = 1
DELTA_PURPOSE = "run memo delta"
#: A delta touching more answer entries and files than this is folded into a memo written whole.
DELTA_MAX = 256
MEMO_DIR = "runs"
SWITCH_ENV = "HIE_TASKS_RUN_MEMO"
#: More files changed than this and the run goes the full way rather than rerunning their checks.
PARTIAL_MAX = 64
#: Memos kept per store, the most recently written (see `_prune`).
KEEP = 8
#: as `hie_tasks.engine.project` (not imported: this module runs before the engine loads)
CACHE_ENV = "HIE_TASKS_CACHE_DIR"
DEFAULT_CACHE = ".hie-cache"
STORE_FILE = "results.sqlite"
#: as `hie_tasks.incremental.digests.RACY_WINDOW_NS`
RACY_WINDOW_NS = 2_000_000_000
#: A rendered answer carries the run phase's duration as this number; serving replaces it.
SENTINEL_MS = 987654.321
#: How the sentinel reads in each place a format prints the run phase's duration, by slot kind.
SLOT_TEXTS = {"ms": repr(round(SENTINEL_MS, 3)), "s": f"{SENTINEL_MS / 1000:.2f}"}
#: Variables that say where the caller is, not what the run sees: the shell's own bookkeeping, and pytest's name
#: of the test running (which changes between a fixture and its test when a test suite runs us).
_SHELL_ENV = frozenset({"_", "OLDPWD", "SHLVL", "PYTEST_CURRENT_TEST"})
#: Options whose runs a memo never answers (`daemon.client.target` declines every other unusual one).
_DECLINED = frozenset({"-o", "--output", "-v", "--verbose", "--dry-run"})


class Request:
    """A `run` command line a memo may answer: its key, where its memo lives, and when it started."""

    __slots__ = ("cache_dir", "delta_path", "key", "partial_path", "path", "started_ns", "store")

    def __init__(self, cache_dir: str, key: str) -> None:
        self.cache_dir = cache_dir
        self.key = key
        self.path = os.path.join(cache_dir, MEMO_DIR, key[:40] + ".memo")
        self.partial_path = self.path[:-len(".memo")] + ".partial"
        self.delta_path = self.path[:-len(".memo")] + ".delta"
        self.store = os.path.join(cache_dir, STORE_FILE)
        self.started_ns = time.time_ns()


#: Warnings a partial rerun met while its checks ran, for the entry point to print after the answer.
late_warnings: list[str] = []
#: The request of this process's `run`, for the code that writes its memo at the end (None: not eligible).
_current: list[Request | None] = [None]


def current() -> Request | None:
    return _current[0]


def request(argv: Sequence[str]) -> Request | None:
    """The memo request of a command line, or None when no memo may answer it."""
    if os.environ.get(SWITCH_ENV, "1") == "0":
        return None
    items = list(argv)
    if any(item.partition("=")[0] in _DECLINED for item in items[1:]):
        return None
    found = target(items)
    if found is None:
        return None
    workspace, _spec = found
    return Request(_cache_dir(items, workspace), _key(items))


def _cache_dir(argv: list[str], workspace: str) -> str:
    """`Project.result_cache_dir` from the command line: `--cache-dir`, `$HIE_TASKS_CACHE_DIR`, `WS/.hie-cache`."""
    chosen: str | None = None
    for i, item in enumerate(argv):
        if item == "--cache-dir" and i + 1 < len(argv):
            chosen = argv[i + 1]
        elif item.startswith("--cache-dir="):
            chosen = item.partition("=")[2]
    chosen = chosen or os.environ.get(CACHE_ENV)
    return os.path.abspath(chosen) if chosen else os.path.join(workspace, DEFAULT_CACHE)


def _stream_facts(stream: Any) -> tuple[Any, ...]:
    # The daemon's facts about a stream, plus its error handler (it decides how the answer is encoded).
    return (*sorted(terminal_facts(stream).items()), getattr(stream, "errors", None))


def _key(argv: list[str]) -> str:
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k not in _SHELL_ENV))
    facts = (FORMAT, __version__, os.path.dirname(os.path.abspath(__file__)), tuple(argv), os.getcwd(), env,
             _stream_facts(sys.stdout), _stream_facts(sys.stderr))
    # `repr`, not `marshal`: marshal's bytes also tell which of the values are the same object or interned,
    # so the same request made by other code (a `python -c` launcher) got another key.
    return hashlib.sha256(repr(facts).encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------------------------------------- serving


def serve(argv: Sequence[str]) -> int | None:
    """Answer `argv` from its memo: the exit code after printing the answer, or None to run in full."""
    started = time.perf_counter()
    req = request(argv)
    _current[0] = req
    if req is None:
        return None
    read = _read(req)
    if read is None:
        return None
    tag, body = read
    try:
        loaded = marshal.loads(body)
        (fmt, key, exit_code, out_parts, slot, err, files, sigs, dirs, dir_sigs, absent, nofiles, store,
         racy, partial) = loaded
    except (ValueError, EOFError, TypeError):
        return None
    if fmt != FORMAT or key != req.key:
        return None
    trusted, delta = read_delta(req, tag)
    if not trusted:
        return None
    if delta is not None:
        if len(out_parts) != 2 and delta.parts is None:
            return None
        try:
            exit_code, slot, sigs, racy = delta.exit_code, delta.slot, delta.stats(sigs), delta.racy
        except (TypeError, ValueError, IndexError):
            return None  # ours (it verified), but not of this shape: written by a build with another layout
    if not _unchanged(dirs, dir_sigs, absent, nofiles, store, req.store):
        return None
    now = list(map(file_sig, files))
    changed = [] if now == sigs else differing(now, sigs)
    if len(changed) > PARTIAL_MAX:
        return None
    racy_changed = [path for path, digest in racy if not _content_is(path, digest)]
    if changed or racy_changed:
        if partial is None:
            return None
        # A few files edited in place: rerun the checks that read them, answer the rest from the memo.
        from hie_tasks.replay.partial import rerun

        at = [find_sorted(files, path) for path in racy_changed]
        if None in at:
            return None
        return rerun(req, loaded, tag, delta, sorted({*changed, *at}), now, started)  # type: ignore[arg-type]
    if delta is not None:
        # Only here: a partial rerun puts its answer together from the memo's own parts.
        try:
            out_parts = delta.answer(out_parts)
        except (TypeError, ValueError, IndexError):
            return None
    filler = b""
    if slot is not None:
        elapsed = (time.perf_counter() - started) * 1000
        filler = (repr(round(elapsed, 3)) if slot == "ms" else f"{elapsed / 1000:.2f}").encode("ascii")
    try:
        put(sys.stderr, err)
        put(sys.stdout, filler.join(out_parts))
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as the full run does (cli/main.py).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return int(exit_code)


def put(stream: TextIO, *chunks: bytes | memoryview) -> None:
    if any(chunks):
        stream.flush()
        for chunk in chunks:
            stream.buffer.write(chunk)
        stream.buffer.flush()


def _read(req: Request) -> tuple[str, bytes] | None:
    """The memo's MAC and body, once the MAC verifies."""
    try:
        with open(req.path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return _verified(data, PURPOSE, req.key, req.path, "run memo")


def _verified(data: bytes, purpose: str, key: str, path: str, what: str) -> tuple[str, bytes] | None:
    raw, newline, body = data.partition(b"\n")
    tag = raw.decode("ascii", "replace")
    if not newline or not secret.verify(tag, purpose, key, body):
        sys.stderr.write(f"warning: ignoring the {what} {path}: it is not signed by this user's cache key "
                         "(forged, truncated or from elsewhere); running in full\n")
        return None
    return tag, body


class Delta:
    """What partial reruns changed since the memo whose MAC is `base`: applied to that memo, the next run's
    answer and inputs. `ranges`: (start, end, bytes) replacing `out_parts[1][start:end]` of the memo's
    answer (sorted, disjoint), with `head` its new `out_parts[0]`; or `parts`: the whole answer. `sigs`: file
    index → stat. `racy`: the whole racy list. `blob`: the partial rerun's own updates, opaque here."""

    __slots__ = ("base", "blob", "exit_code", "head", "parts", "racy", "ranges", "sigs", "slot")

    def __init__(self, *, base: str, exit_code: int, head: bytes, ranges: list[tuple[int, int, bytes]],
                 parts: list[bytes] | None, slot: str | None, sigs: dict[int, Any], racy: list[tuple[str, str]],
                 blob: Any) -> None:
        self.base, self.exit_code, self.head, self.ranges, self.parts = base, exit_code, head, ranges, parts
        self.slot, self.sigs, self.racy, self.blob = slot, sigs, racy, blob

    def dumps(self, key: str) -> bytes:
        return marshal.dumps((DELTA_FORMAT, key, self.base, self.exit_code, self.head, self.ranges, self.parts,
                              self.slot, self.sigs, self.racy, self.blob))

    @classmethod
    def loads(cls, body: bytes, key: str, base: str) -> Delta | None:
        try:
            fmt, bound_key, bound, exit_code, head, ranges, parts, slot, sigs, racy, blob = marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return None
        if fmt != DELTA_FORMAT or bound_key != key or bound != base:
            return None
        return cls(base=bound, exit_code=exit_code, head=head, ranges=ranges, parts=parts, slot=slot, sigs=sigs,
                   racy=racy, blob=blob)

    def answer(self, out_parts: list[bytes]) -> list[bytes]:
        """The memo's answer (`out_parts`) with this delta applied."""
        if self.parts is not None:
            return self.parts
        return [self.head, patched(out_parts[1], self.ranges)]

    def stats(self, sigs: list[Any]) -> list[Any]:
        if not self.sigs:
            return sigs
        out = list(sigs)
        for i, sig in self.sigs.items():
            out[i] = sig
        return out


def patched(data: bytes, ranges: Sequence[tuple[int, int, bytes]]) -> bytes:
    """`data` with each `[start, end)` of `ranges` (sorted, disjoint) replaced by its bytes."""
    pieces: list[bytes] = []
    cursor = 0
    for start, end, new in ranges:
        pieces.append(data[cursor:start])
        pieces.append(new)
        cursor = end
    pieces.append(data[cursor:])
    return b"".join(pieces)


def read_delta(req: Request, base: str) -> tuple[bool, Delta | None]:
    """(trusted, the delta of the memo whose MAC is `base` or None when there is none for it); not trusted
    when a delta does not verify (the run then goes the full way, and writes the memo whole)."""
    try:
        with open(req.delta_path, "rb") as fh:
            data = fh.read()
    except OSError:
        return True, None
    verified = _verified(data, DELTA_PURPOSE, req.key, req.delta_path, "run memo delta")
    if verified is None:
        return False, None
    return True, Delta.loads(verified[1], req.key, base)


def store_delta(req: Request, delta: Delta) -> str | None:
    """Sign and write `delta` beside its memo; returns why not, or None."""
    body = delta.dumps(req.key)
    tag = secret.mac(DELTA_PURPOSE, req.key, body)
    try:
        _replace(req.delta_path, tag.encode("ascii") + b"\n" + body)
    except OSError as exc:
        return f"cannot write {req.delta_path}: {exc.strerror or exc}"
    return None


def differing(now: list[Any], then: list[Any], block: int = 256) -> list[int]:
    """The indices where two lists of equal length differ: compared a block at a time in C, and only a
    differing block item by item (an edit changes one entry of 10,000: 0.06 ms, where a loop over all of
    them in Python took 0.6 ms)."""
    if len(now) != len(then):
        return list(range(max(len(now), len(then))))
    out: list[int] = []
    for start in range(0, len(now), block):
        end = start + block
        if now[start:end] != then[start:end]:
            out += [i for i in range(start, min(end, len(now))) if now[i] != then[i]]
    return out


def find_sorted(items: Sequence[Any], item: Any) -> int | None:
    """Where `item` is in the sorted `items`, or None. By hand: `bisect` is one more shared library to load
    for the few paths a partial rerun looks up."""
    low, high = 0, len(items)
    while low < high:
        mid = (low + high) // 2
        if items[mid] < item:
            low = mid + 1
        else:
            high = mid
    return low if low < len(items) and items[low] == item else None


def file_sig(path: str) -> tuple[int, int, int, int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def dir_sig(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev) if stat.S_ISDIR(st.st_mode) else None


def _content_is(path: str, digest: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest() == digest
    except OSError:
        return False


def _store_sig(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_dev)


def _unchanged(dirs: list[str], dir_sigs: list[Any], absent: list[str], nofiles: list[str], store: Any,
               store_path: str) -> bool:
    """Everything but the files: every listing, every path that named nothing, the store."""
    if [dir_sig(d) for d in dirs] != dir_sigs:
        return False
    if any(os.path.isdir(p) for p in absent) or any(os.path.isfile(p) for p in nofiles):
        return False
    return store is not None and _store_sig(store_path) == tuple(store)


# ---------------------------------------------------------------------------------------------- writing


def split_slot(text: str) -> tuple[list[str], str | None] | None:
    """`text` cut where the run phase's duration goes: (parts, slot kind); None when that is ambiguous."""
    for kind, mark in SLOT_TEXTS.items():
        count = text.count(mark)
        if count == 1:
            return text.split(mark), kind
        if count > 1:
            return None
    return [text], None


def write(req: Request, *, exit_code: int, stdout: str, stderr: str, encodings: tuple[Any, Any],
          files: dict[str, str | None], observed: Mapping[str, tuple[int, int, int, int, int]],
          dirs: dict[str, tuple[int, int, int, int]], absent: set[str], nofiles: set[str],
          racy_window_ns: int = RACY_WINDOW_NS, partial: Partial | None = None) -> str | None:
    """Store the answer of `req`; returns why it was not stored (the old memo is then removed), or None.
    `partial`: what rerunning the checks of a few edited files needs (hie_tasks/replay/partial.py)."""
    why = _write_memo(req, exit_code, stdout, stderr, encodings, files, observed, dirs, absent, nofiles,
                      racy_window_ns, partial)
    if why is not None:
        remove(req)
    return why


def _write_memo(req: Request, exit_code: int, stdout: str, stderr: str, encodings: tuple[Any, Any],
                files: dict[str, str | None], observed: Mapping[str, tuple[int, int, int, int, int]],
                dirs: dict[str, tuple[int, int, int, int]], absent: set[str], nofiles: set[str],
                racy_window_ns: int, partial: Partial | None) -> str | None:
    limit = req.started_ns - racy_window_ns
    split = split_slot(stdout)
    if split is None:
        return "the output shows the sentinel duration more than once"
    parts, slot = split
    (out_enc, out_err), (err_enc, err_err) = encodings
    try:
        out_parts = [p.encode(out_enc or "utf-8", out_err or "strict") for p in parts]
        err = stderr.encode(err_enc or "utf-8", err_err or "strict")
    except (UnicodeError, LookupError) as exc:
        return f"the output cannot be encoded ({exc})"
    paths = sorted(files)
    # A stat the run took before it read the file (the digester's) pairs a signature with the bytes the run
    # used; for the other files (spec, config, plugins: read before now) a stat now is no younger than them
    # unless they changed, which the racy rule below catches.
    sigs = [observed.get(p) or file_sig(p) for p in paths]
    racy = racy_entries(paths, sigs, files, limit)
    if isinstance(racy, str):
        return racy
    return store_body(req, exit_code=exit_code, out_parts=out_parts, slot=slot, err=err, paths=paths, sigs=sigs,
                      racy=racy, dirs=dirs, absent=absent, nofiles=nofiles, racy_window_ns=racy_window_ns,
                      partial=partial)


def racy_entries(paths: Sequence[str], sigs: Sequence[Any], digests: Mapping[str, str | None], limit: int
                 ) -> list[tuple[str, str]] | str:
    """(path, digest) of each file changed since `limit` (its stat cannot vouch for it: served only while
    its bytes hash to the digest the run used), or why there is no memo."""
    racy: list[tuple[str, str]] = []
    for path, sig in zip(paths, sigs, strict=True):
        if sig is not None and max(sig[2], sig[4]) >= limit:
            digest = digests.get(path)
            if digest is None or len(digest) != 64 or not stat.S_ISREG(sig[0]):
                return f"{path} changed while (or just before) the run"
            racy.append((path, digest))
    return racy


def store_body(req: Request, *, exit_code: int, out_parts: list[bytes], slot: str | None, err: bytes,
               paths: list[str], sigs: list[Any], racy: list[tuple[str, str]],
               dirs: Mapping[str, tuple[int, int, int, int]], absent: Iterable[str], nofiles: Iterable[str],
               racy_window_ns: int, partial: Partial | None) -> str | None:
    """Sign and write a memo from its parts (`paths` sorted, `sigs` theirs); returns why not, or None."""
    limit = req.started_ns - racy_window_ns
    for path, dsig in dirs.items():
        if max(dsig[0], dsig[1]) >= limit:
            return f"directory {path} changed while (or just before) the run"
    store = _store_sig(req.store)
    if store is None:
        return "no result store"
    dir_paths = sorted(dirs)
    # The partial rerun's data lives beside the memo, bound to it by its head's digest (the head vouches
    # for the rest piece by piece, `Partial`): a no-op never reads it.
    bound = hashlib.sha256(partial[0]).hexdigest() if partial is not None else None
    body = marshal.dumps((FORMAT, req.key, exit_code, out_parts, slot, err, paths, sigs, dir_paths,
                          [dirs[d] for d in dir_paths], sorted(absent), sorted(nofiles), store, racy, bound))
    tag = secret.mac(PURPOSE, req.key, body)
    directory = os.path.dirname(req.path)
    try:
        os.makedirs(directory, exist_ok=True)
        if partial is not None:
            head, tail = partial
            _replace(req.partial_path, len(head).to_bytes(8, "little"), head, tail)
        elif os.path.exists(req.partial_path):
            os.unlink(req.partial_path)
        _replace(req.path, tag.encode("ascii") + b"\n", body)
        _unlink(req.delta_path)  # bound to the memo just replaced
        _prune(directory, keep=req.path)
    except OSError as exc:
        return f"cannot write {req.path}: {exc.strerror or exc}"
    return None


def _replace(path: str, *chunks: bytes | memoryview) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_partial(req: Request, digest: str) -> tuple[bytes, PartialTail] | None:
    """The partial rerun's data of `req`'s memo, (head, tail), when its head is the one the memo was
    written with (what the tail holds is the head's to vouch for, piece by piece)."""
    try:
        with open(req.partial_path, "rb") as fh:
            total = os.fstat(fh.fileno()).st_size
            size = int.from_bytes(fh.read(8), "little")
            head = fh.read(size) if 8 + size <= total else b""
    except OSError:
        return None
    if len(head) != size or hashlib.sha256(head).hexdigest() != digest:
        return None
    return head, PartialTail(req.partial_path, 8 + size, total - 8 - size)


class PartialTail:
    """What follows a partial file's head, read when asked for: a rerun of two checks reads their two
    pieces, not the half megabyte of every planned check. A file replaced or cut meanwhile gives other bytes,
    which the head's digests refuse; one that cannot be read raises ValueError."""

    __slots__ = ("_offset", "_path", "_size")

    def __init__(self, path: str, offset: int, size: int) -> None:
        self._path, self._offset, self._size = path, offset, size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, part: slice) -> bytes:
        start, stop, _step = part.indices(self._size)
        try:
            fd = os.open(self._path, os.O_RDONLY)
            try:
                data = os.pread(fd, stop - start, self._offset + start) if stop > start else b""
            finally:
                os.close(fd)
        except OSError as exc:
            raise ValueError(f"cannot read {self._path}: {exc.strerror or exc}") from exc
        if len(data) != max(0, stop - start):
            raise ValueError(f"{self._path} is shorter than its head says")
        return data

    def whole(self) -> bytes:
        return self[0:self._size]


def _prune(directory: str, keep: str) -> None:
    """At most `KEEP` memos per store: each command line, terminal size and environment has its own, and a
    memo is as big as the run's inputs (1.5 MB at 10k files)."""
    try:
        entries = [(e.stat().st_mtime_ns, e.path) for e in os.scandir(directory) if e.name.endswith(".memo")]
    except OSError:
        return
    entries.sort(reverse=True)
    for _mtime, path in entries[KEEP:]:
        if path != keep:
            stem = path[:-len(".memo")]
            for gone in (path, stem + ".partial", stem + ".delta"):
                _unlink(gone)


def remove(req: Request) -> None:
    for path in (req.path, req.partial_path, req.delta_path):
        _unlink(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass

