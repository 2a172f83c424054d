"""The static fingerprint of a check: everything known about its inputs *before* it runs.

The fingerprint is a hash over named components, and the components are kept (the "breakdown") so that
`explain` and the rerun reasons can say *which* input changed rather than just "something changed".

The rule, as it should read in the README:

    A check's stored verdict is replayed instead of running the check when ALL of these are unchanged since
    the verdict was recorded:
      - version    the hie-tasks version;
      - text       the check's expression text;
      - location   the .hie file (workspace-relative) and the line the check is on;
      - library    the library name, and identity: the library's own identity string (for a WASM plugin its
                   module digest and capabilities, for an external plugin its command, for built-ins their
                   version);
      - function   the function name;
      - args       the arguments, as canonical JSON of their tagged form (a Scope contributes its kind here
                   and its paths to its scope[i] component);
      - scope[i]   for the i-th Scope among the arguments (counting into lists, left to right): the set of its
                   files (workspace-relative) and the content digest of each, so adding, removing or editing
                   a file in the scope is a change (for PURE libraries, which cannot open files, only the set
                   of paths counts);
    The absolute workspace root is NOT an input: paths are workspace-relative and the identity has the root
    replaced by a marker (`relocate.py`), so a store (local or remote) is valid at any checkout path.
    and, checked after that, every input the check reported while it ran:
      - each file it read beyond its scopes (deps) has the same content digest;
      - each directory listing it depended on (trees) still lists the same file names.
    A check always reruns when there is no stored verdict, when the stored verdict is an Error (other than
    the answer a built-in gives to its inputs, `CheckResult.stable`), with
    `--refresh`, and when its library is impure (e.g. a WASM plugin with fs = "write"). With `--no-cache`
    nothing is replayed or recorded.

Component digests are SHA-256 of the component's canonical text; the fingerprint is SHA-256 of the canonical
JSON of the breakdown.
"""

from __future__ import annotations

import os

from hie_tasks.incremental.digests import FileDigester, hash_text
from hie_tasks.incremental.relocate import rel_path, relocate_text
from hie_tasks.model import jsontext
from hie_tasks.model.codec import encode_value
from hie_tasks.model.record import FrozenRecord, Record
from hie_tasks.model.values import Scope, Value
from hie_tasks.version import __version__

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

#: Stands for a path's content digest when contents are not part of the fingerprint (PURE libraries).
NOT_HASHED = "-"

#: Names the way components are computed; stored verdicts of another recipe are reported as such.
RECIPE = "relocatable-1"

#: `dumps_canonical` with its encoder built once: the function form builds a JSONEncoder per call, which is
#: most of its cost for the small documents hashed once per check (tests pin the two to the same output).
canonical_json = jsontext.encoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
#: JSON string quoting as `canonical_json` does it (ensure_ascii=False), without building an encoder per call.
_quote = jsontext.quote


class FingerprintParts(FrozenRecord):
    """The static inputs of one check call, as the runner knows them before running it."""

    __slots__ = ("text", "spec_file", "line", "library", "identity", "function", "args", "workspace", "version")

    text: str
    spec_file: str
    line: int
    library: str
    identity: str
    function: str
    args: Sequence[Value]
    workspace: str
    version: str

    def __init__(self, text: str, spec_file: str, line: int, library: str, identity: str, function: str,
                 args: Sequence[Value], workspace: str = "", version: str = __version__) -> None:
        self.text = text
        self.spec_file = spec_file
        self.line = line
        self.library = library
        self.identity = identity
        self.function = function
        self.args = args
        self.workspace = workspace
        self.version = version


class Fingerprint(FrozenRecord):
    __slots__ = ("value", "breakdown", "scope_paths")

    value: str
    breakdown: dict[str, str]
    #: scope component name → {path: content digest}
    scope_paths: dict[str, dict[str, str]]

    def __init__(self, value: str, breakdown: dict[str, str], scope_paths: dict[str, dict[str, str]]) -> None:
        self.value = value
        self.breakdown = breakdown
        self.scope_paths = scope_paths


def iter_scopes(args: Sequence[Value]) -> Iterator[Scope]:
    """Scopes among `args`, depth-first left to right, descending into lists."""
    for arg in args:
        if isinstance(arg, Scope):
            yield arg
        elif isinstance(arg, list):
            yield from iter_scopes(arg)


def _scope_item(scope: Scope, index: int) -> dict[str, object]:
    """The tagged form of the `index`-th Scope argument, its paths replaced by its component's name."""
    data: dict[str, object] = encode_value(Scope(scope.kind, (), scope.resolved))
    data["Scope"]["paths"] = f"scope[{index}]"  # type: ignore[index]
    return data


def _scope_item_json(scope: Scope, index: int) -> str:
    """`canonical_json(_scope_item(scope, index))`, spelled out: once per distinct scope of a run, where the
    encoder's set-up dominated (tests pin the two to one text)."""
    kind = f"{{{_quote(scope.kind.tag.value)}:{_quote(scope.kind.text)}}}"
    resolved = "true" if scope.resolved else "false"
    return f'{{"Scope":{{"kind":{kind},"paths":"scope[{index}]","resolved":{resolved}}}}}'


def _args_without_paths(args: Sequence[Value]) -> list[object]:
    """Canonical JSON of the arguments with each Scope's path list replaced by a reference to its scope
    component, so an added file shows up as "scope[0] changed (x added)" and not also as "arguments changed"."""
    counter = iter(range(1 << 62))

    def encode(value: Value) -> object:
        if isinstance(value, Scope):
            return _scope_item(value, next(counter))
        if isinstance(value, list):
            return {"List": [encode(v) for v in value]}
        return encode_value(value)

    return [encode(a) for a in args]


def scope_component(paths: dict[str, str]) -> str:
    # `canonical_json(sorted(paths.items()))`, spelled out: once per distinct scope of a run, and the
    # encoder's per-call set-up cost more than the encoding of a folder's few items (tests pin the two).
    items = sorted(paths.items())
    return hash_text("[" + ",".join([f"[{_quote(p)},{_quote(d)}]" for p, d in items]) + "]")


#: Per-run memo of scope components: (paths, contents?) → (component digest, {relative path: digest}).
ScopeMemo = dict[tuple[tuple[str, ...], bool], tuple[str, dict[str, str]]]


class FingerprintMemo(Record):
    """What every check of one run shares, computed once instead of once per check.

    Checks of a spec share a few Scope objects, libraries and function names: a 2000-check spec has ~600
    distinct scopes and a handful of distinct identities. Valid for one run only (file digests are per-run
    snapshots), so the session clears it in `begin_run`. Entries keyed by `id()` keep their objects alive
    in the value, so an id cannot be reused for another object while the entry exists.
    """

    __slots__ = ("scopes", "texts", "scope_items")

    scopes: ScopeMemo
    #: component text → its digest, for the components most checks share (version, library, ...)
    texts: dict[str, str]
    #: (id of a Scope argument, its position among the scopes) → (the Scope, its canonical JSON item)
    scope_items: dict[tuple[int, int], tuple[Scope, str]]

    def __init__(self, scopes: ScopeMemo | None = None, texts: dict[str, str] | None = None,
                 scope_items: dict[tuple[int, int], tuple[Scope, str]] | None = None) -> None:
        self.scopes = {} if scopes is None else scopes
        self.texts = {} if texts is None else texts
        self.scope_items = {} if scope_items is None else scope_items

    def clear(self) -> None:
        _PLAIN_ARGS.clear()
        self.scopes.clear()
        self.texts.clear()
        self.scope_items.clear()

    def text_digest(self, text: str) -> str:
        digest = self.texts.get(text)
        if digest is None:
            digest = self.texts[text] = hash_text(text)
        return digest

    def args_digest(self, args: Sequence[Value]) -> str:
        return _args_digest(args, self.scope_items)


#: Canonical JSON of the str and int arguments seen in this process (a spec repeats a few hundred of them).
#: Process-wide and unbounded in principle, but a spec's literals are few; cleared with the memo anyway.
_PLAIN_ARGS: dict[tuple[str, str | int], str] = {}


def _args_digest(args: Sequence[Value], fragments: dict[tuple[int, int], tuple[Scope, str]] | None = None) -> str:
    if fragments is None or any(isinstance(a, list) for a in args):
        return hash_text(canonical_json(_args_without_paths(args)))
    # Flat arguments (the usual case): the canonical JSON of a list is its items' canonical JSON joined by
    # ",", and a Scope's item depends only on the Scope and its position — memoised, as scopes are shared.
    items: list[str] = []
    index = 0
    for arg in args:
        if isinstance(arg, Scope):
            known = fragments.get((id(arg), index))
            if known is None:
                known = fragments[(id(arg), index)] = (arg, _scope_item_json(arg, index))
            items.append(known[1])
            index += 1
        elif type(arg) is str or type(arg) is int:
            # Keyed with the type: 1, 1.0 and True are equal dict keys but encode differently.
            plain_key = (type(arg).__name__, arg)
            plain = _PLAIN_ARGS.get(plain_key)
            if plain is None:
                plain = _PLAIN_ARGS[plain_key] = canonical_json(encode_value(arg))
            items.append(plain)
        else:
            items.append(canonical_json(encode_value(arg)))
    return hash_text("[" + ",".join(items) + "]")


def _scope(scope: Scope, digester: FileDigester, contents: bool, memo: ScopeMemo | None,
           workspace: str = "") -> tuple[str, dict[str, str]]:
    key = (scope.paths, contents)
    if memo is not None:
        known = memo.get(key)
        if known is not None:
            return known
    names = _relative_paths(scope.paths, workspace)
    if contents:
        paths = dict(zip(names, digester.scope_digests(scope.paths), strict=True))
    else:
        paths = dict.fromkeys(names, NOT_HASHED)
    result = (scope_component(paths), paths)
    if memo is not None:
        memo[key] = result
    return result


def _relative_paths(paths: tuple[str, ...], workspace: str) -> list[str]:
    """`[rel_path(p, workspace) for p in paths]`, with the common case (a path under the workspace, '/'
    separators) a slice: a no-op run relativises every scoped file."""
    prefix = workspace.rstrip(os.sep) + os.sep
    if not workspace or len(workspace) <= 1 or os.sep != "/":
        return [rel_path(p, workspace) for p in paths]
    cut = len(prefix)
    return [p[cut:] if p.startswith(prefix) else rel_path(p, workspace) for p in paths]


def compute_fingerprint(parts: FingerprintParts, digester: FileDigester, *, contents: bool = True,
                        memo: FingerprintMemo | None = None) -> Fingerprint:
    """The fingerprint with its breakdown and the per-path digests of every scope argument.

    Pass the same `memo` for every check of a run: checks usually share a few big scopes, and the
    component of a scope is then computed once instead of once per check (digests are per-run snapshots,
    so the answer cannot differ within a run)."""
    m = memo if memo is not None else FingerprintMemo()
    text = m.text_digest
    breakdown = {
        "version": text(parts.version),
        "text": hash_text(parts.text),
        "location": hash_text(f"{parts.spec_file}:{parts.line}"),
        "library": text(parts.library),
        "identity": text(relocate_text(parts.identity, parts.workspace)),
        "function": text(parts.function),
        "args": m.args_digest(parts.args),
        "recipe": text(RECIPE),
    }
    scope_paths: dict[str, dict[str, str]] = {}
    for i, scope in enumerate(iter_scopes(parts.args)):
        name = f"scope[{i}]"
        breakdown[name], scope_paths[name] = _scope(scope, digester, contents, m.scopes, parts.workspace)
    return Fingerprint(hash_text(_breakdown_json(breakdown)), breakdown, scope_paths)


def _breakdown_json(breakdown: dict[str, str]) -> str:
    """`canonical_json(breakdown)`, built directly: component names are fixed ASCII words and `scope[i]`,
    digests are hex, so nothing needs escaping, and this runs once per check."""
    return "{" + ",".join([f'"{name}":"{digest}"' for name, digest in sorted(breakdown.items())]) + "}"


def static_fingerprint(parts: FingerprintParts, digester: FileDigester, *,
                       contents: bool = True) -> tuple[str, dict[str, str]]:
    """The hex fingerprint and its breakdown {component name: digest}."""
    fp = compute_fingerprint(parts, digester, contents=contents)
    return fp.value, fp.breakdown
