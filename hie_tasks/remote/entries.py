"""How a verdict (or a pure selector's answer) becomes a REAPI action and result, and back.

An entry is keyed by a real `Action` whose `Command` carries the content being cached — for a verdict
`["hie-tasks", "verdict", <storage key>, <fingerprint>]`, for a selector `["hie-tasks", "selector", <key>]` —
with a `salt` naming our entry schema, so a new schema never reads an old entry. The action digest is the
SHA-256 of the serialised Action. The answer lives in CAS blobs referenced as output files of the
`ActionResult` (never `stdout_raw`, which strict servers reject): `verdict.json` (or `value.json`),
`deps.json` (files and listings it depended on, workspace-relative), `output.json` (plugin output lines),
and, when `$HIE_TASKS_REMOTE_SECRET` is set, `signature`: the hex HMAC-SHA256 over the action digest and the
digests of the other blobs. With a key set, an entry without a valid signature is a miss.

Everything here is plain data; the gRPC calls live in `client.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from hie_tasks.incremental.store import StoredSelector, StoredVerdict, TreeRecord
from hie_tasks.remote.proto import remote_execution_pb2 as re_pb2

#: Names the entry schema; part of every Action, so a change of layout never reads an old entry.
SALT = b"hie-tasks remote entry schema 1"
VERDICT_FILE = "verdict.json"
VALUE_FILE = "value.json"
DEPS_FILE = "deps.json"
OUTPUT_FILE = "output.json"
SIGNATURE_FILE = "signature"
#: The empty Directory: our actions have no input root (their inputs are in the fingerprint).
EMPTY_DIGEST = re_pb2.Digest(hash=hashlib.sha256(b"").hexdigest(), size_bytes=0)


def digest_of(data: bytes) -> re_pb2.Digest:
    return re_pb2.Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


def _json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class ActionBlobs:
    """An action with the blobs it references: what must be in the CAS before UpdateActionResult."""

    digest: re_pb2.Digest
    action: bytes
    command: bytes


def make_action(arguments: list[str], outputs: list[str]) -> ActionBlobs:
    command = re_pb2.Command(arguments=arguments, output_paths=outputs).SerializeToString(deterministic=True)
    action = re_pb2.Action(command_digest=digest_of(command), input_root_digest=EMPTY_DIGEST, salt=SALT)
    data = action.SerializeToString(deterministic=True)
    return ActionBlobs(digest_of(data), data, command)


def verdict_action(storage_key: str, fingerprint: str) -> ActionBlobs:
    outputs = [VERDICT_FILE, DEPS_FILE, OUTPUT_FILE, SIGNATURE_FILE]
    return make_action(["hie-tasks", "verdict", storage_key, fingerprint], outputs)


def selector_action(selector_key: str) -> ActionBlobs:
    return make_action(["hie-tasks", "selector", selector_key], [VALUE_FILE, DEPS_FILE, SIGNATURE_FILE])


MANIFEST_FILE = "manifest.json"


def manifest_action(wanted: list[tuple[str, str]]) -> ActionBlobs:
    """The action naming a whole run's set of (storage key, fingerprint) pairs: one GetActionResult then
    answers thousands of checks (REAPI has no batch GetActionResult)."""
    listing = hashlib.sha256(_json(sorted(wanted))).hexdigest()
    return make_action(["hie-tasks", "manifest", listing], [MANIFEST_FILE])


def manifest_upload(files: dict[str, dict[str, re_pb2.Digest]], action: ActionBlobs) -> Upload:
    """A manifest: for each storage key, the output files of its verdict entry (each entry keeps its own
    signature, which covers its action digest, so a manifest cannot vouch for anything by itself)."""
    body = _json({key: {name: [d.hash, d.size_bytes] for name, d in f.items()} for key, f in files.items()})
    return _upload(action, {MANIFEST_FILE: body}, None)


def parse_manifest(data: bytes) -> dict[str, dict[str, re_pb2.Digest]]:
    try:
        raw = json.loads(data.decode())
        return {str(k): {str(n): re_pb2.Digest(hash=str(h), size_bytes=int(s)) for n, (h, s) in f.items()}
                for k, f in raw.items()}
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise BadEntry(f"malformed manifest: {exc}") from None


def sign(secret: bytes, action: re_pb2.Digest, files: dict[str, re_pb2.Digest]) -> bytes:
    text = action.hash + "".join(f"\n{name}={d.hash}/{d.size_bytes}" for name, d in sorted(files.items()))
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest().encode()


@dataclass
class Upload:
    """An entry ready to write: the action, the result's output files, and every blob by hash."""

    action: ActionBlobs
    result: re_pb2.ActionResult
    blobs: dict[str, bytes]


def _upload(action: ActionBlobs, files: dict[str, bytes], secret: bytes | None) -> Upload:
    digests = {name: digest_of(data) for name, data in files.items()}
    if secret is not None:
        signature = sign(secret, action.digest, digests)
        files = {**files, SIGNATURE_FILE: signature}
        digests[SIGNATURE_FILE] = digest_of(signature)
    result = re_pb2.ActionResult(exit_code=0, output_files=[
        re_pb2.OutputFile(path=name, digest=digests[name]) for name in sorted(files)
    ])
    blobs = {digests[name].hash: data for name, data in files.items()}
    blobs[action.digest.hash] = action.action
    blobs[digest_of(action.command).hash] = action.command
    return Upload(action, result, blobs)


def _deps_json(deps: dict[str, str], trees: list[TreeRecord]) -> bytes:
    return _json({"files": deps, "trees": [[r, list(s), list(e), d] for r, s, e, d in trees]})


def verdict_upload(storage_key: str, v: StoredVerdict, secret: bytes | None) -> Upload:
    verdict = {"status": v.status, "message": v.message, "duration_ms": v.duration_ms,
               "fingerprint": v.fingerprint, "breakdown": v.breakdown}
    files = {VERDICT_FILE: _json(verdict), DEPS_FILE: _deps_json(v.deps, v.trees), OUTPUT_FILE: _json(v.output)}
    return _upload(verdict_action(storage_key, v.fingerprint), files, secret)


def selector_upload(selector_key: str, s: StoredSelector, secret: bytes | None) -> Upload:
    files = {VALUE_FILE: s.value_json.encode(), DEPS_FILE: _deps_json(s.deps, s.trees)}
    return _upload(selector_action(selector_key), files, secret)


class BadEntry(Exception):
    """An entry that is not ours, is damaged, or is not signed with our key: treated as a miss."""


def output_digests(result: re_pb2.ActionResult, wanted: tuple[str, ...]) -> dict[str, re_pb2.Digest]:
    found = {f.path: f.digest for f in result.output_files}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise BadEntry(f"no {', '.join(missing)} in the action result")
    return found


def check_signature(secret: bytes | None, action: re_pb2.Digest, files: dict[str, re_pb2.Digest],
                    blobs: dict[str, bytes]) -> None:
    if secret is None:
        return
    signed = files.get(SIGNATURE_FILE)
    if signed is None:
        raise BadEntry("unsigned entry (a signing key is set)")
    expected = sign(secret, action, {n: d for n, d in files.items() if n != SIGNATURE_FILE})
    if not hmac.compare_digest(blobs.get(signed.hash, b""), expected):
        raise BadEntry("entry signed with another key")


def _load(blobs: dict[str, bytes], digest: re_pb2.Digest) -> Any:
    try:
        return json.loads(blobs[digest.hash].decode())
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        raise BadEntry(f"unreadable blob {digest.hash[:12]}: {exc}") from None


def _trees(raw: Any) -> list[TreeRecord]:
    return [(str(r), tuple(map(str, s)), tuple(map(str, e)), str(d)) for r, s, e, d in raw]


def _deps(raw: Any) -> tuple[dict[str, str], list[TreeRecord]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("files"), dict):
        raise BadEntry("malformed deps.json")
    try:
        return {str(k): str(v) for k, v in raw["files"].items()}, _trees(raw.get("trees", []))
    except (TypeError, ValueError) as exc:
        raise BadEntry(f"malformed deps.json: {exc}") from None


def parse_verdict(files: dict[str, re_pb2.Digest], blobs: dict[str, bytes]) -> StoredVerdict:
    verdict = _load(blobs, files[VERDICT_FILE])
    deps, trees = _deps(_load(blobs, files[DEPS_FILE]))
    output = _load(blobs, files[OUTPUT_FILE])
    try:
        message = verdict["message"]
        if not (isinstance(verdict["status"], str) and (message is None or isinstance(message, str))
                and isinstance(output, list) and all(isinstance(line, str) for line in output)
                and isinstance(verdict["breakdown"], dict)):
            raise BadEntry("malformed verdict.json")
        return StoredVerdict(
            fingerprint=str(verdict["fingerprint"]), breakdown={str(k): str(v) for k, v in verdict["breakdown"].items()},
            deps=deps, trees=trees, status=verdict["status"], message=message,
            duration_ms=float(verdict["duration_ms"]), output=list(output),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadEntry(f"malformed verdict.json: {exc}") from None


def parse_selector(files: dict[str, re_pb2.Digest], blobs: dict[str, bytes]) -> StoredSelector:
    try:
        value = blobs[files[VALUE_FILE].hash].decode()
        json.loads(value)
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        raise BadEntry(f"malformed value.json: {exc}") from None
    deps, trees = _deps(_load(blobs, files[DEPS_FILE]))
    return StoredSelector(value, deps, trees)
