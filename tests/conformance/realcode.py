"""Real-code differential runs: the `python` and `rust` built-ins on source trees we did not write.

A *tree* is a real source tree already on the machine, copied into a scratch workspace (so no result store
or spec ever lands in site-packages or the cargo registry):

- `python`: installed packages from the interpreter's site-packages (`rich`, `watchdog`, `nox`, `click`,
  `hypothesis`, …), each as `<ws>/<package>/…` so dotted module names (`rich.console`) select;
- `rust`: Debian's crate sources under `/usr/share/cargo/registry` (`apt-get install librust-regex-dev
  librust-serde-json-dev`): one crate as the workspace itself (its root `Cargo.toml` names it), and `crates`,
  several crates laid out as `<ws>/crates/<name>/` (the layout `crate_selector` looks for).

`scan` collects the names that occur in a tree (modules, functions, classes, imports, calls, return types for
python; modules, structs, enums, traits, impls, derives, functions, `use` paths, crates for rust) and
`spec` writes N checks from them with a fixed seed: every selector and every check of the library in turn,
names that exist mixed with near-misses that do not (a suffix, a truncated prefix), scopes of the `files`
library mixed in, and a small share of argument errors, so Pass, Fail and Error verdicts all occur.

`compare_trees` runs both CLIs from the workspace directory (our drop-in via the comparator, plus our own
`hie-tasks run -f json --no-cache`) and reports, per tree, how many checks agree on verdict and message, and
the mismatch classes per library function.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.conformance.compare import Case, Outcome, _env, _json, _results, compare_all, run_oracle

REGISTRY = Path("/usr/share/cargo/registry")
PYTHON_PACKAGES = ("rich", "watchdog", "nox", "click", "hypothesis", "pygments", "packaging")
RUST_CRATES = ("regex", "serde_json", "regex-syntax", "aho-corasick", "syn")
#: The multi-crate workspace (`<ws>/crates/<name>/`), as the real-tree benchmark lays it out.
WORKSPACE_CRATES = ("regex", "regex-syntax", "aho-corasick", "clap", "serde_json")


@dataclass(frozen=True)
class Tree:
    name: str
    lib: str  # "python" | "rust"
    #: (source directory, destination relative to the workspace; "" = the workspace itself)
    parts: tuple[tuple[Path, str], ...]

    def materialise(self, dest: Path) -> Path:
        """Copy the tree into `dest` (a fresh directory) and return it."""
        ignore = shutil.ignore_patterns("__pycache__", "target", ".git", "*.pyc")
        dest.mkdir(parents=True, exist_ok=True)
        for src, rel in self.parts:
            shutil.copytree(src, dest / rel if rel else dest, ignore=ignore, dirs_exist_ok=True)
        return dest


def _crate_dir(crate: str) -> Path | None:
    found = sorted(glob.glob(str(REGISTRY / f"{crate}-[0-9]*")))
    return Path(found[-1]) if found else None


def python_tree(package: str) -> Tree | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Tree(package, "python", ((Path(next(iter(spec.submodule_search_locations))), package),))


def rust_tree(name: str) -> Tree | None:
    """A crate by name, or `crates`: the crates of WORKSPACE_CRATES that are installed, as one workspace."""
    if name == "crates":
        parts = tuple((d, f"crates/{c}") for c in WORKSPACE_CRATES if (d := _crate_dir(c)) is not None)
        return Tree("crates", "rust", parts) if parts else None
    d = _crate_dir(name)
    return None if d is None else Tree(name, "rust", ((d, ""),))


def available_trees(names: Sequence[str] = ()) -> list[Tree]:
    wanted = list(names) or [*PYTHON_PACKAGES, *RUST_CRATES, "crates"]
    trees = []
    for name in wanted:
        is_rust = name not in PYTHON_PACKAGES and (name == "crates" or _crate_dir(name) is not None)
        tree = rust_tree(name) if is_rust else python_tree(name)
        if tree is not None:
            trees.append(tree)
    return trees


# ------------------------------------------------------------------ names that occur in a tree


def _found(texts: Sequence[str], pattern: str, group: int = 1) -> list[str]:
    regex = re.compile(pattern, re.MULTILINE)
    return sorted({m.group(group) for t in texts for m in regex.finditer(t) if m.group(group)})


def _read(paths: Sequence[Path]) -> list[str]:
    return [p.read_text(encoding="utf-8", errors="replace") for p in paths]


@dataclass
class Names:
    """Name lists by role; `dirs`/`files` are workspace-relative, for `files` selectors."""

    roles: dict[str, list[str]] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _rel(ws: Path, paths: Sequence[Path]) -> tuple[list[str], list[str]]:
    files = [p.relative_to(ws).as_posix() for p in paths]
    dirs = sorted({os.path.dirname(f) for f in files} - {""})
    return dirs, files


def scan_python(ws: Path) -> Names:
    paths = sorted(ws.rglob("*.py"))
    texts = _read(paths)
    dirs, files = _rel(ws, paths)
    dotted = sorted({f[:-3].replace("/", ".").removesuffix(".__init__") for f in files})
    stems = sorted({Path(f).stem for f in files} - {"__init__"})
    return Names(
        {
            "module": dotted + stems,
            "def": _found(texts, r"\bdef\s+(\w+)\("),
            "class": _found(texts, r"\bclass\s+(\w+)[:(]"),
            "import": _found(texts, r"^\s*(?:from|import)\s+([\w.]+)"),
            "call": _found(texts, r"\b(\w+)\(") + _found(texts, r"\b(\w+\.\w+)\("),
            "qualified": _found(texts, r"\b(\w+\.\w+)\("),
            "type": _found(texts, r"->\s*([\w.]+(?:\[[\w., ]*\])?)\s*:"),
        },
        dirs,
        files,
    )


def scan_rust(ws: Path) -> Names:
    paths = sorted(p for p in ws.rglob("*.rs") if "target" not in p.parts)
    texts = _read(paths)
    dirs, files = _rel(ws, paths)
    stems = sorted({Path(f).stem for f in files})
    nested = sorted({"::".join(Path(f).with_suffix("").parts[-2:]) for f in files if "/" in f})
    manifests = _read(sorted(ws.glob("Cargo.toml")) + sorted(ws.glob("crates/*/Cargo.toml")))
    derives = sorted({d.strip() for ds in _found(texts, r"#\[derive\(([^)]*)\)\]") for d in ds.split(",")} - {""})
    impl = r"\bimpl(?:<[^>{]*>)?\s+"
    return Names(
        {
            "module": stems + nested,
            "struct": _found(texts, r"\bstruct\s+(\w+)"),
            "enum": _found(texts, r"\benum\s+(\w+)"),
            "fn": _found(texts, r"\bfn\s+(\w+)"),
            "trait": _found(texts, r"\btrait\s+(\w+)"),
            "impl": _found(texts, impl + r"([\w:]+)"),
            "impl_for": _found(texts, impl + r"(\w+\s+for\s+\w+)"),
            "derive": derives,
            "use": _found(texts, r"\buse\s+([\w:]+)") + _found(texts, r"\b(\w+)::"),
            "crate": _found(manifests, r'^name = "([^"]+)"'),
        },
        dirs,
        files,
    )


# ------------------------------------------------------------------ spec generation


class _Gen:
    """Draws names: mostly real ones, a share of near-misses that occur nowhere or only as prefixes."""

    def __init__(self, names: Names, rng: random.Random, absent: float = 0.3) -> None:
        self.names, self.rng, self.absent = names, rng, absent

    def name(self, role: str, fallback: str = "Nothing") -> str:
        pool = self.names.roles.get(role) or [fallback]
        real = self.rng.choice(pool)
        if self.rng.random() >= self.absent:
            return real
        how = self.rng.randrange(3)
        if how == 0:
            return real + "Zq"
        if how == 1 and len(real) > 3:
            return real[: self.rng.randrange(2, len(real) - 1)]  # a prefix: matches where upstream is textual
        return "no_such_" + re.sub(r"\W", "_", real)

    def choice(self, items: Sequence[str]) -> str:
        return self.rng.choice(list(items))

    def files_scope(self) -> str:
        if self.names.dirs and self.rng.random() < 0.6:
            return f"files.folder_selector('{self.choice(self.names.dirs)}')"
        return f"files.file_selector('{self.choice(self.names.files or ['none.rs'])}')"


def _q(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


PYTHON_SELECTORS = ("module_selector", "function_selector", "class_selector")
PYTHON_CHECKS = (
    "imports", "no_import", "returns_type", "function_returns_type", "calls", "calls_function", "calls_scope",
)
RUST_SELECTORS = (
    "crate_selector", "module_selector", "struct_selector", "enum_selector", "function_selector",
    "trait_selector", "impl_selector",
)
RUST_CHECKS = (
    "struct_exists", "enum_exists", "function_exists", "trait_exists", "impl_exists", "implements", "uses",
    "has_derive", "has_docs", "has_tests", "depends_on", "no_dependency", "pipeline_connects", "type_compatible",
)


def _python_selector(g: _Gen, fn: str) -> str:
    role = {"module_selector": "module", "function_selector": "def", "class_selector": "class"}[fn]
    return f"python.{fn}({_q(g.name(role))})"


def _python_check(g: _Gen, fn: str, a: str, b: str) -> str:
    if fn in ("imports", "no_import"):
        return f"python.{fn}({a}, {_q(g.name('import'))})"
    if fn == "returns_type":
        return f"python.returns_type({a}, {_q(g.name('type', 'None'))})"
    if fn == "function_returns_type":
        return f"python.function_returns_type({a}, {_q(g.name('def'))}, {_q(g.name('type', 'None'))})"
    if fn == "calls":
        return f"python.calls({a}, {_q(g.name('call'))})"
    if fn == "calls_function":
        module, _, func = g.name("qualified", "os.path").partition(".")
        return f"python.calls_function({a}, {_q(module)}, {_q(func or g.name('def'))})"
    return f"python.calls_scope({a}, {b})"


def _rust_selector(g: _Gen, fn: str) -> str:
    role = {"crate_selector": "crate", "module_selector": "module", "struct_selector": "struct",
            "enum_selector": "enum", "function_selector": "fn", "trait_selector": "trait",
            "impl_selector": "impl"}[fn]
    return f"rust.{fn}({_q(g.name(role))})"


def _rust_check(g: _Gen, fn: str, a: str, b: str) -> str:
    item = {"struct_exists": "struct", "enum_exists": "enum", "function_exists": "fn", "trait_exists": "trait",
            "impl_exists": "impl"}
    if fn in item:
        return f"rust.{fn}({_q(g.name(item[fn]))})"
    if fn == "implements":
        pair = g.choice(g.names.roles.get("impl_for") or ["Debug for Nothing"])
        trait, _, type_name = (p.strip() for p in re.split(r"\s+(for)\s+", pair))
        if g.rng.random() < g.absent:
            type_name, trait = (g.name("struct"), trait) if g.rng.random() < 0.5 else (type_name, g.name("trait"))
        return f"rust.implements({_q(type_name)}, {_q(trait)})"
    if fn == "uses":
        return f"rust.uses({a}, {_q(g.name('use'))})"
    if fn == "has_derive":
        return f"rust.has_derive({a}, {_q(g.name('derive', 'Debug'))})"
    if fn in ("has_docs", "has_tests"):
        return f"rust.{fn}({a})"
    return f"rust.{fn}({a}, {b})"


def _argument_error(g: _Gen, lib: str, fn: str, a: str) -> str:
    """A check whose first argument has the wrong kind (an Error verdict with the library's message)."""
    if fn in ("struct_exists", "enum_exists", "function_exists", "trait_exists", "impl_exists", "implements"):
        return f"{lib}.{fn}({a})"
    return f"{lib}.{fn}('x', {a})"


def spec(lib: str, names: Names, checks: int, seed: int, *, argument_errors: bool = True) -> str:
    """A `.hie` spec of `checks` checks over `names`: each function of the library in turn (so all occur),
    elements of two library scopes and sometimes a `files` scope. Without `argument_errors` the same spec
    minus its argument-error checks (`hie-tasks run` rejects those at plan time, by design: E232/E233)."""
    rng = random.Random(seed)
    g = _Gen(names, rng)
    selectors, check_fns = (PYTHON_SELECTORS, PYTHON_CHECKS) if lib == "python" else (RUST_SELECTORS, RUST_CHECKS)
    make_scope: Callable[[_Gen, str], str] = _python_selector if lib == "python" else _rust_selector
    make_check: Callable[[_Gen, str, str, str], str] = _python_check if lib == "python" else _rust_check
    order = list(check_fns)
    sel_order = list(selectors)
    lines = [f"import {lib}", "import files", ""]
    done = index = 0
    while done < checks:
        if index % len(sel_order) == 0:
            rng.shuffle(sel_order)
        lines.append(f"element e{index}:")
        scope_names = ["a", "b"]
        lines.append(f"    scope a = {make_scope(g, sel_order[index % len(sel_order)])}")
        lines.append(f"    scope b = {make_scope(g, rng.choice(sel_order))}")
        if rng.random() < 0.3:
            lines.append(f"    scope c = {g.files_scope()}")
            scope_names.append("c")
        for _ in range(min(rng.randint(2, 5), checks - done)):
            if done % len(order) == 0:
                rng.shuffle(order)
            fn = order[done % len(order)]
            x, y = rng.choice(scope_names), rng.choice(scope_names)
            if rng.random() < 0.03:
                if argument_errors:
                    lines.append(f"    check {_argument_error(g, lib, fn, x)}")
            else:
                lines.append(f"    check {make_check(g, fn, x, y)}")
            done += 1
        lines.append("")
        index += 1
    return "\n".join(lines)


def scan(tree_lib: str, ws: Path) -> Names:
    return scan_python(ws) if tree_lib == "python" else scan_rust(ws)


# ------------------------------------------------------------------ comparing on real trees


@dataclass
class RealOutcome:
    tree: Tree
    outcome: Outcome  # the drop-in's full comparison (check + run: exit codes, diagnostics, rows, summary)
    checks: int = 0
    agree: int = 0
    #: the oracle's summary counts, "passed/failed/errors"
    verdicts: str = "-"
    #: (class, detail): `<lib>.<fn>:verdict|message` per differing row, `native:…` for `hie-tasks run`
    mismatches: list[tuple[str, str]] = field(default_factory=list)

    @property
    def other_classes(self) -> list[str]:
        """The comparator's classes beyond the per-row ones (which `mismatches` classifies itself)."""
        return [c for c in self.outcome.classes if c not in _ROW_CLASSES and not c.startswith("files:")]

    @property
    def ok(self) -> bool:
        return all(c.startswith("exception:") for c in self.other_classes) and all(
            c.removeprefix("native:").startswith("exception:") for c, _ in self.mismatches
        )


_ROW_CLASSES = {"run:verdict", "run:message", "run:summary", "run:status"}


def _function(check_text: str) -> str:
    m = re.match(r"(\w+\.\w+)\(", check_text)
    return m.group(1) if m else "?"


def _row_mismatches(
    theirs: str, ours: str, prefix: str = "", explain: Callable[[str, str, str, str], str | None] | None = None
) -> tuple[int, int, list[tuple[str, str]]]:
    """(rows, agreeing rows, per-row classes) of two run JSON documents; `explain(element, check, their
    status, our status)` may name a documented exception for a differing row."""
    t, o = _results(_json(theirs)), _results(_json(ours))
    if t is None or o is None:
        return 0, 0, [(f"{prefix}run:output-shape", f"oracle {theirs[:120]!r}, ours {ours[:120]!r}")]
    out: list[tuple[str, str]] = []
    agree = 0
    if [r[:2] for r in t[1]] != [r[:2] for r in o[1]]:
        return len(t[1]), 0, [(f"{prefix}run:results-structure", f"{len(t[1])} rows vs {len(o[1])}")]
    for tr, orow in zip(t[1], o[1], strict=True):
        what = "verdict" if tr[2] != orow[2] else "message" if tr[3] != orow[3] else ""
        if not what:
            agree += 1
            continue
        cls = f"{prefix}{_function(tr[1])}:{what}"
        if explain is not None:
            cls = explain(tr[0], tr[1], tr[2], orow[2]) or cls
        out.append((cls, f"{tr[0]} :: {tr[1]}: oracle {tr[2]} {tr[3]!r}, ours {orow[2]} {orow[3]!r}"))
    if t[2] != o[2] and not all(c.startswith("exception:") for c, _ in out):
        out.append((f"{prefix}run:summary", f"oracle {t[2]}, ours {o[2]}"))
    return len(t[1]), agree, out


# ------------------------------------------------------------------ documented fixes, shown by evidence


_SCOPE_LINE = re.compile(r"^\s*scope (\w+) = (\w+)\.(\w+)\('((?:[^'\\]|\\.)*)'\)\s*$")


def _element_scopes(spec_text: str, element: str, ws: Path) -> dict[str, list[str]]:
    """The paths of an element's scopes as our libraries select them (they equal upstream's as sets)."""
    from hie_tasks.libraries.base import CallContext
    from hie_tasks.libraries.builtin.files import FilesLibrary
    from hie_tasks.libraries.builtin.python import PythonLibrary
    from hie_tasks.libraries.builtin.rust import RustLibrary
    from hie_tasks.model.values import Scope

    libraries = {"files": FilesLibrary(), "python": PythonLibrary(), "rust": RustLibrary()}
    lines = spec_text.splitlines()
    start = lines.index(f"element {element}:") + 1
    scopes: dict[str, list[str]] = {}
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        m = _SCOPE_LINE.match(line)
        if m and m.group(2) in libraries:
            arg = re.sub(r"\\(.)", r"\1", m.group(4))
            value = libraries[m.group(2)].call(m.group(3), [arg], CallContext(str(ws)))
            if isinstance(value, Scope):
                scopes[m.group(1)] = list(value.paths)
    return scopes


def _upstream_empty_identifier(text: str) -> bool:
    """Upstream's `calls_scope` harvests `""` from a line whose piece after `def `/`class ` starts with `(`
    (or `:` for classes) or is blank: e.g. a comment `… subclass (the class itself …`."""
    for line in text.split("\n"):
        if "def " in line and not line.split("def ")[1].split("(")[0].strip():
            return True
        if "class " in line and not re.split("[:(]", line.split("class ")[1], maxsplit=1)[0].strip():
            return True
    return False


def _read_texts(paths: Sequence[str]) -> list[str]:
    out = []
    for p in paths:
        try:
            out.append(Path(p).read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError):
            pass
    return out


def documented_fix(spec_text: str, ws: Path, element: str, check: str, theirs: str, ours: str) -> str | None:
    """The documented fix (module docstring of the built-in) that explains a differing row, if the evidence
    shows it: the row's scopes are re-selected and upstream's rule is applied to their files."""
    m = re.fullmatch(r"python\.calls_scope\((\w+), (\w+)\)", check)
    if m and theirs == "pass" and ours == "fail":
        scopes = _element_scopes(spec_text, element, ws)
        source, target = scopes.get(m.group(1), []), scopes.get(m.group(2), [])
        if any(_upstream_empty_identifier(t) for t in _read_texts(target)) and any(
            "(" in t or "." in t for t in _read_texts(source)
        ):
            return "exception:fix:calls_scope-empty-identifier"
    return None


def _run_native(case: Case) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "hie_tasks", "run", case.file, "-f", "json", "--no-cache"],
        cwd=case.cwd, env=_env(), capture_output=True, text=True, timeout=600,
    )
    return proc.returncode, proc.stdout, proc.stderr


def compare_trees(
    trees: Sequence[Tree], *, oracle: Path, root: Path, checks: int = 200, seed: int = 20261202,
    native: bool = True,
) -> list[RealOutcome]:
    cases: list[tuple[Tree, Case]] = []
    for tree in trees:
        ws = tree.materialise(root / tree.name)
        names = scan(tree.lib, ws)
        (ws / "real.hie").write_text(spec(tree.lib, names, checks, seed))
        (ws / "typed.hie").write_text(spec(tree.lib, names, checks, seed, argument_errors=False))
        cases.append((tree, Case(f"{tree.name} (seed {seed})", ws, "real.hie")))
    outcomes = compare_all([c for _, c in cases], oracle=oracle)
    results = []
    for (tree, case), outcome in zip(cases, outcomes, strict=True):
        theirs = run_oracle(oracle, case, ["run", case.file, "--format", "json"])
        ours = run_ours_dropin(case)
        real = RealOutcome(tree, outcome)
        text = case.text()

        def explain(element: str, check: str, t: str, o: str, text: str = text, ws: Path = case.cwd) -> str | None:
            return documented_fix(text, ws, element, check, t, o)

        real.checks, real.agree, real.mismatches = _row_mismatches(theirs.out, ours, explain=explain)
        summary = (_json(theirs.out) or {}).get("summary") or {}
        real.verdicts = f"{summary.get('passed')}/{summary.get('failed')}/{summary.get('errors')}"
        if native:
            typed = Case(case.name, case.cwd, "typed.hie")
            native_prefix = "native:"
            theirs = run_oracle(oracle, typed, ["run", typed.file, "--format", "json"])
            rc, out, err = _run_native(typed)
            typed_text = typed.text()

            def explain_typed(element: str, check: str, t: str, o: str, text: str = typed_text,
                              ws: Path = case.cwd) -> str | None:
                return documented_fix(text, ws, element, check, t, o)

            _, _, extra = _row_mismatches(theirs.out, out, native_prefix, explain_typed)
            extra = [(c if c.startswith(native_prefix) else native_prefix + c, d) for c, d in extra]
            if "Traceback (most recent call last)" in err:
                extra.append(("native:crash", err[-500:]))
            elif rc != theirs.rc:
                extra.append(("native:exit-code", f"oracle {theirs.rc}, ours {rc}"))
            real.mismatches += extra
        results.append(real)
    return results


def run_ours_dropin(case: Case) -> str:
    from tests.conformance.compare import run_ours

    return run_ours([(case, ["run", case.file, "--format", "json"])], workers=1)[0].out


def report(results: Sequence[RealOutcome]) -> str:
    """Trees × checks × agreement, then the mismatch classes (per library function) with an example."""
    lines = ["| tree | lib | checks | agree | documented fix | mismatch | pass/fail/error (oracle) | other classes |",
             "|---|---|---|---|---|---|---|---|"]
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    for r in results:
        rows = [c for c, _ in r.mismatches if not c.startswith("native:") and ":" in c and "run:" not in c]
        fixed = sum(c.startswith("exception:") for c in rows)
        other = ", ".join(r.other_classes) or "-"
        lines.append(f"| {r.tree.name} | {r.tree.lib} | {r.checks} | {r.agree} | {fixed} | {len(rows) - fixed} "
                     f"| {r.verdicts} | {other} |")
        for cls, detail in r.mismatches:
            counts[cls] += 1
            example.setdefault(cls, f"{r.tree.name}: {detail}")
    if counts:
        lines += ["", "| class | rows | example |", "|---|---|---|"]
        for cls, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            lines.append(f"| {cls} | {n} | {example[cls].replace(chr(10), ' / ')[:220]} |")
    return "\n".join(lines)


def main_real(trees: Sequence[str], checks: int, seeds: Sequence[int], oracle: Path, root: Path,
              native: bool = True, show: int = 0) -> int:
    found = available_trees(trees)
    if not found:
        print("real-code: no trees found (site-packages packages or /usr/share/cargo/registry crates)")
        return 0
    failed = False
    for seed in seeds:
        results = compare_trees(found, oracle=oracle, root=root / f"seed-{seed}", checks=checks, seed=seed,
                                native=native)
        print(f"## real code, seed {seed}, {checks} checks per tree\n")
        print(report(results))
        print()
        for r in results:
            failed = failed or not r.ok
        bad = [(r.tree.name, c, d) for r in results for c, d in r.mismatches]
        for name, cls, detail in bad[:show]:
            print(f"  {name} [{cls}] {detail}")
    return 1 if failed else 0

