"""`hie-tasks merge`: the shards' JSON reports give the unsharded run's report in every format."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.ci_scale.kit import assert_valid_sarif, cli, generated_workspace, without_durations

COUNT = 3


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """A generated workspace and the JSON reports of its 3 shards (each run without the store)."""
    ws = generated_workspace(tmp_path_factory.mktemp("merge"))
    reports = []
    for index in range(1, COUNT + 1):
        path = ws.parent / f"shard-{index}.json"
        result = cli("run", "spec.hie", "-f", "json", "--no-cache", "--shard", f"{index}/{COUNT}", "-o", str(path),
                     cwd=ws)
        assert result.code in (0, 1), result.err
        reports.append(path)
    return ws, reports


def merged(ws: Path, reports: list[Path], fmt: str) -> str:
    result = cli("merge", *map(str, reports), "-f", fmt, cwd=ws)
    assert result.code == 1, result.err  # the spec has failures: the merged exit code says so
    return result.out


def whole(ws: Path, fmt: str) -> str:
    return cli("run", "spec.hie", "-f", fmt, "--no-cache", cwd=ws).out


def test_json(sharded: tuple[Path, list[Path]]) -> None:
    ws, reports = sharded
    got = json.loads(merged(ws, reports, "json"))
    want = json.loads(whole(ws, "json"))
    assert "shard" not in got
    assert without_durations(got) == without_durations(want)


def test_junit(sharded: tuple[Path, list[Path]]) -> None:
    ws, reports = sharded
    untimed = lambda text: re.sub(r' time="[0-9.]+"', "", text)  # noqa: E731
    assert untimed(merged(ws, reports, "junit")) == untimed(whole(ws, "junit"))


def test_github(sharded: tuple[Path, list[Path]]) -> None:
    ws, reports = sharded
    got = merged(ws, reports, "github")
    assert got == whole(ws, "github") and "::error file=" in got and "::warning file=" in got


def test_sarif(sharded: tuple[Path, list[Path]]) -> None:
    ws, reports = sharded
    got = merged(ws, reports, "sarif")
    assert_valid_sarif(json.loads(got))
    assert got == whole(ws, "sarif")


def test_human(sharded: tuple[Path, list[Path]]) -> None:
    ws, reports = sharded
    got = merged(ws, reports, "human").splitlines()
    run = cli("run", "spec.hie", "--no-cache", cwd=ws)
    want = run.out.splitlines()
    assert got[0] == want[0]  # "Running N checks from spec.hie (workspace …)"
    # verdict lines, their messages (not a diagnostic's `--> file:line:column`) and the summary
    verdict = re.compile(r"^(PASS|FAIL|ERROR) |^  --> (?!\S+:\d+:\d+$)|^Summary: ")
    assert [line for line in got if verdict.match(line)] == [line for line in want if verdict.match(line)]
    # the diagnostics, with their source lines, as the run printed them (spec warnings go to its stderr)
    for block in ("warning[W001]: unknown library `nothere` in import", "3 | import nothere",
                  "error[E200]: Failed to evaluate scope 'mod3.broken'"):
        assert block in "\n".join(got)
        assert block in run.out + run.err


def test_merge_to_a_file(sharded: tuple[Path, list[Path]], tmp_path: Path) -> None:
    ws, reports = sharded
    out = tmp_path / "merged.sarif"
    result = cli("merge", *map(str, reports), "-f", "sarif", "-o", str(out), cwd=ws)
    # the file gets the report; the terminal still gets the summary line (as `run -o` does)
    assert result.code == 1 and result.out.startswith("Summary: 60 total") and str(out) in result.out
    assert_valid_sarif(json.loads(out.read_text()))


def test_order_of_the_report_arguments_does_not_matter(sharded: tuple[Path, list[Path]]) -> None:
    ws, reports = sharded
    assert merged(ws, list(reversed(reports)), "sarif") == merged(ws, reports, "sarif")


# ---------------------------------------------------------------------------------------------- refusals


def refused(ws: Path, *paths: Path | str) -> str:
    result = cli("merge", *map(str, paths), "-f", "json", cwd=ws)
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.out == "" and "Traceback" not in result.err
    return result.err


def test_a_missing_shard_is_refused(sharded: tuple[Path, list[Path]]) -> None:
    ws, reports = sharded
    err = refused(ws, reports[0], reports[2])
    assert "missing shard 2/3" in err and "shard-1.json" in err and "shard-3.json" in err


def test_a_duplicated_shard_is_refused(sharded: tuple[Path, list[Path]], tmp_path: Path) -> None:
    ws, reports = sharded
    copy = tmp_path / "again.json"
    copy.write_text(reports[1].read_text())
    err = refused(ws, *reports, copy)
    assert "shard-2.json and" in err and "again.json are both shard 2/3" in err


def test_shards_of_different_plans_are_refused(sharded: tuple[Path, list[Path]], tmp_path: Path) -> None:
    ws, reports = sharded
    other = generated_workspace(tmp_path, elements=15)  # one element more: another plan
    stale = tmp_path / "other-2.json"
    cli("run", "spec.hie", "-f", "json", "--no-cache", "--shard", "2/3", "-o", str(stale), cwd=other)
    err = refused(ws, reports[0], stale, reports[2])
    assert "come from different plans" in err and "shard-1.json" in err and "other-2.json" in err
    four = tmp_path / "four.json"
    cli("run", "spec.hie", "-f", "json", "--no-cache", "--shard", "2/4", "-o", str(four), cwd=ws)
    assert "come from different plans" in refused(ws, reports[0], four, reports[2])


def test_shards_split_with_different_durations_are_refused(tmp_path: Path) -> None:
    ws = generated_workspace(tmp_path, elements=6)
    durations = tmp_path / "durations.json"
    report = json.loads(cli("run", "spec.hie", "-f", "json", "--no-cache", cwd=ws).out)
    for n, result in enumerate(report["results"]):
        result["duration_ms"] = float(1 + 7 * n % 13)
    durations.write_text(json.dumps(report))
    paths = []
    for index, extra in ((1, ["--durations", str(durations)]), (2, [])):
        path = tmp_path / f"s{index}.json"
        cli("run", "spec.hie", "-f", "json", "--no-cache", "--shard", f"{index}/2", *extra, "-o", str(path), cwd=ws)
        paths.append(path)
    err = refused(ws, *paths)
    assert "split the plan differently" in err and "durations.json" in err and "--durations" in err


def test_unusable_files_are_refused_by_name(sharded: tuple[Path, list[Path]], tmp_path: Path) -> None:
    ws, _ = sharded
    assert "cannot read" in refused(ws, tmp_path / "nope.json") and "nope.json" in refused(ws, tmp_path / "nope.json")
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"results": [')
    assert "garbage.json:1:" in refused(ws, garbage)
    plain = tmp_path / "plain.json"
    plain.write_text(cli("run", "spec.hie", "-f", "json", "--no-cache", cwd=ws).out)
    assert "plain.json: it is not the report of a sharded run" in refused(ws, plain)


def _forged(source: Path, target: Path, change: Any) -> Path:
    data = json.loads(source.read_text())
    change(data)
    target.write_text(json.dumps(data))
    return target


def test_forged_reports_are_refused(sharded: tuple[Path, list[Path]], tmp_path: Path) -> None:
    ws, reports = sharded

    def overlap(data: Any) -> None:
        data["shard"]["positions"][0] = json.loads(reports[0].read_text())["shard"]["positions"][0]

    err = refused(ws, reports[0], _forged(reports[1], tmp_path / "overlap.json", overlap), reports[2])
    assert "both report check" in err

    def drop(data: Any) -> None:
        del data["results"][0]

    assert "positions" in refused(ws, reports[0], _forged(reports[1], tmp_path / "short.json", drop), reports[2])

    def consistent_drop(data: Any) -> None:
        for key in ("positions", "functions"):
            del data["shard"][key][0]
        del data["results"][0]

    err = refused(ws, reports[0], _forged(reports[1], tmp_path / "less.json", consistent_drop), reports[2])
    assert "but the plan has" in err

    def bad_status(data: Any) -> None:
        data["results"][0]["status"] = "maybe"

    assert "unknown status 'maybe'" in refused(ws, reports[0], _forged(reports[1], tmp_path / "st.json", bad_status),
                                               reports[2])
