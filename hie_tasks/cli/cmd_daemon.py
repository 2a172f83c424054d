"""`daemon start|stop|status|serve`: a warm process that answers `run` for one workspace and spec."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

from hie_tasks.cli.common import EXIT_FAILED, EXIT_OK, CliError, resolve_spec
from hie_tasks.daemon import client, protocol
from hie_tasks.engine.project import default_workspace

#: `daemon start` waits this long (seconds) for the initial run before giving up.
DEFAULT_WAIT_S = 600.0


def _target(args: argparse.Namespace) -> tuple[str, str]:
    spec = resolve_spec(args.file)
    if not os.path.exists(spec):
        raise CliError(f"cannot read {spec}: no such file", help="pass an existing .hie spec")
    workspace = default_workspace(spec, args.workspace)
    if not os.path.isdir(workspace):
        raise CliError(f"workspace {workspace} is not a directory", help="pass an existing directory with -w")
    return os.path.abspath(workspace), os.path.abspath(spec)


def _status(workspace: str, spec: str) -> dict[str, Any] | None:
    answer = client.request(workspace, spec, "status", timeout=10.0)
    return answer if answer is not None and answer.get("status") == "ok" else None


def _check_runtime_dir() -> str:
    directory = protocol.runtime_dir()
    try:
        protocol.ensure_private_dir(directory)
    except protocol.ProtocolError as exc:
        raise CliError(f"the daemon directory cannot be trusted: {exc}",
                       help=f"remove {directory} (or fix its owner and mode to 700) and start again") from exc
    return directory


def _serve_argv(args: argparse.Namespace, workspace: str) -> list[str]:
    # The spec and the workspace as the user names them, from the user's directory: runs print the spec's
    # path and `files` messages spell file paths in those words (`workspace` is only checked here).
    named = ["-w", args.workspace] if args.workspace else []
    argv = [sys.executable, "-m", "hie_tasks", "daemon", "serve", resolve_spec(args.file), *named]
    if args.cache_dir:
        argv += ["--cache-dir", os.path.abspath(args.cache_dir)]
    if args.module_cache:
        argv += ["--module-cache", os.path.abspath(args.module_cache)]
    if args.jobs:
        argv += ["-j", str(args.jobs)]
    return argv


def start(args: argparse.Namespace) -> int:
    workspace, spec = _target(args)
    _check_runtime_dir()
    running = _status(workspace, spec)
    if running is not None:
        print(f"a daemon already serves {workspace} (pid {running['pid']})")
        return EXIT_OK
    log_path = protocol.info_path(protocol.socket_path(workspace, spec))
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        proc = subprocess.Popen(
            _serve_argv(args, workspace), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=log_fd, start_new_session=True,
        )
    finally:
        os.close(log_fd)
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        status = _status(workspace, spec)
        if status is not None:
            print(f"daemon serving {workspace} (pid {status['pid']}); `hie-tasks run` there is answered by it")
            return EXIT_OK
        if proc.poll() is not None:
            raise CliError(f"the daemon stopped at start (exit {proc.returncode}): {_tail(log_path)}",
                           help=f"its log is {log_path}")
        time.sleep(0.05)
    raise CliError(f"the daemon did not answer within {args.wait:.0f} s (pid {proc.pid})",
                   help=f"its log is {log_path}; `hie-tasks daemon stop` ends it")


def _tail(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = [line.strip() for line in fh if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"


def stop(args: argparse.Namespace) -> int:
    workspace, spec = _target(args)
    answer = client.request(workspace, spec, "stop", timeout=10.0)
    if answer is None or answer.get("status") != "ok":
        print(f"no daemon serves {workspace}")
        return EXIT_OK
    pid = int(answer["pid"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    print(f"daemon for {workspace} stopped (pid {pid})")
    return EXIT_OK


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child reaped by nobody stays a zombie; it no longer serves.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def status(args: argparse.Namespace) -> int:
    workspace, spec = _target(args)
    found = _status(workspace, spec)
    if found is None:
        print(f"no daemon serves {workspace}")
        return EXIT_FAILED
    print(f"daemon for {workspace} (pid {found['pid']}, up {found['uptime_s']} s)")
    print(f"  spec: {found['spec']}")
    print(f"  socket: {found['socket']}")
    print(f"  checks: {found['checks']}, cycles: {found['cycles']}, runs served: {found['served']}, "
          f"declined: {found['declined']}" + (f" (last: {found['last_declined']})" if found['last_declined'] else ""))
    if not found["healthy"]:
        print("  the spec or configuration does not load: runs go standalone until it is fixed")
    return EXIT_OK


def serve(args: argparse.Namespace) -> int:
    from hie_tasks.cli.cmd_run import project_options
    from hie_tasks.daemon.server import run_daemon

    _target(args)
    _check_runtime_dir()
    options = project_options(args, upstream=False)
    return run_daemon(resolve_spec(args.file), options)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("daemon", help="keep a warm process that answers `run` at once")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, func, text in (
        ("start", start, "start a daemon for the spec's workspace in the background"),
        ("stop", stop, "stop it"),
        ("status", status, "say whether one runs, and what it has done"),
        ("serve", serve, "run the daemon in the foreground (what `start` runs)"),
    ):
        a = actions.add_parser(name, help=text)
        a.add_argument("file", nargs="?", help="the .hie spec (default: ./hielements.hie)")
        a.add_argument("-w", "--workspace", help="workspace root (default: the spec file's directory)")
        if name in ("start", "serve"):
            a.add_argument("-j", "--jobs", type=int, default=0, help="checks run in parallel (default: cores)")
            a.add_argument("--cache-dir", help="result store directory (as for run)")
            a.add_argument("--module-cache", help="compiled-module cache directory (as for run)")
        if name == "start":
            a.add_argument("--wait", type=float, default=DEFAULT_WAIT_S,
                           help="seconds to wait for the initial run (default 600)")
        a.set_defaults(func=func, filter=None, limit=None, no_cache=False, refresh=False)
