"""Runs many invocations of our `hielements` drop-in in one Python process, for the differential harness.

Starting Python costs ~0.2 s, the oracle ~2 ms; a thousand programs × two commands would spend most of the
harness's time in interpreter start-up. This driver reads jobs (`{"cwd": …, "argv": […]}`, one JSON per
line) on stdin, runs `hie_tasks.cli.upstream.main(argv)` in `cwd` with stdout/stderr captured, and writes one
JSON line `{"rc", "out", "err"}` per job. `--fresh` in the harness bypasses it (one subprocess per call).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback


def _run(cwd: str, argv: list[str]) -> dict[str, object]:
    from hie_tasks.cli.upstream import main

    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            rc = 99
    return {"rc": rc, "out": out.getvalue(), "err": err.getvalue()}


def main() -> None:
    os.environ["NO_COLOR"] = "1"
    for raw in sys.stdin:
        job = json.loads(raw)
        sys.stdout.write(json.dumps(_run(job["cwd"], job["argv"])) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
