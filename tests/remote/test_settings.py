"""Remote-cache settings: precedence, CI default, secrets only from the environment, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hie_tasks.config import CacheConfig, ConfigError, load_config
from hie_tasks.remote.settings import RemoteSettingsError, resolve

ROOT = Path(__file__).resolve().parents[2]


def test_flag_beats_environment_beats_config_and_ci_turns_writes_on() -> None:
    cfg = CacheConfig(remote="grpc://toml:1", instance="fromtoml")
    env = {"HIE_TASKS_REMOTE_CACHE": "grpc://env:2"}
    assert resolve("/ws", cfg, env={}).target == "toml:1"  # type: ignore[union-attr]
    assert resolve("/ws", cfg, env=env).target == "env:2"  # type: ignore[union-attr]
    s = resolve("/ws", cfg, url="grpcs://flag:3", env=env)
    assert s is not None and s.target == "flag:3" and s.tls and s.instance == "fromtoml"
    assert s.mode == "read-only" and not s.writes
    assert resolve("/ws", cfg, env={"CI": "true"}).writes  # type: ignore[union-attr]
    assert resolve("/ws", cfg, env={"CI": "false"}).writes is False  # type: ignore[union-attr]
    assert resolve("/ws", cfg, mode="off", env={}) is None
    assert resolve("/ws", None, env={}) is None


def test_token_and_headers_come_from_the_environment() -> None:
    s = resolve("/ws", CacheConfig(remote="grpc://h:1", token_env="MY_TOKEN"),
                env={"MY_TOKEN": "t0k", "HIE_TASKS_REMOTE_HEADERS": "x-team=infra", "HIE_TASKS_REMOTE_SECRET": "k"})
    assert s is not None and ("authorization", "Bearer t0k") in s.headers and ("x-team", "infra") in s.headers
    assert s.secret == b"k"


def test_bad_url_names_where_it_came_from() -> None:
    with pytest.raises(RemoteSettingsError, match=r"\$HIE_TASKS_REMOTE_CACHE.*grpc://HOST:PORT"):
        resolve("/ws", None, env={"HIE_TASKS_REMOTE_CACHE": "http://cache:80"})


def test_cache_table_is_validated_like_the_rest_of_the_file(tmp_path: Path) -> None:
    (tmp_path / "hielements.toml").write_text(
        '[cache]\nremote = "grpc://cache.internal:9092"\ninstance = "main"\ntoken = "s3cret"\ntimeout_ms = -5\n'
        'colour = "blue"\n')
    with pytest.raises(ConfigError) as err:
        load_config(str(tmp_path))
    found = {(d.code, d.line) for d in err.value.diagnostics}
    assert found == {("E515", 4), ("E516", 5), ("E515", 6)}
    assert "secrets are never read from the repository" in str(err.value)
    (tmp_path / "hielements.toml").write_text('[cache]\nremote = "grpc://cache.internal:9092"\nmode = "read-only"\n')
    config, _ = load_config(str(tmp_path))
    assert config.cache.remote == "grpc://cache.internal:9092" and config.cache.mode == "read-only"


def test_without_grpc_the_flag_says_what_to_install(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "grpc.py").write_text("raise ImportError('No module named grpc')\n")
    (tmp_path / "spec.hie").write_text("element a:\n    scope f = files.file_selector('x')\n    check files.exists(f, 'x')\n")
    env = {**os.environ, "PYTHONPATH": f"{shadow}{os.pathsep}{ROOT}"}
    argv = [sys.executable, "-m", "hie_tasks", "run", str(tmp_path / "spec.hie")]
    flag = subprocess.run([*argv, "--remote-cache", "grpc://127.0.0.1:1"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert flag.returncode == 2 and "pip install 'hie-tasks[remote]'" in flag.stderr
    assert "Traceback" not in flag.stderr
    # Configured by the environment only: a warning, and the checks still run.
    quiet = subprocess.run(argv, env={**env, "HIE_TASKS_REMOTE_CACHE": "grpc://127.0.0.1:1"}, capture_output=True,
                           text=True, timeout=60)
    assert quiet.returncode == 1 and "hie-tasks[remote]" in quiet.stderr and "FAIL a" in quiet.stdout
