"""A `hielements` nox session for any project, in one line of its noxfile:

    import hie_tasks.nox
    hie_tasks.nox.session()            # nox -s hielements

Options: `spec` (default: as `hie-tasks check` finds it — ./hielements.hie, else the only *.hie),
`workspace`, `install` (what pip installs into the session), `build_plugins` (plugin source dirs built with
`hie-tasks plugins build` first), `args` (extra `hie-tasks check` arguments; `nox -s hielements -- ARGS` adds
more), `python` and `name`. The session runs `hie-tasks check`, so the result store makes a second run replay
unchanged verdicts.

`install` defaults to the hie-tasks this nox imported (`default_install`), not to whatever the package index
has: a user who put hie-tasks next to nox (`pip install hie-tasks`, `pip install -e .`, a wheel, a checkout on
`PYTHONPATH`) gets the very same code in the session. `install=()` installs nothing (a session with
`python=False`, or one whose requirements already contain hie-tasks).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import nox

import hie_tasks
from hie_tasks.version import __version__

DISTRIBUTION = "hie-tasks"


def _local_source(dist: metadata.Distribution) -> tuple[str, bool] | None:
    """(directory, editable) when the distribution was installed from a local directory (PEP 610)."""
    try:
        text = dist.read_text("direct_url.json")
        data = json.loads(text) if text else None
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not str(data.get("url", "")).startswith("file://"):
        return None
    path = unquote(urlparse(str(data["url"])).path)
    dir_info = data.get("dir_info")
    if not os.path.isdir(path) or not isinstance(dir_info, dict):
        return None  # a local wheel or archive: the exact version names the same code
    return path, bool(dir_info.get("editable"))


def default_install(package_dir: str | None = None) -> tuple[str, ...]:
    """pip arguments installing the hie-tasks whose code is in `package_dir` (default: the one imported).

    - an installed distribution that *is* the imported copy: its source directory when it was installed from
      one (`-e DIR` for an editable install), else its exact version (`hie-tasks==X.Y.Z`);
    - a checkout imported through `PYTHONPATH` (no distribution, or another copy installed): the checkout;
    - anything else: the exact version of the imported code.
    """
    here = Path(package_dir or os.path.dirname(os.path.abspath(hie_tasks.__file__))).resolve()
    try:
        dist: metadata.Distribution | None = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        dist = None
    checkout = here.parent
    if dist is not None:
        local = _local_source(dist)
        installed = Path(str(dist.locate_file("hie_tasks"))).resolve()
        if local is not None and local[1] and Path(local[0]).resolve() / "hie_tasks" == here:
            return ("-e", local[0])
        if installed == here and local is not None:
            return (local[0],)
        # A checkout's own build metadata (`hie_tasks.egg-info` left by a build) is no installed copy.
        if installed == here and not (checkout / "pyproject.toml").is_file():
            return (f"{DISTRIBUTION}=={dist.version}",)
    if (checkout / "pyproject.toml").is_file():
        return (str(checkout),)
    return (f"{DISTRIBUTION}=={__version__}",)


def session(
    name: str = "hielements",
    *,
    spec: str | None = None,
    workspace: str | None = None,
    install: Sequence[str] | None = None,
    build_plugins: Sequence[str] = (),
    args: Sequence[str] = (),
    python: str | Sequence[str] | bool | None = None,
) -> Callable[..., Any]:
    to_install = tuple(default_install()) if install is None else tuple(install)

    def run_hielements(s: nox.Session) -> None:
        if to_install:
            s.install(*to_install)
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
