"""The `hie-tasks` entry point: a run a live daemon can answer never loads the command line machinery.

`python -X importtime` puts the CLI's own imports (argparse, the `run` command, the engine behind it) at
~90 ms, many times what a daemon needs to answer; so the daemon client (standard library only) is asked
first, then the run memo (hie_tasks/replay: the previous run's answer while none of its inputs changed),
and `cli.main` is imported only when both decline.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | tuple[str, ...] | None = None) -> int:  # not `Sequence`: its module costs ~1 ms
    args = sys.argv[1:] if argv is None else list(argv)
    from hie_tasks.daemon.client import serve_run

    served = serve_run(args)
    if served is not None:
        return served
    from hie_tasks.replay.memo import serve

    answered = serve(args)
    if answered is not None:
        from hie_tasks.replay.memo import late_warnings

        if late_warnings:  # a partial rerun's (hie_tasks/replay/partial.py), printed as a full run prints them
            from hie_tasks.cli.common import print_late_warnings

            print_late_warnings(late_warnings)
        return answered
    from hie_tasks.cli.main import main as cli_main

    return cli_main(args)
