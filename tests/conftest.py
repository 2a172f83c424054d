"""Suite-wide: the tests never write into the developer's real compiled-module cache."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

if "HIE_TASKS_MODULE_CACHE" not in os.environ:
    # Set before any test imports the WASM host, and inherited by every CLI subprocess the tests start.
    _cache = tempfile.mkdtemp(prefix="hie-tasks-test-modules-")
    os.environ["HIE_TASKS_MODULE_CACHE"] = _cache
    atexit.register(shutil.rmtree, _cache, True)

# Nor does it create or read the developer's cache key (hie_tasks.secret); every CLI subprocess inherits it.
os.environ.setdefault("HIE_TASKS_SECRET", "hie-tasks test suite")
