"""The run memo's key is a function of the request's values alone (hie_tasks/replay/memo.py)."""

from __future__ import annotations

import marshal

from hie_tasks.replay.memo import _key


def test_the_same_arguments_give_the_same_key_however_they_were_built() -> None:
    # Equal lists whose strings are one object twice, or two equal objects: marshal tells them apart (it
    # writes a back-reference for the second), so a key made of marshal's bytes differed between a
    # `python -m hie_tasks` run and the same request made by a launcher.
    shared = "--cache-dir-" + "x" * 8
    twice = ["run", shared, shared]
    apart = ["run", shared, "".join(list(shared))]
    assert twice == apart and marshal.dumps(twice) != marshal.dumps(apart)
    assert _key(twice) == _key(apart)
    assert _key(["run", "a"]) != _key(["run", "b"])
