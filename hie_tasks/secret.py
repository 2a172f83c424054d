"""The per-user secret that authenticates what hie-tasks caches, and the HMAC helpers built on it.

A cache is only as trustworthy as its writer. The compiled-module cache and the result store live in
places an attacker may control (a committed `.hie-cache/`, a poisoned CI cache), so every entry carries an
HMAC-SHA256 under a key that lives outside both: a random 32-byte key in
`platformdirs.user_data_dir("hie-tasks")/secret.key`, created 0600 on first use. `$HIE_TASKS_SECRET`
overrides it (any string; CI sets it from a secret store, so a restored cache verifies across machines that
share it and nowhere else). When no key can be read or created (read-only home), a random key for this
process is used: nothing cached verifies across runs, which is slower but never unsafe.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import stat
import sys
import threading

# `typing` and `platformdirs` cost ~20 ms together, and every run reaches this module before it knows whether it
# can replay a whole run (hie_tasks/replay): they load only where needed, and new keys come from os.urandom (what
# `secrets` draws from) rather than importing `secrets`. mypy treats TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable

ENV_SECRET = "HIE_TASKS_SECRET"
KEY_FILE = "secret.key"
_KEY_BYTES = 32

_lock = threading.Lock()
_cached: tuple[bytes, str] | None = None
#: Problems met while loading the key (printed once by the caller), e.g. a key file readable by others.
warnings: list[str] = []


def default_key_path() -> str:
    return os.path.join(_user_data_dir(), KEY_FILE)


def _user_data_dir() -> str:
    """`platformdirs.user_data_dir("hie-tasks")`; on Linux and the BSDs its XDG rule spelled out (tests pin the
    two to one answer), elsewhere platformdirs itself."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        base = os.environ.get("XDG_DATA_HOME", "")
        if not base.strip():
            base = os.path.expanduser("~/.local/share")
        return os.path.join(base, "hie-tasks")
    import platformdirs

    return platformdirs.user_data_dir("hie-tasks")


def load_key_file(path: str) -> tuple[bytes, list[str]]:
    """The key in `path`, created (0600, exclusively) when absent. Returns (key, warnings).

    Never raises: a key that cannot be read or created becomes a random per-process key with a warning.
    A key file that others can read or write is not trusted (anyone who can read it can forge entries).
    """
    problems: list[str] = []
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(os.urandom(_KEY_BYTES).hex() + "\n")
        st = os.stat(path)
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(
                f"warning: the cache key {path} is accessible to other users (mode {stat.S_IMODE(st.st_mode):o}); "
                f"it is not used — run `chmod 600 {path}` (or delete it to get a new one); caches are not "
                "trusted this run"
            )
            return os.urandom(_KEY_BYTES), problems
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
        key = bytes.fromhex(text)
        if len(key) < 16:
            raise ValueError("key too short")
        return key, problems
    except (OSError, ValueError) as exc:
        problems.append(
            f"warning: cannot use the cache key {path} ({getattr(exc, 'strerror', None) or exc}); set "
            f"${ENV_SECRET} or fix the file; nothing cached is trusted this run"
        )
        return os.urandom(_KEY_BYTES), problems


def secret_key() -> bytes:
    """The key of this process: `$HIE_TASKS_SECRET` (hashed), else the per-user key file. Read once."""
    global _cached
    env = os.environ.get(ENV_SECRET)
    with _lock:
        # Keyed by the env value so tests (and a long-lived watch) that change it get the matching key.
        if _cached is not None and _cached[1] == (env or ""):
            return _cached[0]
        if env:
            key = hashlib.sha256(b"hie-tasks secret\0" + env.encode("utf-8")).digest()
        else:
            key, problems = load_key_file(default_key_path())
            warnings.extend(problems)
        _cached = (key, env or "")
        return key


@functools.lru_cache(maxsize=8)
def _derived(key: bytes, purpose: str) -> bytes:
    return hmac.new(key, b"hie-tasks purpose\0" + purpose.encode(), hashlib.sha256).digest()


def _frame(parts: tuple[str | bytes, ...]) -> bytes:
    # Length-prefixed, so ("ab", "c") and ("a", "bc") differ. Lengths count characters of str parts; the
    # framing only has to be injective, and str parts are framed in str space before one encode.
    texts = [p for p in parts if isinstance(p, str)]
    if len(texts) == len(parts):
        return "".join([f"{len(p)}:{p};" for p in texts]).encode("utf-8", "surrogatepass")
    return b"".join(
        b"%d:%s;" % (len(d), d) for d in (p.encode("utf-8", "surrogatepass") if isinstance(p, str) else p for p in parts)
    )


def signer(purpose: str, key: bytes | None = None) -> Callable[..., str]:
    """A MAC function for `purpose` with the key derived once: for callers that sign or verify many records
    (the result store verifies every row it reads)."""
    derived = _derived(key if key is not None else secret_key(), purpose)
    digest = hmac.digest

    def sign(*parts: str | bytes) -> str:
        return digest(derived, _frame(parts), "sha256").hex()

    return sign


def mac(purpose: str, *parts: str | bytes, key: bytes | None = None) -> str:
    """HMAC-SHA256 (hex) of `parts` under a key derived for `purpose` (so a MAC made for one kind of record
    never verifies as another)."""
    return signer(purpose, key)(*parts)


def verify(expected: object, purpose: str, *parts: str | bytes, key: bytes | None = None) -> bool:
    """Whether `expected` is the MAC of `parts` (constant-time; anything not a string is False)."""
    if not isinstance(expected, str):
        return False
    return hmac.compare_digest(expected, mac(purpose, *parts, key=key))


def take_warnings() -> list[str]:
    """Warnings about the key collected so far, each returned once."""
    with _lock:
        out = list(warnings)
        warnings.clear()
        return out
