"""Two stores open on one file in one process (the daemon's reader beside its session, `watch`), while
another process writes and closes: the other process must never take itself for the last user and delete
the WAL under them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hie_tasks.incremental.store import DB_NAME, ResultStore, StoredVerdict

REPO = Path(__file__).resolve().parents[2]

_WRITER = """
import sys
from hie_tasks.incremental.store import ResultStore, StoredVerdict
store = ResultStore(sys.argv[1])
store.put_verdict("theirs", StoredVerdict("fp2", {"text": "t"}, {}, [], "fail", "no", 1.0, []))
store.close()
"""


def _verdict(status: str) -> StoredVerdict:
    return StoredVerdict("fp", {"text": "t"}, {}, [], status, None, 1.0, [])


def test_a_second_store_in_the_process_keeps_the_first_ones_locks(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    first = ResultStore(str(root))
    first.put_verdict("ours", _verdict("pass"))
    second = ResultStore(str(root))
    try:
        assert second.get_verdict("ours") is not None
        wal = root / (DB_NAME + "-wal")
        assert wal.exists()
        subprocess.run([sys.executable, "-c", _WRITER, str(root)], check=True, cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
        # Still in use here: the WAL stays, and both handles read both processes' rows.
        assert wal.exists()
        for store in (first, second):
            ours, theirs = store.get_verdict("ours"), store.get_verdict("theirs")
            assert ours is not None and ours.status == "pass"
            assert theirs is not None and theirs.status == "fail"
        first.put_verdict("later", _verdict("pass"))
        assert second.get_verdict("later") is not None
    finally:
        second.close()
        first.close()
    # Closed everywhere: the next store opens (and header-checks) the file afresh.
    again = ResultStore(str(root))
    try:
        assert again.get_verdict("later") is not None and again.warnings == []
    finally:
        again.close()
