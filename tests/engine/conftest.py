from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hie_tasks.engine.interpreter import Interpreter
from hie_tasks.engine.planned import Plan
from hie_tasks.engine.results import RunReport
from hie_tasks.engine.runner import Runner, RunOptions
from hie_tasks.lang.parser import parse
from hie_tasks.libraries.base import CallContext, Library, LibraryDoc
from hie_tasks.libraries.builtin import builtin_libraries
from hie_tasks.libraries.registry import Registry
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Value


class RecordingLibrary(Library):
    """A real Library implementation that records the calls it receives (the engine under test is real).
    It stands for a plugin: not built in, and not pure."""

    kind = "external"

    def __init__(self, name: str = "rec") -> None:
        super().__init__(name)
        self.calls: list[tuple[str, str, list[Value]]] = []
        self.threads: set[str] = set()
        self._guard = threading.Lock()

    def call(self, function: str, args: list[Value], ctx: CallContext) -> Value:
        with self._guard:
            self.calls.append(("call", function, args))
        if function == "boom":
            raise LibraryError("E999", "selector exploded")
        if function == "echo":
            return args[0] if args else None
        raise LibraryError("E998", f"Unknown function: {self.name}.{function}")

    def check(self, function: str, args: list[Value], ctx: CallContext) -> CheckResult:
        with self._guard:
            self.calls.append(("check", function, args))
            self.threads.add(threading.current_thread().name)
        if function == "ok":
            return CheckResult.passed()
        if function == "fail":
            return CheckResult.failed(f"failed with {args!r}")
        if function == "crash":
            raise RuntimeError("library bug")
        if function == "raise":
            raise LibraryError("E997", "library said no")
        if function == "slow_parity":
            import time

            n = args[0]
            time.sleep(0.002 * (10 - int(n) % 10))  # type: ignore[call-overload]
            return CheckResult.passed() if int(n) % 2 == 0 else CheckResult.failed(f"{n} is odd")  # type: ignore[call-overload]
        raise LibraryError("E998", f"Unknown check: {self.name}.{function}")

    def documentation(self) -> LibraryDoc:
        return LibraryDoc(self.name, "records calls", "1")

    def identity(self) -> str:
        return "test:rec"


Evaluate = Callable[..., tuple[Plan, RunReport]]


@pytest.fixture
def rec() -> RecordingLibrary:
    return RecordingLibrary()


@pytest.fixture
def evaluate(tmp_path: Path, rec: RecordingLibrary) -> Evaluate:
    def run(source: str, *, element_filter: str | None = None, jobs: int = 1,
            limit: int | None = None) -> tuple[Plan, RunReport]:
        spec = tmp_path / "spec.hie"
        spec.write_text(source)
        program, diags = parse(source, str(spec))
        assert not [d for d in diags if d.is_error], diags
        registry = Registry([*builtin_libraries(), rec])
        interp = Interpreter(registry, os.path.abspath(tmp_path), element_filter=element_filter)
        plan = interp.plan([program])
        report = Runner(str(tmp_path)).run(plan, RunOptions(jobs=jobs, limit=limit))
        return plan, report

    return run
