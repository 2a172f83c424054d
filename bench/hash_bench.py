"""Measure hash functions and file-reading strategies for the incremental layer's file digests.

The workload mimics a source repository: many small source files (default 10 000, sized like real code, a few
hundred bytes to tens of KB) plus a handful of MB-sized files (lock files, generated code, assets). For every
(hash, reading strategy) pair it digests the whole set and prints the best-of-N wall time, so the choice in
`hie_tasks/incremental/digests.py` rests on numbers from this machine rather than folklore.

Run: `python bench/hash_bench.py [--small 10000] [--large 4] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import hashlib
import mmap
import os
import random
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol


class Hasher(Protocol):
    def update(self, data: bytes | memoryview | mmap.mmap, /) -> None: ...
    def hexdigest(self) -> str: ...


HashFactory = Callable[[], Hasher]

HASHES: dict[str, HashFactory] = {
    "sha256": hashlib.sha256,
    "blake2b": hashlib.blake2b,
    "blake2s": hashlib.blake2s,
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
}

CHUNK = 1 << 20


def read_whole(path: str, factory: HashFactory) -> str:
    h = factory()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def read_chunked(path: str, factory: HashFactory) -> str:
    h = factory()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def read_mmap(path: str, factory: HashFactory) -> str:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        h = factory()
        if size == 0:
            return h.hexdigest()
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            h.update(m)
        return h.hexdigest()


def read_hybrid(path: str, factory: HashFactory) -> str:
    """Whole read for small files (one syscall, no loop), chunked above 1 MiB (bounded memory)."""
    if os.stat(path).st_size <= CHUNK:
        return read_whole(path, factory)
    return read_chunked(path, factory)


STRATEGIES: dict[str, Callable[[str, HashFactory], str]] = {
    "whole": read_whole,
    "chunked": read_chunked,
    "mmap": read_mmap,
    "hybrid": read_hybrid,
}


def make_corpus(root: Path, small: int, large: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    paths: list[str] = []
    for i in range(small):
        d = root / f"pkg{i % 100}"
        d.mkdir(exist_ok=True)
        # Source files: log-normal-ish sizes, median about 3 KB, long tail to ~60 KB.
        size = min(60_000, max(80, int(rng.lognormvariate(8.0, 1.0))))
        p = d / f"mod{i}.py"
        p.write_bytes(rng.randbytes(size))
        paths.append(str(p))
    for i in range(large):
        p = root / f"big{i}.bin"
        p.write_bytes(rng.randbytes((2 + 2 * i) * 1_000_000))
        paths.append(str(p))
    return paths


def digest_all(paths: list[str], strategy: Callable[[str, HashFactory], str], factory: HashFactory) -> None:
    for p in paths:
        strategy(p, factory)


def time_it(fn: Callable[[], None], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def stat_cost(paths: list[str], repeat: int) -> float:
    def run() -> None:
        for p in paths:
            st = os.stat(p)
            _ = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)

    return time_it(run, repeat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hie-hash-bench-") as tmp:
        paths = make_corpus(Path(tmp), opts.small, opts.large)
        small_paths, large_paths = paths[: opts.small], paths[opts.small :]
        total = sum(os.path.getsize(p) for p in paths)
        print(
            f"corpus: {opts.small} small files + {opts.large} large files, {total / 1e6:.1f} MB total "
            f"(page cache warm; best of {opts.repeat})"
        )
        print(
            f"stat only (size, mtime_ns, ino, ctime_ns) for all files: {stat_cost(paths, opts.repeat) * 1000:.1f} ms"
        )
        print()
        print(
            f"{'hash':<8} {'strategy':<8} {'small ms':>9} {'large ms':>9} {'all ms':>8} {'MB/s (large)':>13}"
        )
        large_mb = sum(os.path.getsize(p) for p in large_paths) / 1e6
        for hname, factory in HASHES.items():
            for sname, strategy in STRATEGIES.items():
                t_small = time_it(partial(digest_all, small_paths, strategy, factory), opts.repeat)
                t_large = time_it(partial(digest_all, large_paths, strategy, factory), opts.repeat)
                rate = large_mb / t_large if t_large > 0 else float("inf")
                print(
                    f"{hname:<8} {sname:<8} {t_small * 1000:9.1f} {t_large * 1000:9.1f} "
                    f"{(t_small + t_large) * 1000:8.1f} {rate:13.0f}"
                )


if __name__ == "__main__":
    main()
