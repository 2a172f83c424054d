"""Parse throughput: generate a ~20k-line spec mixing both block syntaxes, parse it three times, print a table.

Run from the repository root: `python bench/parse_bench.py [LINES]`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hie_tasks.lang.lexer import tokenize
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
    "    element layer: Layer {",
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


def main() -> None:
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    source = generate(target)
    n_lines = source.count("\n")
    n_tokens = len(tokenize(source, "bench.hie")[0])
    print(f"{'run':>4} {'lines':>8} {'tokens':>8} {'seconds':>9} {'lines/s':>10} {'tokens/s':>10}")
    for run in range(1, 4):
        t0 = time.perf_counter()
        program, diags = parse(source, "bench.hie")
        dt = time.perf_counter() - t0
        assert not diags, diags[:3]
        assert program.declarations
        print(
            f"{run:>4} {n_lines:>8} {n_tokens:>8} {dt:>9.3f} {n_lines / dt:>10,.0f} {n_tokens / dt:>10,.0f}"
        )
    t0 = time.perf_counter()
    tokenize(source, "bench.hie")
    lex = time.perf_counter() - t0
    print(f"lexer alone: {lex:.3f}s ({n_lines / lex:,.0f} lines/s)")


if __name__ == "__main__":
    main()
