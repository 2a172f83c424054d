"""The shared verdict cache against a real BuildGrid: two checkouts at different paths share verdicts."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

from remote_kit import ROOT, Checkout, Server, start_server

ALL = {("core", "files.max_size(src, 1)"), ("core", "ext.count_at_least(src, 1)"),
       ("util", "ext.count_at_least(src, 1)"), ("docs", "ext.count_at_least(md, 2)"),
       ("readme", "files.exists(f, 'README.md')")}
WRITE = {"CI": "true"}


def human_lines(text: str) -> list[str]:
    lines = [re.sub(r" \(cached\)$", "", line.rstrip()) for line in text.splitlines()]
    return [line for line in lines if line.startswith(("PASS", "FAIL", "ERROR", "  -->", "Summary"))]


def test_second_checkout_replays_every_verdict_from_the_remote(
        buildgrid: Server, instance: str, checkouts: tuple[Checkout, Checkout]) -> None:
    one, two = checkouts
    first = one.run(buildgrid.url, instance, **WRITE)
    assert first.ran() == ALL and first.warnings() == []
    calls = one.calls()

    second = two.run(buildgrid.url, instance)
    assert set(second.cached().values()) == {"remote"}, second.stderr
    assert second.report["summary"]["cached_remote"] == len(ALL)
    assert one.calls() == calls  # zero plugin calls: not even a process start
    # What a fresh run at the second path prints, messages re-rooted there.
    fresh = two.run(buildgrid.url, instance, "--no-cache")
    assert second.verdicts() == fresh.verdicts()
    message = next(m for (e, c, _s, m) in second.verdicts() if c == "files.max_size(src, 1)")
    assert message is not None and str(two.root) in message and str(one.root) not in message

    # The remote hits were written to the second checkout's local store: now local replays.
    third = two.run(buildgrid.url, instance)
    assert set(third.cached().values()) == {"local"}
    text = two.human(buildgrid.url, instance, "--refresh")
    assert human_lines(text) == human_lines(two.human(buildgrid.url, instance, "--no-cache"))


def test_human_summary_and_explain_say_remote(buildgrid: Server, instance: str,
                                              checkouts: tuple[Checkout, Checkout]) -> None:
    one, two = checkouts
    one.run(buildgrid.url, instance, **WRITE)
    text = two.human(buildgrid.url, instance)
    assert f"Cache: {len(ALL)} replayed ({len(ALL)} remote), 0 ran" in text
    explain = subprocess.run(
        [*two.argv(buildgrid.url, instance)[:3], "explain", str(two.root / "spec.hie"), "-w", str(two.root)],
        cwd=ROOT, env=two.env(), capture_output=True, text=True, timeout=60)
    assert explain.stdout.count("last run: replayed from the remote cache") == len(ALL), explain.stdout


def test_an_edit_reruns_only_its_checks_and_uploads_them(buildgrid: Server, instance: str, tmp_path: Path,
                                                          checkouts: tuple[Checkout, Checkout]) -> None:
    one, two = checkouts
    one.run(buildgrid.url, instance, **WRITE)
    two.write("docs/guide.md", "# Guide, edited on runner 2\n")
    before = one.calls()
    edited = two.run(buildgrid.url, instance, **WRITE)
    assert edited.ran() == {("docs", "ext.count_at_least(md, 2)")}
    assert one.calls()[len(before):] == ["started", "count_at_least 2"]

    # A third runner with the edit replays everything from the remote: the rerun verdict was uploaded.
    three = Checkout(tmp_path / "runner-3" / "repo", one.logs)
    three.write("docs/guide.md", "# Guide, edited on runner 2\n")
    before = one.calls()
    replay = three.run(buildgrid.url, instance)
    assert set(replay.cached().values()) == {"remote"}, replay.stderr
    assert one.calls() == before


def test_read_only_uploads_nothing(buildgrid: Server, instance: str, checkouts: tuple[Checkout, Checkout]) -> None:
    one, two = checkouts
    # No $CI: read-only by default; and explicitly read-only even with $CI.
    assert one.run(buildgrid.url, instance).ran() == ALL
    assert one.run(buildgrid.url, instance, "--remote-mode", "read-only", "--refresh", **WRITE).ran() == ALL
    assert two.run(buildgrid.url, instance).ran() == ALL  # nothing on the server to replay
    # ... whereas read-write does upload, so the test above would see it.
    one.run(buildgrid.url, instance, "--refresh", **WRITE)
    assert Checkout(two.root.parent / "fresh", one.logs).run(buildgrid.url, instance).ran() == set()


def test_entry_signed_with_another_key_is_ignored(buildgrid: Server, instance: str, tmp_path: Path,
                                                  checkouts: tuple[Checkout, Checkout]) -> None:
    one, two = checkouts
    one.run(buildgrid.url, instance, HIE_TASKS_REMOTE_SECRET="main-branch-key", **WRITE)
    forged = two.run(buildgrid.url, instance, HIE_TASKS_REMOTE_SECRET="another-key")
    assert forged.ran() == ALL  # every entry is a miss: none carries our signature
    # Unsigned entries are misses too when a key is set.
    unsigned_writer = Checkout(tmp_path / "w" / "repo", one.logs, spec=one.root.joinpath("spec.hie").read_text()
                               .replace("README.md')\n", "README.md')\n    check files.exists(f, 'x')\n"))
    unsigned_writer.run(buildgrid.url, instance, **WRITE)
    reader = Checkout(tmp_path / "r" / "repo", one.logs, spec=unsigned_writer.root.joinpath("spec.hie").read_text())
    signed_reader = reader.run(buildgrid.url, instance, HIE_TASKS_REMOTE_SECRET="main-branch-key")
    assert signed_reader.cached()[("readme", "files.exists(f, 'x')")] is False
    # With the right key the signed entries replay.
    right = Checkout(tmp_path / "third" / "repo", one.logs).run(
        buildgrid.url, instance, HIE_TASKS_REMOTE_SECRET="main-branch-key")
    assert set(right.cached().values()) == {"remote"}


def test_a_verdict_larger_than_the_batch_limit_round_trips(buildgrid: Server, instance: str,
                                                           tmp_path: Path) -> None:
    spec = "element big:\n    scope src = files.folder_selector('src')\n    check ext.big_fail(src, 5)\n"
    files = {"src/a.py": "A = 1\n"}
    one = Checkout(tmp_path / "a" / "repo", tmp_path / "logs", spec=spec, files=files)
    two = Checkout(tmp_path / "b" / "repo", tmp_path / "logs", spec=spec, files=files)
    first = one.run(buildgrid.url, instance, **WRITE)
    message = first.verdicts()[0][3]
    assert message is not None and len(message) > 5 * 1024 * 1024  # above BuildGrid's 4 MiB batch limit
    assert first.warnings() == [], first.stderr
    second = two.run(buildgrid.url, instance)
    assert second.cached() == {("big", "ext.big_fail(src, 5)"): "remote"}, second.stderr
    assert second.verdicts()[0][3] == message.replace(str(one.root), str(two.root))


def test_server_killed_mid_run_completes_with_one_warning(tmp_path: Path) -> None:
    server = start_server(tmp_path / "server", 1)
    try:
        spec = ("element slow:\n    scope src = files.folder_selector('src')\n    check ext.slow_pass(src, 3)\n"
                "element quick:\n    scope src = files.folder_selector('src')\n"
                "    check files.exists(src, 'a.py')\n    check files.exists(src, 'b.py')\n"
                "    check ext.count_at_least(src, 1)\n")
        one = Checkout(tmp_path / "repo", tmp_path / "logs", spec=spec, files={"src/a.py": "A = 1\n"})
        proc = subprocess.Popen(one.argv(server.url, "t0", "-j", "2"), cwd=ROOT, env=one.env(**WRITE),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while "slow_pass start" not in one.calls() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "slow_pass start" in one.calls()
        server.kill()
        out, err = proc.communicate(timeout=120)
    finally:
        server.kill()
    report = json.loads(out)
    assert proc.returncode == 1, err
    assert [(r["element"], r["status"]) for r in report["results"]] == [
        ("slow", "pass"), ("quick", "pass"), ("quick", "fail"), ("quick", "pass")]
    warnings = [line for line in err.splitlines() if line.startswith("warning: remote cache")]
    assert len(warnings) == 1, err
    assert "continuing without it" in warnings[0]
    # The local store still has every verdict.
    again = one.run("grpc://127.0.0.1:1", "t0")
    assert set(again.cached().values()) == {"local"}


def test_a_forged_run_manifest_cannot_swap_verdicts(buildgrid: Server, instance: str,
                                                    checkouts: tuple[Checkout, Checkout]) -> None:
    from hie_tasks.remote import entries
    from hie_tasks.remote.client import Client, open_channel
    from hie_tasks.remote.settings import RemoteSettings

    one, two = checkouts
    key = {"HIE_TASKS_REMOTE_SECRET": "main-branch-key"}
    one.run(buildgrid.url, instance, **key, **WRITE)
    conn = sqlite3.connect(one.root / ".hie-cache" / "results.sqlite")
    wanted = sorted(conn.execute("SELECT key, fingerprint FROM verdicts"))
    conn.close()
    # A writer without the key replaces the run manifest by one that maps each check to another's entry.
    settings = RemoteSettings(target=buildgrid.url.removeprefix("grpc://"), tls=False, instance=instance,
                              mode="read-write")
    client = Client(settings, open_channel(settings))
    digests = {k: entries.verdict_action(k, fp).digest for k, fp in wanted}
    results = client.get_action_results(list(digests.values()))
    files = {k: {f.path: f.digest for f in results[d.hash].output_files} for k, d in digests.items()}
    keys = [k for k, _fp in wanted]
    rotated = {k: files[keys[(i + 1) % len(keys)]] for i, k in enumerate(keys)}
    forged = entries.manifest_upload(rotated, entries.manifest_action(wanted))
    client.write_blobs(forged.blobs)
    client.update_action_results([(forged.action.digest, forged.result)])
    client.close()

    fresh = two.run(buildgrid.url, instance, "--no-cache")
    for env in (key, {}):  # with the key (signatures) and without it (fingerprints) the swap is refused
        shutil.rmtree(two.root / ".hie-cache", ignore_errors=True)
        replay = two.run(buildgrid.url, instance, **env)
        assert set(replay.cached().values()) == {"remote"}, replay.stderr  # each check's own entry
        assert replay.verdicts() == fresh.verdicts()


def test_pure_selector_answers_are_shared_and_rerooted(buildgrid: Server, instance: str, tmp_path: Path) -> None:
    from hie_tasks.incremental.session import MISS, IncrementalSession
    from hie_tasks.incremental.store import ResultStore
    from hie_tasks.libraries.base import CallContext
    from hie_tasks.model.values import Scope, ScopeKind
    from hie_tasks.remote.cache import RemoteCache
    from hie_tasks.remote.settings import RemoteSettings

    def session(ws: Path, mode: str) -> IncrementalSession:
        s = IncrementalSession(ResultStore(str(ws / ".hie-cache")))
        settings = RemoteSettings(target=buildgrid.url.removeprefix("grpc://"), tls=False, instance=instance,
                                  mode=mode, url=buildgrid.url)
        s.remote = RemoteCache(settings, warnings.append)
        s.begin_run()
        return s

    warnings: list[str] = []
    a, b = tmp_path / "a" / "repo", tmp_path / "b" / "elsewhere"
    for ws in (a, b):
        (ws / "src").mkdir(parents=True)
        (ws / "src" / "x.py").write_text("X = 1\n")
    args = '[{"String":"src"}]'
    writer = session(a, "read-write")
    assert writer.selector_lookup("wasm:pure", "pick", args, str(a)) is MISS
    writer.selector_record("wasm:pure", "pick", args, Scope(ScopeKind.folder("src"), (str(a / "src" / "x.py"),)),
                           CallContext(str(a)))
    writer.close()  # waits for the upload

    reader = session(b, "read-only")
    value = reader.selector_lookup("wasm:pure", "pick", args, str(b))
    assert value == Scope(ScopeKind.folder("src"), (str(b / "src" / "x.py"),))  # re-rooted at b
    assert reader.selector_lookup("wasm:other", "pick", args, str(b)) is MISS
    reader.close()
    assert warnings == []
