"""Reaping the whole process tree of an external plugin, including descendants that left its process group.

Killing the plugin's process group reaches what it spawned, except a descendant that called `setsid` (or
`setpgid`): it is in another group and would outlive the run. Two measures close that gap on Linux:

- every plugin is started with a private marker in its environment (`HIE_TASKS_PLUGIN_TREE=<token>`), which
  its descendants inherit; `kill_tree` sends SIGKILL to every process of ours carrying that token;
- hie-tasks makes itself a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`, through ctypes), so orphans of
  a plugin are re-parented to us instead of init, and `kill_tree` reaps them: no zombies are left behind.

Limit: a descendant that scrubs its environment and double-forks before the plugin is killed is not found
(it is still our child, so it dies with the session's terminal or CI job; README "Security" says so).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import secrets
import signal
import sys
import time

TOKEN_VAR = "HIE_TASKS_PLUGIN_TREE"
_PR_SET_CHILD_SUBREAPER = 36
_REAP_WAIT_S = 1.0


@functools.cache
def become_subreaper() -> bool:
    """Make this process a child subreaper (once); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def new_tree_env() -> tuple[str, dict[str, str]]:
    """A fresh token and the environment to start a plugin with."""
    become_subreaper()
    token = secrets.token_hex(12)
    return token, {**os.environ, TOKEN_VAR: token}


def _tree_members(token: str, exclude: int) -> list[int]:
    marker = f"{TOKEN_VAR}={token}".encode()
    uid = os.getuid()
    found: list[int] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit() or int(name) == exclude:
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            with open(f"/proc/{name}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    found.append(int(name))
        except OSError:
            continue
    return found


def kill_tree(token: str, leader: int) -> list[int]:
    """SIGKILL every process carrying `token` except `leader` (its owner reaps it), and reap those that
    became our children. Returns the pids killed."""
    if not sys.platform.startswith("linux"):
        return []
    members = _tree_members(token, leader)
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + _REAP_WAIT_S
    pending = set(members)
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pending.discard(pid)  # not our child (its parent is alive and reaps it)
                continue
            if done:
                pending.discard(pid)
        if pending:
            time.sleep(0.005)
    return members
