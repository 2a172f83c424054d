"""The shared verdict cache over the Remote Execution API (REAPI v2): one room, entered through `attach`.

`settings` (flags, environment, `[cache]`), `entries` (verdicts as Actions and CAS blobs, signatures),
`client` (the gRPC calls), `cache` (what the incremental session talks to), `proto/` (vendored protos and
their generated modules, `python -m hie_tasks.remote.regen`). Needs the `remote` extra (grpcio, protobuf).
"""
