"""`--shard i/N`: disjoint, complete, verdicts independent of the shard, balanced by recorded durations."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from hie_tasks.engine.shard import ShardError, parse_shard, partition
from hie_tasks.incremental.store import ResultStore
from tests.ci_scale.kit import COST_PLUGIN, cli, generated_workspace, result_keys, verdicts


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_workspace(tmp_path_factory.mktemp("shard"))


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_shards_are_disjoint_complete_and_give_the_unsharded_verdicts(generated: Path, count: int) -> None:
    whole = cli("run", "spec.hie", "-f", "json", "--no-cache", cwd=generated).json()
    parts: list[dict[str, Any]] = []
    for index in range(1, count + 1):
        result = cli("run", "spec.hie", "-f", "json", "--no-cache", "--shard", f"{index}/{count}", cwd=generated)
        assert result.code in (0, 1), result.err
        parts.append(result.json())
    seen: list[tuple[str, str, str, int]] = []
    for part in parts:
        seen.extend(result_keys(part))
        # every shard planned the whole spec: the same diagnostics as the whole run
        assert part["diagnostics"] == whole["diagnostics"]
        assert part["shard"]["count"] == count and part["shard"]["checks"] == len(whole["results"])
    assert len(seen) == len(set(seen)), "a check ran in two shards"
    assert sorted(seen) == sorted(result_keys(whole)), "the shards' union is not the whole run"
    merged_verdicts: dict[Any, Any] = {}
    for part in parts:
        merged_verdicts.update(verdicts(part))
    assert merged_verdicts == verdicts(whole)
    assert len({p["shard"]["plan"] for p in parts}) == 1 and len({p["shard"]["split"] for p in parts}) == 1
    if count > 1:
        assert all(p["results"] for p in parts), "a shard got nothing to do"
    assert sum(p["summary"]["total"] for p in parts) == whole["summary"]["total"]


def test_the_environment_variable_selects_the_shard_and_the_flag_wins(generated: Path) -> None:
    by_flag = cli("run", "spec.hie", "-f", "json", "--no-cache", "--shard", "2/3", cwd=generated).json()
    by_env = cli("run", "spec.hie", "-f", "json", "--no-cache", cwd=generated, env={"HIE_TASKS_SHARD": "2/3"}).json()
    assert result_keys(by_env) == result_keys(by_flag) and by_env["shard"]["index"] == 2
    flag_wins = cli("run", "spec.hie", "-f", "json", "--no-cache", "--shard", "1/3", cwd=generated,
                    env={"HIE_TASKS_SHARD": "2/3"}).json()
    assert flag_wins["shard"]["index"] == 1


@pytest.mark.parametrize(("value", "words"), [
    ("0/3", "numbered from 1 to 3"), ("4/3", "numbered from 1 to 3"), ("1/0", "at least 1"),
    ("2", "not of the form i/N"), ("a/b", "not of the form i/N"), ("-1/3", "not of the form i/N"),
])
def test_bad_shard_values_are_clear_errors(generated: Path, value: str, words: str) -> None:
    result = cli("run", "spec.hie", f"--shard={value}", cwd=generated)
    assert result.code == 2 and words in result.err and f"'{value}'" in result.err
    assert "Traceback" not in result.err
    by_env = cli("run", "spec.hie", cwd=generated, env={"HIE_TASKS_SHARD": value})
    assert by_env.code == 2 and "$HIE_TASKS_SHARD" in by_env.err and words in by_env.err


def test_shard_with_limit_or_durations_without_shard_is_refused(generated: Path) -> None:
    limited = cli("run", "spec.hie", "--shard", "1/2", "--limit", "3", cwd=generated)
    assert limited.code == 2 and "--limit cannot be combined with --shard" in limited.err
    orphan = cli("run", "spec.hie", "--durations", "x.json", cwd=generated)
    assert orphan.code == 2 and "--durations only applies to a sharded run" in orphan.err


def test_a_bad_durations_file_is_a_clear_error(generated: Path, tmp_path: Path) -> None:
    missing = cli("run", "spec.hie", "--shard", "1/2", "--durations", str(tmp_path / "none.json"), cwd=generated)
    assert missing.code == 2 and "none.json" in missing.err
    (tmp_path / "bad.json").write_text("{not json")
    bad = cli("run", "spec.hie", "--shard", "1/2", "--durations", str(tmp_path / "bad.json"), cwd=generated)
    assert bad.code == 2 and "bad.json" in bad.err and "not JSON" in bad.err
    (tmp_path / "other.json").write_text('{"x": 1}')
    other = cli("run", "spec.hie", "--shard", "1/2", "--durations", str(tmp_path / "other.json"), cwd=generated)
    assert other.code == 2 and "no \"results\" list" in other.err


# ---------------------------------------------------------------------------------------------- balance

#: Uneven costs in milliseconds: a few big checks, many small ones (what a real spec with a slow plugin
#: check beside many file checks looks like). No single check exceeds total / 5.
COSTS = [150, 120, 110, 90, 80, 70, 60, 55, 50, 45, 40, 35, 30, 25, 20, 20, 15, 15, 10, 10, 8, 6, 5, 5, 4, 3, 2, 2]


@pytest.fixture(scope="module")
def costly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose checks take uneven real time, run once so the store records their durations."""
    ws = tmp_path_factory.mktemp("costly") / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "a.py").write_text("x = 1\n")
    (ws / "hielements.toml").write_text(
        f'[libraries.cost]\nexecutable = "{Path(__import__("sys").executable).as_posix()}"\n'
        f'args = ["{COST_PLUGIN.as_posix()}"]\n'
    )
    order = list(COSTS)
    random.Random(7).shuffle(order)
    lines = ["import files", "import cost", "", "element work:", "    scope src = files.folder_selector('src')"]
    lines += [f"    check cost.work(src, {ms})" for ms in order]
    (ws / "spec.hie").write_text("\n".join(lines) + "\n")
    first = cli("run", "spec.hie", "-f", "json", "-j", "1", cwd=ws)
    assert first.code == 0, first.err
    return ws


def _recorded(ws: Path) -> dict[str, float]:
    store = ResultStore(str(ws / ".hie-cache"))
    try:
        return store.recorded_durations()
    finally:
        store.close()


def test_the_store_records_the_uneven_durations(costly: Path) -> None:
    durations = sorted(_recorded(costly).values())
    assert len(durations) == len(COSTS)
    # each check took at least its sleep (real measurements, not the requested numbers)
    assert all(measured >= wanted for measured, wanted in zip(durations, sorted(COSTS), strict=True))


@pytest.mark.parametrize("count", [2, 3, 4, 5])
def test_shards_balanced_by_recorded_durations_stay_within_a_quarter_of_ideal(costly: Path, count: int) -> None:
    recorded_before = _recorded(costly)
    by_check = {json.loads(key)[3]: ms for key, ms in recorded_before.items()}  # text → recorded duration
    whole = cli("run", "spec.hie", "-f", "json", cwd=costly).json()
    loads = []
    splits = set()
    for index in range(1, count + 1):
        part = cli("run", "spec.hie", "-f", "json", "--shard", f"{index}/{count}", cwd=costly).json()
        assert part["shard"]["durations"] == "store"
        splits.add(part["shard"]["split"])
        loads.append(sum(by_check[r["check"]] for r in part["results"]))
    # replayed verdicts leave the recorded durations alone, so every shard saw the same ones
    assert _recorded(costly) == recorded_before and len(splits) == 1
    total = sum(by_check[r["check"]] for r in whole["results"])
    ideal = total / count
    print(f"N={count}: largest shard {max(loads):.1f} ms, ideal {ideal:.1f} ms, ratio {max(loads) / ideal:.3f}")
    assert max(loads) <= 1.25 * ideal, (count, loads, ideal)
    assert abs(sum(loads) - total) < 1e-6


def test_durations_from_a_report_balance_like_the_store(costly: Path, tmp_path: Path) -> None:
    report = tmp_path / "last.json"
    report.write_text(cli("run", "spec.hie", "-f", "json", cwd=costly).out)
    for index in (1, 2, 3):
        from_file = cli("run", "spec.hie", "-f", "json", "--no-cache", "--shard", f"{index}/3",
                        "--durations", str(report), cwd=costly).json()
        from_store = cli("run", "spec.hie", "-f", "json", "--shard", f"{index}/3", cwd=costly).json()
        assert from_file["shard"]["durations"] == "file last.json"
        assert result_keys(from_file) == result_keys(from_store)


# ---------------------------------------------------------------------------------------------- partitioner


def test_parse_shard() -> None:
    assert (parse_shard("3/4").index, parse_shard(" 3/4 ").count) == (3, 4)
    with pytest.raises(ShardError, match="HIE_X '5/4'"):
        parse_shard("5/4", "HIE_X")


def test_unknown_checks_are_placed_by_their_key_so_adding_a_check_moves_no_other() -> None:
    keys = [f"check-{i}" for i in range(40)]
    before = partition([(k, None) for k in keys], 4)
    after = partition([(k, None) for k in [*keys[:10], "new", *keys[10:]]], 4)
    assert after[:10] + after[11:] == before
    assert len(set(before)) == 4


def test_greedy_puts_the_longest_checks_on_the_least_loaded_shard() -> None:
    items: list[tuple[str, float | None]] = [("a", 10.0), ("b", 7.0), ("c", 5.0), ("d", 4.0), ("e", 3.0), ("f", 1.0)]
    assign = partition(items, 2)
    loads = [sum(d for (_, d), s in zip(items, assign, strict=True) if s == shard and d) for shard in (0, 1)]
    assert sorted(loads) == [15.0, 15.0]
    assert partition(items, 2) == assign  # deterministic
    assert partition(list(reversed(items)), 2) == list(reversed(assign))  # independent of plan order


def test_a_store_copy_elsewhere_gives_the_same_split(costly: Path, tmp_path: Path) -> None:
    """Shards on other machines restoring the same cache split the same way (keys are workspace-relative)."""
    copy = tmp_path / "cache"
    shutil.copytree(costly / ".hie-cache", copy)
    a = cli("run", "spec.hie", "-f", "json", "--shard", "2/3", cwd=costly).json()
    b = cli("run", "spec.hie", "-f", "json", "--shard", "2/3", "--cache-dir", str(copy), cwd=costly).json()
    assert a["shard"]["split"] == b["shard"]["split"] and result_keys(a) == result_keys(b)
