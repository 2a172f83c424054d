"""The remote verdict cache as the incremental session sees it: fetch many, offer one, never fail a run.

Contract (`hie_tasks.incremental.session.RemoteVerdicts`):
- `fetch` takes the checks the local store could not replay and returns the verified remote entries:
  GetActionResult a few at a time, then every referenced blob in batched reads. An entry that is damaged,
  not ours or (with `$HIE_TASKS_REMOTE_SECRET`) unsigned or signed with another key is a miss.
- `offer` queues an entry; a background thread uploads (FindMissingBlobs, BatchUpdateBlobs or ByteStream,
  then UpdateActionResult) while the run goes on. `close` waits for the queue (bounded) at the end.
- Capabilities are asked first: no SHA-256 → off; updates disabled → read-only; each said once.
- UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED (or any other failure): one warning, and the remote is
  off for the rest of the run; lookups are then misses and nothing more is uploaded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from hie_tasks.incremental.store import StoredSelector, StoredVerdict
from hie_tasks.remote import entries
from hie_tasks.remote.client import Client, open_channel
from hie_tasks.remote.proto import remote_execution_pb2 as re_pb2
from hie_tasks.remote.settings import RemoteSettings

#: How long `close` waits for queued uploads before giving up on them (and saying so).
DRAIN_TIMEOUT_S = 60.0
_UPLOAD_BATCH = 64
_TRANSIENT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED)


@dataclass
class Stats:
    looked_up: int = 0
    hits: int = 0
    rejected: int = 0
    uploaded: int = 0
    rejected_reasons: list[str] = field(default_factory=list)


class RemoteCache:
    def __init__(self, settings: RemoteSettings, warn: Callable[[str], None]) -> None:
        self.settings = settings
        self._warn = warn
        self.stats = Stats()
        self.reads = True
        self.writes = settings.writes
        self._client: Client | None = None
        self._started = False
        self._lock = threading.Lock()
        self._queue: queue.Queue[entries.Upload | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._said: set[str] = set()
        #: this run's verdict entries (fetched or uploaded): storage key → (fingerprint, output files)
        self._entries: dict[str, tuple[str, dict[str, re_pb2.Digest]]] = {}
        #: what the last `fetch` asked for: a manifest of it is uploaded at `close` when all of it is known
        self._wanted: list[tuple[str, str]] = []
        self._closed = False

    # -- state -------------------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        with self._lock:
            if text in self._said:
                return
            self._said.add(text)
        self._warn(f"remote cache {self.settings.url}: {text}")

    def _off(self, exc: BaseException, during: str) -> None:
        with self._lock:
            was_on = self.reads or self.writes
            self.reads = self.writes = False
        if not was_on:
            return
        if isinstance(exc, grpc.RpcError):
            code = exc.code()
            detail = (exc.details() or "").splitlines()[0][:200] if exc.details() else ""
            what = f"{code.name if code is not None else 'error'}{': ' + detail if detail else ''}"
            if code in _TRANSIENT:
                why = f"{what} while {during}"
            else:
                why = f"{what} while {during} (check the URL, --remote-instance and the token)"
        else:
            why = f"{exc} while {during}"
        self._say(f"{why}; continuing without it for the rest of this run (verdicts are computed locally)")

    def _ready(self) -> Client | None:
        with self._lock:
            started, self._started = self._started, True
        if started:
            return self._client if (self.reads or self.writes) else None
        try:
            client = Client(self.settings, open_channel(self.settings))
        except OSError as exc:
            self._off(OSError(f"cannot read a TLS file: {exc}"), "connecting")
            return None
        try:
            info = client.capabilities()
        except grpc.RpcError as exc:
            self._off(exc, "asking for its capabilities")
            client.close()
            return None
        if not info.sha256:
            self._say("the server does not offer SHA-256 digests; remote cache off")
            self.reads = self.writes = False
            client.close()
            return None
        if self.writes and not info.updates:
            self._say("the server does not accept action-cache updates; using it read-only")
            self.writes = False
        self._client = client
        return client

    # -- reading -----------------------------------------------------------------------------------------

    def _fetch(self, actions: dict[str, entries.ActionBlobs], wanted: tuple[str, ...]
               ) -> dict[str, tuple[dict[str, re_pb2.Digest], dict[str, bytes]]]:
        client = self._ready()
        if client is None or not self.reads or not actions:
            return {}
        self.stats.looked_up += len(actions)
        try:
            results = client.get_action_results([a.digest for a in actions.values()])
            files: dict[str, dict[str, re_pb2.Digest]] = {}
            for key, action in actions.items():
                result = results.get(action.digest.hash)
                if result is None:
                    continue
                try:
                    files[key] = entries.output_digests(result, wanted)
                except entries.BadEntry as exc:
                    self._reject(str(exc))
            blobs = client.read_blobs([d for f in files.values() for d in f.values()])
        except grpc.RpcError as exc:
            self._off(exc, "looking up verdicts")
            return {}
        out = {}
        for key, f in files.items():
            try:
                entries.check_signature(self.settings.secret, actions[key].digest, f, blobs)
            except entries.BadEntry as exc:
                self._reject(str(exc))
                continue
            out[key] = (f, blobs)
        return out

    def _reject(self, why: str) -> None:
        self.stats.rejected += 1
        self.stats.rejected_reasons.append(why)

    def _from_manifest(self, wanted: list[tuple[str, str]],
                       actions: dict[str, entries.ActionBlobs]) -> dict[str, tuple[dict[str, re_pb2.Digest], dict[str, bytes]]]:
        """The entries of a manifest for exactly this set of checks, when a runner uploaded one."""
        found = self._fetch({"": entries.manifest_action(wanted)}, (entries.MANIFEST_FILE,))
        if "" not in found:
            return {}
        files, blobs = found[""]
        try:
            listed = entries.parse_manifest(blobs[files[entries.MANIFEST_FILE].hash])
        except (entries.BadEntry, KeyError) as exc:
            self._reject(str(exc))
            return {}
        client = self._client
        if client is None:
            return {}
        try:
            data = client.read_blobs([d for key, f in listed.items() if key in actions for d in f.values()])
        except grpc.RpcError as exc:
            self._off(exc, "reading verdicts")
            return {}
        out = {}
        for key, f in listed.items():
            if key not in actions:
                continue
            try:
                entries.output_digests(re_pb2.ActionResult(output_files=[
                    re_pb2.OutputFile(path=n, digest=d) for n, d in f.items()]),
                    (entries.VERDICT_FILE, entries.DEPS_FILE, entries.OUTPUT_FILE))
                if any(d.hash not in data for d in f.values()):
                    continue  # evicted since: looked up on its own below
                entries.check_signature(self.settings.secret, actions[key].digest, f, data)
            except entries.BadEntry as exc:
                self._reject(str(exc))
                continue
            out[key] = (f, data)
        return out

    def expect(self, wanted: list[tuple[str, str]]) -> None:
        """The checks this run will offer (`--refresh`), for the manifest written at `close`."""
        self._wanted = list(wanted)

    def fetch(self, wanted: list[tuple[str, str]]) -> dict[str, StoredVerdict]:
        """{storage key: verdict} for the (storage key, fingerprint) pairs the remote has a valid entry for."""
        self._wanted = list(wanted)
        actions = {key: entries.verdict_action(key, fp) for key, fp in wanted}
        fingerprints = dict(wanted)
        out: dict[str, StoredVerdict] = {}

        def take(found: dict[str, tuple[dict[str, re_pb2.Digest], dict[str, bytes]]]) -> None:
            for key, (files, blobs) in found.items():
                try:
                    verdict = entries.parse_verdict(files, blobs)
                except entries.BadEntry as exc:
                    self._reject(str(exc))
                    continue
                if verdict.fingerprint != fingerprints[key]:
                    self._reject("fingerprint differs from its action")
                    continue
                out[key] = verdict
                with self._lock:
                    self._entries[key] = (verdict.fingerprint, files)

        if len(wanted) > 1:
            take(self._from_manifest(wanted, actions))
        # Whatever the manifest did not answer (absent, evicted, or refused) is looked up entry by entry.
        take(self._fetch({key: a for key, a in actions.items() if key not in out},
                         (entries.VERDICT_FILE, entries.DEPS_FILE, entries.OUTPUT_FILE)))
        self.stats.hits += len(out)
        return out

    def fetch_selector(self, key: str) -> StoredSelector | None:
        found = self._fetch({key: entries.selector_action(key)}, (entries.VALUE_FILE, entries.DEPS_FILE))
        if key not in found:
            return None
        try:
            return entries.parse_selector(*found[key])
        except entries.BadEntry as exc:
            self._reject(str(exc))
            return None

    # -- writing -----------------------------------------------------------------------------------------

    def offer(self, storage_key: str, verdict: StoredVerdict) -> None:
        if self.writes:
            upload = entries.verdict_upload(storage_key, verdict, self.settings.secret)
            with self._lock:
                self._entries[storage_key] = (verdict.fingerprint, {f.path: f.digest for f in upload.result.output_files})
            self._enqueue(upload)

    def _offer_manifest(self) -> None:
        """After the run: when every check the run looked up has an entry, one manifest names them all."""
        wanted = self._wanted
        if not self.writes or len(wanted) < 2:
            return
        with self._lock:
            known = {key: self._entries.get(key) for key, _fp in wanted}
        for key, fp in wanted:
            entry = known[key]
            if entry is None or entry[0] != fp:
                return
        files = {key: e[1] for key, e in known.items() if e is not None}
        self._enqueue(entries.manifest_upload(files, entries.manifest_action(wanted)))

    def offer_selector(self, key: str, row: StoredSelector) -> None:
        if self.writes:
            self._enqueue(entries.selector_upload(key, row, self.settings.secret))

    def _enqueue(self, upload: entries.Upload) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._upload_loop, name="hie-remote-upload", daemon=True)
                self._worker.start()
        self._queue.put(upload)

    def _upload_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < _UPLOAD_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._upload(batch)
                    return
                batch.append(more)
            self._upload(batch)

    def _upload(self, batch: list[entries.Upload]) -> None:
        client = self._ready()
        if client is None or not self.writes:
            return
        try:
            # The action, its command and every output blob are in the CAS before the result names them.
            client.write_blobs({h: data for u in batch for h, data in u.blobs.items()})
            client.update_action_results([(u.action.digest, u.result) for u in batch])
            self.stats.uploaded += len(batch)
        except grpc.RpcError as exc:
            self._off(exc, "uploading verdicts")
        except RuntimeError as exc:
            self._off(exc, "uploading verdicts")

    def close(self, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        if not self._closed:
            self._closed = True
            self._offer_manifest()  # queued last: uploaded after every entry it names
        worker = self._worker
        if worker is not None:
            self._queue.put(None)
            worker.join(timeout_s)
            if worker.is_alive():
                self._say(f"uploads still running after {timeout_s:.0f} s were abandoned")
        if self._client is not None:
            self._client.close()
            self._client = None
