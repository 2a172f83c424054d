"""The REAPI calls a cache client makes, over one gRPC channel.

Capabilities first; action-cache reads a few at a time (there is no batch GetActionResult); CAS reads and
writes batched up to the server's `max_batch_total_size_bytes` (4 MiB when it advertises none) and streamed
through ByteStream above it. Every call carries the instance name, the caller's headers and a deadline.
`grpc.RpcError` escapes to the caller (`cache.py`), which decides what a failure means for the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import grpc

from hie_tasks.remote.proto import bytestream_pb2 as bs_pb2
from hie_tasks.remote.proto import bytestream_pb2_grpc as bs_grpc
from hie_tasks.remote.proto import remote_execution_pb2 as re_pb2
from hie_tasks.remote.proto import remote_execution_pb2_grpc as re_grpc
from hie_tasks.remote.settings import RemoteSettings

DEFAULT_BATCH_LIMIT = 4 * 1024 * 1024
#: Room left in a batch for the request's own framing (digests, instance name, protobuf tags).
_BATCH_OVERHEAD = 64 * 1024
#: Concurrent GetActionResult calls in flight.
IN_FLIGHT = 16
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ServerInfo:
    sha256: bool
    updates: bool
    batch_limit: int


def _read_file(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as fh:
        return fh.read()


def open_channel(settings: RemoteSettings) -> grpc.Channel:
    """Raises OSError when a TLS file cannot be read."""
    options = [("grpc.max_receive_message_length", 64 * 1024 * 1024),
               ("grpc.max_send_message_length", 64 * 1024 * 1024)]
    if not settings.tls:
        return grpc.insecure_channel(settings.target, options=options)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read_file(settings.ca_file), private_key=_read_file(settings.key_file),
        certificate_chain=_read_file(settings.cert_file),
    )
    return grpc.secure_channel(settings.target, credentials, options=options)


class Client:
    def __init__(self, settings: RemoteSettings, channel: grpc.Channel) -> None:
        self.settings = settings
        self.instance = settings.instance
        self._channel = channel
        self._metadata = settings.headers
        self._ac = re_grpc.ActionCacheStub(channel)  # type: ignore[no-untyped-call]
        self._cas = re_grpc.ContentAddressableStorageStub(channel)  # type: ignore[no-untyped-call]
        self._caps = re_grpc.CapabilitiesStub(channel)  # type: ignore[no-untyped-call]
        self._bytes = bs_grpc.ByteStreamStub(channel)  # type: ignore[no-untyped-call]
        self.batch_limit = DEFAULT_BATCH_LIMIT

    @property
    def _timeout(self) -> float:
        return self.settings.timeout_s

    def capabilities(self) -> ServerInfo:
        caps = self._caps.GetCapabilities(re_pb2.GetCapabilitiesRequest(instance_name=self.instance),
                                          timeout=self._timeout, metadata=self._metadata).cache_capabilities
        functions = list(caps.digest_functions)
        limit = caps.max_batch_total_size_bytes or DEFAULT_BATCH_LIMIT
        self.batch_limit = limit
        return ServerInfo(sha256=re_pb2.DigestFunction.SHA256 in functions,
                          updates=caps.action_cache_update_capabilities.update_enabled, batch_limit=limit)

    # -- action cache ------------------------------------------------------------------------------------

    def get_action_results(self, digests: list[re_pb2.Digest]) -> dict[str, re_pb2.ActionResult]:
        """Results by action hash; NOT_FOUND is simply absent. Other errors raise (after the calls in flight)."""
        found: dict[str, re_pb2.ActionResult] = {}
        pending: list[tuple[re_pb2.Digest, grpc.Future]] = []
        error: grpc.RpcError | None = None

        def settle(entry: tuple[re_pb2.Digest, grpc.Future]) -> None:
            nonlocal error
            digest, future = entry
            try:
                found[digest.hash] = future.result()
            except grpc.RpcError as exc:
                if exc.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.OUT_OF_RANGE) and error is None:
                    error = exc

        for digest in digests:
            if error is not None:
                break
            request = re_pb2.GetActionResultRequest(instance_name=self.instance, action_digest=digest,
                                                    digest_function=re_pb2.DigestFunction.SHA256)
            pending.append((digest, self._ac.GetActionResult.future(request, timeout=self._timeout,
                                                                     metadata=self._metadata)))
            if len(pending) >= IN_FLIGHT:
                settle(pending.pop(0))
        for entry in pending:
            settle(entry)
        if error is not None:
            raise error
        return found

    def update_action_results(self, items: list[tuple[re_pb2.Digest, re_pb2.ActionResult]]) -> None:
        """UpdateActionResult for each, a few in flight; the first failure raises (after those in flight)."""
        pending: list[grpc.Future] = []
        error: grpc.RpcError | None = None

        def settle(future: grpc.Future) -> None:
            nonlocal error
            try:
                future.result()
            except grpc.RpcError as exc:
                error = error or exc

        for digest, result in items:
            if error is not None:
                break
            request = re_pb2.UpdateActionResultRequest(
                instance_name=self.instance, action_digest=digest, action_result=result,
                digest_function=re_pb2.DigestFunction.SHA256)
            pending.append(self._ac.UpdateActionResult.future(request, timeout=self._timeout, metadata=self._metadata))
            if len(pending) >= IN_FLIGHT:
                settle(pending.pop(0))
        for future in pending:
            settle(future)
        if error is not None:
            raise error

    # -- CAS ---------------------------------------------------------------------------------------------

    def _batches(self, digests: Iterable[re_pb2.Digest]) -> Iterator[list[re_pb2.Digest]]:
        limit = self.batch_limit - _BATCH_OVERHEAD
        batch: list[re_pb2.Digest] = []
        size = 0
        for d in digests:
            if batch and size + d.size_bytes > limit:
                yield batch
                batch, size = [], 0
            batch.append(d)
            size += d.size_bytes
        if batch:
            yield batch

    def _small(self, digest: re_pb2.Digest) -> bool:
        return digest.size_bytes <= self.batch_limit - _BATCH_OVERHEAD

    def read_blobs(self, digests: list[re_pb2.Digest]) -> dict[str, bytes]:
        """Blobs by hash, each verified against its digest; missing or damaged blobs are absent."""
        unique = {d.hash: d for d in digests if d.size_bytes > 0}
        out: dict[str, bytes] = {d.hash: b"" for d in digests if d.size_bytes == 0}
        small = [d for d in unique.values() if self._small(d)]
        for batch in self._batches(small):
            response = self._cas.BatchReadBlobs(
                re_pb2.BatchReadBlobsRequest(instance_name=self.instance, digests=batch,
                                             digest_function=re_pb2.DigestFunction.SHA256),
                timeout=self._timeout, metadata=self._metadata)
            for r in response.responses:
                if r.status.code == 0:
                    out[r.digest.hash] = r.data
        for d in unique.values():
            if not self._small(d):
                data = self._stream_read(d)
                if data is not None:
                    out[d.hash] = data
        from hie_tasks.remote.entries import digest_of

        return {h: data for h, data in out.items() if digest_of(data).hash == h}

    def _stream_read(self, digest: re_pb2.Digest) -> bytes | None:
        prefix = f"{self.instance}/" if self.instance else ""
        name = f"{prefix}blobs/{digest.hash}/{digest.size_bytes}"
        chunks: list[bytes] = []
        try:
            for response in self._bytes.Read(bs_pb2.ReadRequest(resource_name=name), timeout=self._timeout,
                                             metadata=self._metadata):
                chunks.append(response.data)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return b"".join(chunks)

    def missing(self, digests: list[re_pb2.Digest]) -> list[re_pb2.Digest]:
        out: list[re_pb2.Digest] = []
        for start in range(0, len(digests), 4000):
            response = self._cas.FindMissingBlobs(
                re_pb2.FindMissingBlobsRequest(instance_name=self.instance, blob_digests=digests[start:start + 4000],
                                               digest_function=re_pb2.DigestFunction.SHA256),
                timeout=self._timeout, metadata=self._metadata)
            out.extend(response.missing_blob_digests)
        return out

    def write_blobs(self, blobs: dict[str, bytes]) -> None:
        """Upload what the server lacks; raises grpc.RpcError, or RuntimeError naming a rejected blob."""
        from hie_tasks.remote.entries import digest_of

        digests = [digest_of(data) for data in blobs.values() if data]
        lacking = self.missing(digests)
        small = [d for d in lacking if self._small(d)]
        for batch in self._batches(small):
            requests = [re_pb2.BatchUpdateBlobsRequest.Request(digest=d, data=blobs[d.hash]) for d in batch]
            response = self._cas.BatchUpdateBlobs(
                re_pb2.BatchUpdateBlobsRequest(instance_name=self.instance, requests=requests,
                                               digest_function=re_pb2.DigestFunction.SHA256),
                timeout=self._timeout, metadata=self._metadata)
            for r in response.responses:
                if r.status.code != 0:
                    raise RuntimeError(f"the server rejected blob {r.digest.hash[:12]}: {r.status.message}")
        for d in lacking:
            if not self._small(d):
                self._stream_write(d, blobs[d.hash])

    def _stream_write(self, digest: re_pb2.Digest, data: bytes) -> None:
        prefix = f"{self.instance}/" if self.instance else ""
        name = f"{prefix}uploads/{uuid.uuid4()}/blobs/{digest.hash}/{digest.size_bytes}"

        def requests() -> Iterator[bs_pb2.WriteRequest]:
            for offset in range(0, len(data), _CHUNK):
                chunk = data[offset:offset + _CHUNK]
                yield bs_pb2.WriteRequest(resource_name=name if offset == 0 else "", write_offset=offset,
                                          finish_write=offset + len(chunk) >= len(data), data=chunk)

        self._bytes.Write(requests(), timeout=self._timeout, metadata=self._metadata)

    def close(self) -> None:
        self._channel.close()
