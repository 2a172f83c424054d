"""Hostile input: `parse` must never raise, never hang, and always point diagnostics at real places."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hie_tasks.lang.lexer import tokenize
from hie_tasks.lang.parser import parse
from hie_tasks.lang.printer import program_to_json

TIME_LIMIT = 2.0  # seconds for one parse of a few hundred characters: generous on a loaded machine

SEED = """\
import files
import python

## The order service
element orders:
    scope src<python> = files.folder_selector('src/orders')
    scope api = python.module_selector('orders.api')
    ref db: Database = files.file_selector('db.py')
    check files.exists(src, 'api.py')
    check python.no_import(api, 'django')
    handlers uses infra.db
    layered.code = src
    element handlers:
        scope h = files.glob_selector('src/orders/handlers/*.py')
        check files.max_size(h, 10000)

pattern layered {
    element layer {
        scope code
    }
    requires descendant scope code<python>
    forbids connection to infra.*
    allows implements Repository
}

language python:
    connection_check ok(a: scope[], b: scope[],):
        python.imports(a, b)
"""

SEED_TOKENS = [t.text or "\n" for t in tokenize(SEED, "seed.hie")[0] if t.text] + [
    "\n",
    "    ",
    "{",
    "}",
    ":",
]


class _Timeout(Exception):
    pass


@contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Interrupt a parse that hangs (an infinite loop would otherwise stall the whole test run)."""

    def fire(signum: int, frame: object) -> None:
        raise _Timeout(f"parse did not finish within {seconds}s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_parse(source: str) -> None:
    start = time.perf_counter()
    with watchdog(TIME_LIMIT * 3):
        program, diags = parse(source, "fuzz.hie")
    assert time.perf_counter() - start < TIME_LIMIT
    n_lines = source.count("\n") + 1
    for d in diags:
        assert d.file == "fuzz.hie"
        assert 1 <= d.line <= n_lines + 1 and d.column >= 1, d
        assert d.message
    json.dumps(program_to_json(program))


_alphabet = st.sampled_from(
    [*list("abcxyz_019 \t\n\r#'\"\\.:,=()[]{}<>*$é"), "element ", "scope ", "##", "###"]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_alphabet, max_size=200).map("".join))
def test_random_text(source: str) -> None:
    check_parse(source)


@st.composite
def mutated_spec(draw: st.DrawFn) -> str:
    """The seed spec with a few random token- or character-level edits: insert, delete, duplicate."""
    source = SEED
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(source)))
        op = draw(st.sampled_from(["insert_token", "insert_char", "delete", "duplicate"]))
        if op == "insert_token":
            source = source[:at] + draw(st.sampled_from(SEED_TOKENS)) + source[at:]
        elif op == "insert_char":
            source = source[:at] + draw(_alphabet) + source[at:]
        elif op == "delete":
            source = source[:at] + source[at + draw(st.integers(1, 12)) :]
        else:
            length = draw(st.integers(1, 40))
            source = source[:at] + source[at : at + length] * 2 + source[at + length :]
    return source


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_spec())
def test_mutated_valid_specs(source: str) -> None:
    check_parse(source)


def test_seed_is_valid() -> None:
    program, diags = parse(SEED, "seed.hie")
    assert diags == [] and len(program.declarations) == 3


def test_pathological_inputs_finish() -> None:
    for source in [
        "(" * 5000,
        "[" * 5000 + "]" * 5000,
        "element a {" * 3000,
        "\t" * 10000 + "x",
        "#" * 9999,
        "element a:\n" + "    " * 2000 + "scope",
        "'" * 5000,
        "}" * 5000,
        ".*" * 3000,
    ]:
        check_parse(source)
