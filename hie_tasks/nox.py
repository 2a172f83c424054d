"""A `hielements` nox session for any project, in one line of its noxfile:

    import hie_tasks.nox
    hie_tasks.nox.session()            # nox -s hielements

Options: `spec` (default ./hielements.hie), `workspace`, `install` (what pip installs into the session;
default the `hie-tasks` distribution — a path or `-e .` works too), `build_plugins` (plugin source dirs
built with `hie-tasks plugins build` first), `args` (extra `hie-tasks check` arguments; `nox -s hielements --
ARGS` adds more), `python` and `name`. The session runs `hie-tasks check`, so the result store makes a
second run replay unchanged verdicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import nox


def session(
    name: str = "hielements",
    *,
    spec: str | None = None,
    workspace: str | None = None,
    install: Sequence[str] = ("hie-tasks",),
    build_plugins: Sequence[str] = (),
    args: Sequence[str] = (),
    python: str | Sequence[str] | bool | None = None,
) -> Callable[..., Any]:
    def run_hielements(s: nox.Session) -> None:
        if install:
            s.install(*install)
        for plugin_dir in build_plugins:
            s.run("hie-tasks", "plugins", "build", plugin_dir)
        command = ["hie-tasks", "check"]
        if spec:
            command.append(spec)
        if workspace:
            command += ["-w", workspace]
        s.run(*command, *args, *s.posargs)

    run_hielements.__doc__ = "Check the project's architecture with hie-tasks."
    registered: Callable[..., Any] = nox.session(name=name, python=python)(run_hielements)
    return registered
