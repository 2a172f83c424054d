"""A spec reused from the previous run without parsing it, while none of its files changed.

`Project.load_spec` asks `SpecCache.load` first. A hit is a `CachedSpecSet`: the previous parse's
diagnostics, entries, file names, imported libraries and derived findings (`SpecSet.derived`), with the
syntax trees parsed only if someone asks for them (`files`, `programs`, `sources`) — a run whose plan also
comes from the cache never does. Valid while every spec file has the digest of the text parsed then and
every import that named no file still names none; stored through `incremental/plancache.py`'s
authenticated files, keyed by hie-tasks' version, the spec path and the known library names.

Not stored: specs with errors (nothing runs; speed does not matter), a directory of entry files, spec files
reached through symlinks (the loader dedupes by real path).
"""

from __future__ import annotations

import os
from typing import Any

from hie_tasks.diagnostics import Diagnostic, Severity, Span
from hie_tasks.incremental.digests import FileDigester, hash_text
from hie_tasks.incremental.plancache import PlanInputs, PlanStore, Uncacheable
from hie_tasks.lang.ast import Program
from hie_tasks.lang.loader import SPEC_SUFFIX, SpecSet, load_spec, resolve_import
from hie_tasks.version import __version__


class CachedSpecSet(SpecSet):
    """A `SpecSet` whose syntax trees and sources are loaded on first use.

    Made by `from_payload`. `SpecSet`'s own constructor still works (`dataclasses.replace` calls it, as the
    daemon does): such a copy has its files and sources already and answers like a plain `SpecSet`.
    """

    _path = ""
    _libraries: frozenset[str] = frozenset()
    _files: list[tuple[Program, str]] | None = None
    _sources: dict[str, str] | None = None
    _names: list[str] | None = None
    _imports: set[str] | None = None
    #: spec file name → digest of its text, as validated; None for a copy made by the constructor
    digests: dict[str, str] | None = None

    @classmethod
    def from_payload(cls, path: str, libraries: set[str], payload: dict[str, Any]) -> CachedSpecSet:
        spec = cls.__new__(cls)
        spec._path = path
        spec._libraries = frozenset(libraries)
        spec.diagnostics = [_decode_diag(d) for d in payload["diagnostics"]]
        spec.entries = list(payload["entries"])
        spec.derived = {key: [_decode_diag(d) for d in diags] for key, diags in payload["derived"].items()}
        spec._names = list(payload["files"])
        spec._imports = set(payload["imports"])
        spec.digests = dict(payload["digests"])
        return spec

    def _load(self) -> None:
        # The files were unchanged a moment ago; parse them as the loader would have.
        real = load_spec(self._path, set(self._libraries))
        self._files, self._sources = real.files, real.sources

    @property
    def files(self) -> list[tuple[Program, str]]:
        if self._files is None:
            self._load()
        assert self._files is not None
        return self._files

    @files.setter
    def files(self, value: list[tuple[Program, str]]) -> None:
        self._files = value

    @property
    def sources(self) -> dict[str, str]:
        if self._sources is None:
            self._load()
        assert self._sources is not None
        return self._sources

    @sources.setter
    def sources(self, value: dict[str, str]) -> None:
        self._sources = value

    def file_names(self) -> list[str]:
        return list(self._names) if self._names is not None else super().file_names()

    def library_imports(self) -> set[str]:
        return set(self._imports) if self._imports is not None else super().library_imports()


def source_digests(spec: SpecSet) -> dict[str, str]:
    """Each spec file's name → the digest of its text, without parsing a cached spec."""
    if isinstance(spec, CachedSpecSet) and spec.digests is not None:
        return dict(spec.digests)
    return {name: hash_text(text) for name, text in spec.sources.items()}


class SpecCache:
    def __init__(self, cache_dir: str) -> None:
        # A digester of its own, without the store's stat cache: reading the spec files is cheap, and commands
        # that only load a spec (validate, doc) never open the result store.
        self.store = PlanStore(cache_dir, FileDigester(None))

    @staticmethod
    def key(path: str, libraries: set[str]) -> str:
        # The path as given and the working directory: diagnostics name files as the user wrote them.
        return PlanStore.make_key(["spec", __version__, os.getcwd(), path, *sorted(libraries)])

    def load(self, key: str, path: str, libraries: set[str]) -> CachedSpecSet | None:
        payload = self.store.load(key)
        if payload is None:
            return None
        try:
            return CachedSpecSet.from_payload(path, libraries, payload)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            self.store.warnings.append(f"warning: ignoring a cached spec: unreadable content ({exc}); parsing afresh")
            return None

    def save(self, key: str, spec: SpecSet, diagnostics: list[Diagnostic]) -> str | None:
        """Store `spec` (its own `diagnostics`, as the loader gave them); returns why not, or None."""
        if any(d.severity is Severity.ERROR for d in diagnostics):
            return "the spec has errors"
        inputs = PlanInputs()
        for program, source in spec.files:
            name = program.file
            if os.path.realpath(name) != os.path.abspath(name):
                return f"{name} is reached through a symlink"
            inputs.digests[os.path.abspath(name)] = hash_text(source)
            for imp in program.imports:
                if imp.is_string:
                    why = self._import_inputs(name, imp.dotted, spec, inputs)
                    if why is not None:
                        return why
        if any(os.path.isdir(entry) for entry in spec.entries) or any(
                os.path.abspath(e) not in inputs.digests for e in spec.entries):
            return "the spec is a directory of entry files"
        payload = {
            "diagnostics": [_encode_diag(d) for d in diagnostics],
            "entries": spec.entries,
            "files": spec.file_names(),
            "imports": sorted(spec.library_imports()),
            "digests": {name: hash_text(text) for name, text in spec.sources.items()},
            "derived": {key: [_encode_diag(d) for d in diags] for key, diags in spec.derived.items()},
        }
        try:
            self.store.save(key, payload, inputs)
        except Uncacheable as exc:
            return str(exc)
        except OSError as exc:
            return f"cannot write the spec: {exc.strerror or exc}"
        return None


    def _import_inputs(self, importer: str, target: str, spec: SpecSet, inputs: PlanInputs) -> str | None:
        """What decides a string import's resolution: the file it names (in the spec already), or for one
        that names none (W004, whose message lists the paths tried) each candidate path's state."""
        found, _tried = resolve_import(importer, target)
        if found is not None:
            return None if found in spec.sources else f"{found} appeared while the spec was read"
        base = os.path.normpath(os.path.join(os.path.dirname(importer), target))
        for candidate in {base, base if base.endswith(SPEC_SUFFIX) else base + SPEC_SUFFIX}:
            if not os.path.isfile(candidate):
                inputs.nofiles.add(os.path.abspath(candidate))
            elif candidate.endswith(SPEC_SUFFIX):
                return f"{candidate} appeared while the spec was read"
            else:
                inputs.digests[os.path.abspath(candidate)] = self.store.digester.digest(candidate)
        return None


def _encode_diag(d: Diagnostic) -> list[Any]:
    return [d.code, d.severity.value, d.message, list(d.span), d.help, d.context]


def _decode_diag(data: list[Any]) -> Diagnostic:
    code, severity, message, span, help_text, context = data
    return Diagnostic(code, Severity(severity), message, Span(*span), help_text, context)
