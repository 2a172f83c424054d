"""Project sessions. `nox -s hielements` is the main job; `nox -s tests` is what CI runs."""

from __future__ import annotations

import nox

nox.options.sessions = ["hielements", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False



@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff and mypy over the package, tests and benchmarks (run inside `tests` too)."""
    session.run("ruff", "check", "hie_tasks", "tests", "bench", "noxfile.py")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """Lint, type-check, then the whole test suite."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "hie_tasks", "tests", "bench", "noxfile.py")
    session.run("mypy")
    session.run("pytest", *session.posargs)


@nox.session
def hielements(session: nox.Session) -> None:
    """The main job: build the project's own WASM plugin and check hie-tasks' architecture with it."""
    session.install("-e", ".[build]")
    session.run("hie-tasks", "plugins", "build", "plugins/examples/arch")
    session.run("hie-tasks", "check", "hielements.hie", *session.posargs)


@nox.session(python=False)
def conformance(session: nox.Session) -> None:
    """Differential run against the upstream oracle: 1,000 generated programs (or `-- PATHS…`), a table of
    mismatch classes; then, without PATHS, the `python`/`rust` built-ins on real trees (installed packages,
    Debian's crate sources), 200 generated checks per tree. Skips, saying why, where
    ../shared/oracle/hielements is absent."""
    session.run("python", "-m", "tests.conformance", *session.posargs)
    if not session.posargs:
        session.run("python", "-m", "tests.conformance", "--real", "--checks", "200")


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark, each printing its table."""
    session.install("-e", ".[test]")
    for script in sorted(__import__("glob").glob("bench/*_bench.py")):
        session.run("python", script)
