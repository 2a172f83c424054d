"""Run hie-tasks from this checkout the way an installed copy runs: with its modules' bytecode compiled.

pip compiles a package when it installs it, so a user's `hie-tasks` never compiles its own source; a checkout
run with `PYTHONDONTWRITEBYTECODE=1` (set on this machine) compiles every module of ours on every start,
~70-90 ms that the peers we compare with (doit, installed by pip with its bytecode) never pay. The benches
compile `hie_tasks/` once, into its `__pycache__` folders as pip would, and let children read it.
"""

from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_compiled = False


def installed_env(env: dict[str, str]) -> dict[str, str]:
    """`env` for a child that finds hie-tasks' bytecode compiled, as after `pip install`."""
    global _compiled
    if not _compiled:
        compileall.compile_dir(str(ROOT / "hie_tasks"), quiet=1)
        _compiled = True
    out = dict(env)
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    out.pop("PYTHONPYCACHEPREFIX", None)
    return out
