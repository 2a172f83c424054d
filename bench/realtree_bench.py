"""Built-in `python` and `rust` checks on real source trees we did not write, against the upstream CLI.

The trees are on the machine already: an installed package's sources for `python` (default: `rich`, a runtime
dependency of hie-tasks, copied out of site-packages so the result store never lands there) and a crate from
Debian's Rust packages for `rust` (`RUST_CRATES` from `/usr/share/cargo/registry`, laid out as one workspace,
which `apt-get install librust-regex-dev librust-clap-dev librust-serde-json-dev` provides; the `rust` rows are
skipped, with the reason, without them).

The spec is generated from names that occur in the tree (module stems, `def`/`class`/`fn`/`struct` names,
imported modules, called identifiers) with a fixed seed: CHECKS checks spread over elements, every
function of the library used. Three commands are timed as whole processes, alternating, REPEAT times:

- `upstream`: `../shared/oracle/hielements run SPEC -w WS -f json` (it keeps no cache: a full run every time);
- `cold`: `python -m hie_tasks run SPEC -w WS -f json` with an empty result store;
- `no-op`: the same again, nothing changed.

The table gives median wall and CPU seconds and the ratios to upstream measured in the same run, and checks
that both sides gave the same verdicts. Run: `python bench/realtree_bench.py [--checks 200] [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ORACLE = ROOT.parent / "shared" / "oracle" / "hielements"


@dataclass
class Timing:
    wall: float
    cpu: float


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[Timing, dict[str, Any]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"{cmd[0]} printed no JSON (exit {proc.returncode}):\n{proc.stderr[-2000:]}") from None
    return Timing(wall, cpu), report


def _verdicts(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((r["element"], r["check"], str(r.get("status", r.get("passed")))) for r in report["results"])


# --- spec generation ---------------------------------------------------------------------------------------


def _names(texts: list[str], pattern: str) -> list[str]:
    found: set[str] = set()
    regex = re.compile(pattern)
    for text in texts:
        found.update(m.group(1) for m in regex.finditer(text))
    return sorted(found)


def _python_spec(ws: Path, checks: int, rng: random.Random) -> str:
    files = sorted(ws.rglob("*.py"))
    texts = [f.read_text(errors="replace") for f in files]
    stems = sorted({f.stem for f in files if f.stem != "__init__"})
    defs = _names(texts, r"\bdef\s+(\w+)\(")
    classes = _names(texts, r"\bclass\s+(\w+)[:(]")
    imported = [*_names(texts, r"^\s*(?:from|import)\s+([\w.]+)"), "sqlite3", "nosuchmodule"]
    called = _names(texts, r"\b(\w+)\(")
    types = ["str", "int", "bool", "None", "Text", "Style", "NoSuchType"]

    def scope_expr() -> str:
        kind = rng.choice(["module", "function", "class"])
        if kind == "module":
            return f"python.module_selector('{rng.choice(stems)}')"
        if kind == "function":
            return f"python.function_selector('{rng.choice(defs)}')"
        return f"python.class_selector('{rng.choice(classes)}')"

    def check_expr(a: str, b: str) -> str:
        fn = rng.choice(
            ["imports", "no_import", "returns_type", "function_returns_type", "calls", "calls_function",
             "calls_scope"]
        )
        if fn in ("imports", "no_import"):
            return f"python.{fn}({a}, '{rng.choice(imported)}')"
        if fn == "returns_type":
            return f"python.returns_type({a}, '{rng.choice(types)}')"
        if fn == "function_returns_type":
            return f"python.function_returns_type({a}, '{rng.choice(defs)}', '{rng.choice(types)}')"
        if fn == "calls":
            return f"python.calls({a}, '{rng.choice(called)}')"
        if fn == "calls_function":
            return f"python.calls_function({a}, '{rng.choice(imported).split('.')[0]}', '{rng.choice(defs)}')"
        return f"python.calls_scope({a}, {b})"

    return _elements("python", checks, scope_expr, check_expr)


def _rust_spec(ws: Path, checks: int, rng: random.Random) -> str:
    files = sorted(ws.rglob("*.rs"))
    texts = [f.read_text(errors="replace") for f in files]
    stems = sorted({f.stem for f in files if f.stem not in ("mod", "lib", "main")})
    fns = _names(texts, r"\bfn\s+(\w+)")
    structs = _names(texts, r"\bstruct\s+(\w+)")
    enums = _names(texts, r"\benum\s+(\w+)")
    traits = _names(texts, r"\btrait\s+(\w+)") or ["Debug"]
    uses = [*_names(texts, r"\buse\s+([\w:]+)"), "std::fs", "nosuch"]
    derives = ["Debug", "Clone", "Copy", "PartialEq", "Eq", "Hash", "Default", "Serialize"]

    def scope_expr() -> str:
        kind = rng.choice(["module", "struct", "enum", "function", "trait", "impl"])
        if kind == "module":
            return f"rust.module_selector('{rng.choice(stems)}')"
        if kind == "struct":
            return f"rust.struct_selector('{rng.choice(structs)}')"
        if kind == "enum":
            return f"rust.enum_selector('{rng.choice(enums or structs)}')"
        if kind == "function":
            return f"rust.function_selector('{rng.choice(fns)}')"
        if kind == "trait":
            return f"rust.trait_selector('{rng.choice(traits)}')"
        return f"rust.impl_selector('{rng.choice(structs)}')"

    def check_expr(a: str, b: str) -> str:
        fn = rng.choice(
            ["struct_exists", "function_exists", "uses", "has_derive", "has_docs", "has_tests", "depends_on",
             "no_dependency", "implements", "pipeline_connects", "type_compatible"]
        )
        if fn == "struct_exists":
            return f"rust.struct_exists('{rng.choice(structs)}')"
        if fn == "function_exists":
            return f"rust.function_exists('{rng.choice(fns)}')"
        if fn == "uses":
            return f"rust.uses({a}, '{rng.choice(uses)}')"
        if fn == "has_derive":
            return f"rust.has_derive({a}, '{rng.choice(derives)}')"
        if fn in ("has_docs", "has_tests"):
            return f"rust.{fn}({a})"
        if fn == "implements":
            return f"rust.implements('{rng.choice(structs)}', '{rng.choice(traits)}')"
        return f"rust.{fn}({a}, {b})"

    return _elements("rust", checks, scope_expr, check_expr)


def _elements(lib: str, checks: int, scope_expr: Any, check_expr: Any) -> str:
    lines = [f"import {lib}", ""]
    done = 0
    index = 0
    while done < checks:
        lines.append(f"element e{index}:")
        lines.append(f"    scope a = {scope_expr()}")
        lines.append(f"    scope b = {scope_expr()}")
        for _ in range(min(4, checks - done)):
            lines.append(f"    check {check_expr('a', 'b')}")
            done += 1
        lines.append("")
        index += 1
    return "\n".join(lines)


# --- the measurement ---------------------------------------------------------------------------------------


def _python_tree() -> Path | None:
    import rich

    return Path(rich.__file__).parent


#: Crates from Debian's packages (librust-regex-dev, librust-clap-dev, librust-serde-json-dev) laid out as one
#: Cargo workspace under `crates/`, about 300 `.rs` files.
RUST_CRATES = ("regex", "regex-syntax", "aho-corasick", "clap", "serde_json")


def _rust_tree() -> Path | None:
    found = []
    for crate in RUST_CRATES:
        candidates = sorted(glob.glob(f"/usr/share/cargo/registry/{crate}-[0-9]*"))
        if candidates:
            found.append(Path(candidates[-1]))
    if not found:
        return None
    # A workspace made of links; `_measure` copies it, following them.
    work = Path(tempfile.mkdtemp(prefix="hie-rust-tree-"))
    (work / "crates").mkdir()
    for crate_dir in found:
        (work / "crates" / crate_dir.name.rsplit("-", 1)[0]).symlink_to(crate_dir)
    return work


def _measure(lib: str, tree: Path, checks: int, repeat: int, work: Path) -> list[str]:
    ws = work / f"{lib}-ws"
    shutil.copytree(tree, ws, symlinks=False, ignore=shutil.ignore_patterns("__pycache__", "target", ".git"))
    rng = random.Random(20261201)
    spec_text = _python_spec(ws, checks, rng) if lib == "python" else _rust_spec(ws, checks, rng)
    spec = work / f"{lib}.hie"
    spec.write_text(spec_text)
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    store = work / f"{lib}-store"
    ours = [sys.executable, "-m", "hie_tasks", "run", str(spec), "-w", str(ws), "-f", "json",
            "--cache-dir", str(store)]
    upstream = [str(ORACLE), "run", str(spec), "-w", str(ws), "-f", "json"]
    rows: dict[str, list[Timing]] = {"upstream": [], "cold": [], "no-op": []}
    agree = True
    for _ in range(repeat):
        t_up, r_up = _run(upstream, work, env)
        shutil.rmtree(store, ignore_errors=True)
        t_cold, r_cold = _run(ours, work, env)
        t_noop, r_noop = _run(ours, work, env)
        rows["upstream"].append(t_up)
        rows["cold"].append(t_cold)
        rows["no-op"].append(t_noop)
        agree = agree and _verdicts(r_up) == _verdicts(r_cold) == _verdicts(r_noop)
    up_wall = statistics.median(t.wall for t in rows["upstream"])
    up_cpu = statistics.median(t.cpu for t in rows["upstream"])
    out = []
    for name, timings in rows.items():
        wall = statistics.median(t.wall for t in timings)
        cpu = statistics.median(t.cpu for t in timings)
        out.append(
            f"| {lib} ({len(list(ws.rglob('*.' + ('py' if lib == 'python' else 'rs'))))} files) | {name} "
            f"| {wall:.3f} | {cpu:.3f} | {wall / up_wall:.2f} | {cpu / up_cpu:.2f} |"
        )
    out.append(f"| {lib} | verdicts equal to upstream | {'yes' if agree else 'NO'} | | | |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["python", "rust"])
    args = parser.parse_args()
    if not ORACLE.exists():
        print(f"skipped: the upstream CLI is not at {ORACLE}")
        return
    table = ["| tree | run | wall s | cpu s | wall / upstream | cpu / upstream |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="hie-realtree-") as tmp:
        work = Path(tmp)
        for lib, tree in (("python", _python_tree()), ("rust", _rust_tree())):
            if args.only and lib != args.only:
                continue
            if tree is None:
                table.append(f"| {lib} | skipped: no tree (apt-get install librust-regex-dev) | | | | |")
                continue
            table.extend(_measure(lib, tree, args.checks, args.repeat, work))
    print("\n".join(table))


if __name__ == "__main__":
    main()
