"""The per-user cache key: created private, never trusted when others can read it, overridable by env."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hie_tasks import secret


def test_key_file_created_0600_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    key, problems = secret.load_key_file(str(path))
    assert problems == [] and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret.load_key_file(str(path)) == (key, [])


def test_key_readable_by_others_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    key, _ = secret.load_key_file(str(path))
    os.chmod(path, 0o644)
    other, problems = secret.load_key_file(str(path))
    assert other != key and len(problems) == 1 and "chmod 600" in problems[0]


def test_env_secret_overrides_and_separates_purposes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(secret.ENV_SECRET, "one")
    first = secret.mac("verdict", "a", "b")
    assert secret.verify(first, "verdict", "a", "b")
    assert not secret.verify(first, "selector", "a", "b")
    assert not secret.verify(first, "verdict", "ab", "")
    assert not secret.verify(None, "verdict", "a", "b")
    monkeypatch.setenv(secret.ENV_SECRET, "two")
    assert not secret.verify(first, "verdict", "a", "b")


@pytest.mark.parametrize("xdg", [None, "", "   ", "/tmp/xdg-data"])
def test_the_key_directory_is_platformdirs_own(monkeypatch: pytest.MonkeyPatch, xdg: str | None) -> None:
    # The key's place is spelled out for start-up's sake (platformdirs costs ~20 ms to import); it must stay
    # where platformdirs puts it, or an upgrade would make every cached entry unverifiable.
    import platformdirs

    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    assert secret._user_data_dir() == platformdirs.user_data_dir("hie-tasks")
