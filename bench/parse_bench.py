"""Parse throughput: generate a ~20k-line spec mixing both block syntaxes, parse it five times, print a table.

Run from the repository root: `python bench/parse_bench.py [LINES]`. Each run starts from a collected heap, so
garbage left by the previous run does not bill its collection to the next; compare the best run, since this
machine is shared and single runs vary by tens of percent.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hie_tasks.lang.lexer import gc_paused, scan
from hie_tasks.lang.parser import parse


def _colon_element(i: int) -> list[str]:
    return [
        f"## Service {i}",
        "## owns its own data",
        f"element service_{i}:",
        f"    scope src<python> = files.folder_selector('src/service_{i}')",
        f"    scope api = python.module_selector('service_{i}.api')",
        f"    ref db: Database = files.file_selector('src/service_{i}/db.py')",
        "    check files.exists(src, 'api.py')",
        "    check python.no_import(api, 'django')",
        f"    element handlers_{i}:",
        f"        scope h = files.glob_selector('src/service_{i}/handlers/*.py')",
        "        check files.max_size(h, 10000)",
        "        # keep handlers small",
        "        check files.contains(h, ['def handle', 2.5, true], 'x')",
        "",
    ]


def _brace_element(i: int) -> list[str]:
    return [
        f"element lib_{i} implements layered {{",
        f"    scope code : rust = rust.module_selector('lib_{i}')",
        f"    element inner_{i} {{",
        "        scope tests = files.glob_selector('tests/**/*.rs')",
        "        check rust.function_exists('main')",
        "    }",
        f"    api.endpoint = files.file_selector('lib_{i}.rs')",
        "}",
        "",
    ]


PATTERN = [
    "pattern layered {",
    "    element layer {",
    "        scope code",
    "    }",
    "    requires descendant scope code<python>",
    "    forbids connection to infra.*",
    "    allows implements Repository",
    "}",
    "",
]


def generate(lines: int) -> str:
    out = ["import files", "import python", "import rust", "", *PATTERN]
    i = 0
    while len(out) < lines:
        out.extend(_colon_element(i) if i % 3 else _brace_element(i))
        i += 1
    return "\n".join(out) + "\n"


def _lex(source: str) -> int:
    """What `parse` runs before parsing: the raw token scan, with the collector paused as `parse` does."""
    with gc_paused():
        return len(scan(source, "bench.hie")[0])


def main() -> None:
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    source = generate(target)
    n_lines = source.count("\n")
    n_tokens = _lex(source)
    print(f"{'run':>4} {'lines':>8} {'tokens':>8} {'seconds':>9} {'lines/s':>10} {'tokens/s':>10}")
    best = float("inf")
    for run in range(1, 6):
        gc.collect()
        t0 = time.perf_counter()
        program, diags = parse(source, "bench.hie")
        dt = time.perf_counter() - t0
        assert not diags, diags[:3]
        assert program.declarations
        del program, diags
        best = min(best, dt)
        print(
            f"{run:>4} {n_lines:>8} {n_tokens:>8} {dt:>9.3f} {n_lines / dt:>10,.0f} {n_tokens / dt:>10,.0f}"
        )
    print(f"best: {best:.3f}s ({n_lines / best:,.0f} lines/s)")
    lex = float("inf")
    for _ in range(5):
        gc.collect()
        t0 = time.perf_counter()
        _lex(source)
        lex = min(lex, time.perf_counter() - t0)
    print(f"lexer alone (best of 5): {lex:.3f}s ({n_lines / lex:,.0f} lines/s)")


if __name__ == "__main__":
    main()
