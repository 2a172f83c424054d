"""Run-level bounds on plugins: a library that keeps timing out or crashing is disabled, the whole run has
a deadline (`--timeout`), and messages are capped.

Per call, `timeout_ms` bounds one plugin call; without more, a plugin that hangs on every call costs
checks × timeout_ms (15 minutes for 100 checks at 9 s). `FailureBreaker` counts consecutive calls of one
library that ended in a timeout or a crash; at `max_consecutive_failures` (default 3) the library is disabled
and every later call fails at once with "library disabled after 3 consecutive timeouts". Any answer (even an
Error the plugin chose to give) resets the count: only a plugin that cannot answer is cut off.

`RunDeadline` is process-wide and set once by the command line: calls starting after it fail at once, and
a call's own timeout is clipped to what remains.
"""

from __future__ import annotations

import threading
import time

from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T")

DEFAULT_MAX_CONSECUTIVE_FAILURES = 3
DEFAULT_MAX_MESSAGE_KB = 64
#: Error codes that mean "the plugin could not answer": timeouts, then crashes (traps, memory, a dead process).
TIMEOUT_CODES = frozenset({"E611", "E520"})
CRASH_CODES = frozenset({"E610", "E612", "E505", "E503"})


class RunDeadline:
    """The wall-clock end of the run (`--timeout SECONDS`), or none."""

    def __init__(self) -> None:
        self._end: float | None = None
        self._seconds = 0.0

    def start(self, seconds: float | None) -> None:
        self._seconds = seconds or 0.0
        self._end = time.monotonic() + seconds if seconds else None

    def remaining_ms(self) -> float | None:
        return None if self._end is None else (self._end - time.monotonic()) * 1000

    def clip_ms(self, timeout_ms: int) -> int:
        """A call's timeout, no later than the run's end (at least 1 ms, so the call fails as a timeout)."""
        left = self.remaining_ms()
        return timeout_ms if left is None else max(1, min(timeout_ms, int(left)))

    def check(self, subject: str) -> None:
        left = self.remaining_ms()
        if left is not None and left <= 0:
            raise LibraryError(
                "E541", f"{subject} was not run: the run's --timeout of {self._seconds:g} s was reached"
            )


run_deadline = RunDeadline()


class FailureBreaker:
    """Consecutive timeouts/crashes of one library; thread-safe (parallel checks share it)."""

    def __init__(self, library: str, limit: int = DEFAULT_MAX_CONSECUTIVE_FAILURES) -> None:
        self.library = library
        self.limit = limit
        self._lock = threading.Lock()
        self._kinds: list[str] = []
        self._last = ""
        #: calls that reached the plugin (for tests and `-v`)
        self.calls = 0

    @property
    def disabled(self) -> bool:
        return len(self._kinds) >= self.limit

    def guard(self, subject: str, call: Callable[[], T]) -> T:
        """Run `call` unless the library is disabled or the run is out of time; count how it ended."""
        run_deadline.check(subject)
        with self._lock:
            if self.disabled:
                raise self._disabled_error()
            self.calls += 1
        try:
            result = call()
        except LibraryError as exc:
            kind = "timeout" if exc.code in TIMEOUT_CODES else "crash" if exc.code in CRASH_CODES else None
            with self._lock:
                if kind is None:
                    self._kinds.clear()
                elif not self.disabled:
                    self._kinds.append(kind)
                    self._last = exc.message
            raise
        with self._lock:
            self._kinds.clear()
        return result

    def _disabled_error(self) -> LibraryError:
        kinds = set(self._kinds)
        what = "timeouts" if kinds == {"timeout"} else "crashes" if kinds == {"crash"} else "timeouts or crashes"
        last = self._last if len(self._last) <= 300 else self._last[:300] + "…"
        return LibraryError(
            "E540",
            f"library '{self.library}' disabled after {self.limit} consecutive {what}; its remaining calls "
            f"were not made (last failure: {last}) — fix the plugin or raise max_consecutive_failures",
        )


def cap_text(text: str, max_kb: int = DEFAULT_MAX_MESSAGE_KB) -> str:
    """`text` cut to `max_kb` KiB of UTF-8, saying so; a huge message would otherwise be printed and stored
    whole."""
    limit = max_kb * 1024
    if len(text) <= limit // 4:
        return text
    data = text.encode("utf-8", errors="surrogatepass")
    if len(data) <= limit:
        return text
    cut = data[:limit].decode("utf-8", errors="ignore")
    return cut + f"\n… [message cut: {len(data)} bytes, showing the first {max_kb} KiB (max_message_kb)]"


def cap_message(result: CheckResult, max_kb: int = DEFAULT_MAX_MESSAGE_KB) -> CheckResult:
    if result.message is None:
        return result
    capped = cap_text(result.message, max_kb)
    return result if capped is result.message else CheckResult(result.status, capped)


def cap_error(exc: LibraryError, max_kb: int = DEFAULT_MAX_MESSAGE_KB) -> LibraryError:
    capped = cap_text(exc.message, max_kb)
    return exc if capped is exc.message else LibraryError(exc.code, capped)
