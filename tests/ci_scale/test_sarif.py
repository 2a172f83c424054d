"""`-f sarif`: valid SARIF 2.1.0 with catalog rules, stable rule ids and fingerprints."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from hie_tasks.engine.results import CheckOutcome, RunReport
from hie_tasks.model.values import Status
from hie_tasks.output import sarif
from tests.ci_scale.kit import assert_valid_sarif, cli, generated_workspace


def _run(doc: Any) -> Any:
    assert doc["version"] == "2.1.0"
    assert len(doc["runs"]) == 1
    return doc["runs"][0]


def identities(doc: Any) -> set[tuple[str, str, str]]:
    out = set()
    for result in _run(doc)["results"]:
        (key, value), = result["partialFingerprints"].items()
        out.add((result["ruleId"], key, value))
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_workspace(tmp_path_factory.mktemp("sarif"))


def test_a_run_with_passes_fails_errors_and_diagnostics_is_valid_sarif(generated: Path) -> None:
    result = cli("run", "spec.hie", "-f", "sarif", "--no-cache", cwd=generated)
    assert result.code == 1, result.err
    doc = json.loads(result.out)
    assert_valid_sarif(doc)
    run = _run(doc)
    plain = cli("run", "spec.hie", "-f", "json", "--no-cache", cwd=generated).json()
    statuses = {r["status"] for r in plain["results"]}
    assert statuses == {"pass", "fail", "error"}

    results = run["results"]
    # every failing or erroring check once, every diagnostic once; passes only in the summary
    failing = [r for r in plain["results"] if r["status"] != "pass"]
    checks = [r for r in results if r["properties"].get("kind") != "diagnostic"]
    diags = [r for r in results if r["properties"].get("kind") == "diagnostic"]
    assert len(checks) == len(failing)
    assert sorted(r["ruleId"] for r in diags) == sorted(d["code"] for d in plain["diagnostics"]) == ["E200", "W001"]
    assert run["properties"]["summary"]["passed"] == plain["summary"]["passed"]
    assert all(r["level"] == "error" for r in checks)
    errors = [r for r in checks if r["properties"]["status"] == "error"]
    assert errors and all(r["properties"]["couldNotRun"] is True for r in errors)
    assert all("couldNotRun" not in r["properties"] for r in checks if r["properties"]["status"] == "fail")
    assert {r["level"] for r in diags} == {"warning", "error"}

    # workspace-relative locations at the .hie line of each check, including the imported file
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"spec.hie", "more.hie"}
    for r in results:
        physical = r["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert physical["region"]["startLine"] >= 1
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == generated.resolve().as_uri() + "/"

    # rules: one per library function the spec calls, texts from the library catalog (`hie-tasks doc`)
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    for r in results:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    catalog = cli("doc", "-f", "json", cwd=generated).json()["libraries"]
    described = {f"{lib['name']}.{c['name']}": c["description"] for lib in catalog for c in lib["checks"]}
    called = {"files.exists", "files.max_size", "files.contains", "files.no_files_matching", "python.imports"}
    assert called <= set(rules)
    for rule_id in called:
        assert rules[rule_id]["fullDescription"]["text"] == " ".join(described[rule_id].split())
        assert described[rule_id].startswith(rules[rule_id]["shortDescription"]["text"].rstrip("."))
        assert rules[rule_id]["help"]["text"].startswith(described[rule_id])
    assert "E200" in rules and "W001" in rules
    driver = run["tool"]["driver"]
    assert driver["name"] == "hie-tasks" and driver["version"] and driver["informationUri"].startswith("https://")


def test_rule_ids_and_fingerprints_are_stable_across_runs_and_spec_reordering(tmp_path: Path) -> None:
    ws = generated_workspace(tmp_path)
    first = json.loads(cli("run", "spec.hie", "-f", "sarif", cwd=ws).out)
    # the second run replays every verdict from the store: same alerts
    second = json.loads(cli("run", "spec.hie", "-f", "sarif", cwd=ws).out)
    assert_valid_sarif(second)
    assert identities(first) == identities(second)
    assert len(identities(first)) == len(_run(first)["results"])  # equal checks in one element differ

    # reorder: elements in reverse order, blank lines and comments shift every line number
    text = (ws / "spec.hie").read_text()
    head, _, body = text.partition("\n\nelement ")
    blocks = ("element " + body).split("\n\nelement ")
    blocks = [b if b.startswith("element ") else "element " + b for b in blocks]
    (ws / "spec.hie").write_text(head + "\n\n## reordered\n\n\n" + "\n\n".join(reversed(blocks)))
    third = json.loads(cli("run", "spec.hie", "-f", "sarif", "--no-cache", cwd=ws).out)
    assert_valid_sarif(third)
    lines = lambda doc: {r["locations"][0]["physicalLocation"]["region"]["startLine"]  # noqa: E731
                         for r in _run(doc)["results"] if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "spec.hie"}
    assert lines(third) != lines(first)  # the lines really moved
    assert identities(third) == identities(first)
    assert [r["id"] for r in _run(third)["tool"]["driver"]["rules"]] == [
        r["id"] for r in _run(first)["tool"]["driver"]["rules"]]


def test_a_changed_message_keeps_the_alert_identity(tmp_path: Path) -> None:
    ws = generated_workspace(tmp_path, elements=3)
    before = json.loads(cli("run", "spec.hie", "-f", "sarif", "--no-cache", cwd=ws).out)
    (ws / "src" / "mod0" / "a.py").write_text("import json\n")  # python.imports(code, 'os') fails differently
    after = json.loads(cli("run", "spec.hie", "-f", "sarif", "--no-cache", cwd=ws).out)
    assert identities(before) == identities(after)


def test_offending_locations_are_primary_and_the_check_is_related(tmp_path: Path) -> None:
    """Structured locations on a result (another change adds them to CheckOutcome) are read when present."""

    class Located(CheckOutcome):
        pass

    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    outcome = Located("core", "python.no_import(src, 'os')", Status.FAIL, "imports os", "spec.hie", 7, 5,
                      library="python", function="no_import")
    outcome.locations = [type("Loc", (), {"file": "src/a b.py", "line": 3})(), {"file": "src/c.py", "line": 0}]  # type: ignore[attr-defined]
    report = RunReport(outcomes=[outcome], workspace=str(ws), base_dir=str(ws))
    report.totals.add(outcome)
    doc = sarif.sarif_log(report)
    assert_valid_sarif(doc)
    result = doc["runs"][0]["results"][0]
    primary = [loc["physicalLocation"] for loc in result["locations"]]
    assert primary[0] == {"artifactLocation": {"uri": "src/a%20b.py", "uriBaseId": "%SRCROOT%"},
                          "region": {"startLine": 3}}
    assert primary[1] == {"artifactLocation": {"uri": "src/c.py", "uriBaseId": "%SRCROOT%"}}
    related = result["relatedLocations"][0]["physicalLocation"]
    assert related["artifactLocation"]["uri"] == "spec.hie" and related["region"]["startLine"] == 7
    # the rule falls back to a described one when the report carries no catalog entry
    assert doc["runs"][0]["tool"]["driver"]["rules"][0]["id"] == "python.no_import"


def test_a_spec_outside_the_workspace_gets_an_absolute_uri(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "s.hie").write_text("import files\nelement e:\n    scope r = files.folder_selector('.')\n"
                                 "    check files.exists(r, 'nope')\n")
    result = cli("run", str(specs / "s.hie"), "-w", str(ws), "-f", "sarif", "--no-cache", cwd=tmp_path)
    doc = json.loads(result.out)
    assert_valid_sarif(doc)
    artifact = _run(doc)["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": (specs / "s.hie").resolve().as_uri()}
    assert os.path.isabs(artifact["uri"][len("file://"):])
