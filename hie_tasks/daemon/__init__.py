"""The daemon: a warm process per (workspace, spec) that answers `hie-tasks run` in milliseconds.

`hie-tasks daemon start` (or `hie-tasks watch`) keeps the configuration, the registry (plugin processes,
compiled WASM modules), the parsed spec, the plan, the result store and a journal of file changes from
watchdog in memory. `hie-tasks run` first asks it (`client.serve_run`); the daemon brings its state up to
date with the journal and runs the very code of a standalone run on it, so the answer is the same text,
byte for byte apart from durations. Whenever the daemon cannot be sure — no daemon, another version,
another environment, events lost, any error at all — the client silently runs standalone.

Rooms: `protocol` (framing, socket location, identity; standard library only), `wire` (the messages'
JSON, without the `json` module and the `re` it brings), `client` (what `run` imports: standard library
only, a few milliseconds), `server` (the socket loop), `serving` (a run request executed on the warm state).

Protocol (version `PROTOCOL`): one request per connection over a Unix stream socket. Every message is a
4-byte big-endian length followed by that many bytes of UTF-8 JSON (an object). The request carries the
handshake with it — `protocol`, `version` (hie-tasks), `package` (where hie_tasks is installed), the
workspace and spec it is about and the caller's environment — so there is no extra round trip; the
daemon answers `{"status": "stale"}` when any of them differs from its own, `{"status": "declined"}` when
it does not serve that request (an option it does not keep warm, a broken spec), `{"status": "ok",
"exit": N, "output": [[fd, text], ...]}` with the run's output chunks in the order they were written.
The client checks the answer's `protocol` and `version` too.

Access: the socket lives in a per-user directory (`$XDG_RUNTIME_DIR/hie-tasks` or
`$TMPDIR/hie-tasks-<uid>`), mode 0700, which both sides refuse to use unless it is a real directory owned
by the user with no group or other permission bits; the socket itself is 0600, and each side checks the
peer's uid (SO_PEERCRED) on every connection.
"""
