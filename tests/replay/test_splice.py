"""The partial rerun's byte surgery (hie_tasks/replay/partial.py): entries located by offset and replaced in
place must give exactly what joining the new entries gives, and the new offsets must locate them again."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hie_tasks.replay.partial import decode_value, encode_value, offsets, splice

SEP = b",\n    "
entries_st = st.lists(st.binary(min_size=0, max_size=40), min_size=1, max_size=12)


@given(entries_st, st.data())
def test_spliced_entries_equal_the_joined_new_ones(entries: list[bytes], data: st.DataObject) -> None:
    head, tail, new_head = b"HEAD[", b"]TAIL\n", data.draw(st.binary(max_size=20))
    body = head + SEP.join(entries) + tail
    starts, ends = offsets(head, entries, SEP)
    assert [body[s:e] for s, e in zip(starts, ends, strict=True)] == entries
    chosen = data.draw(st.sets(st.integers(0, len(entries) - 1)))
    new = {i: data.draw(st.binary(max_size=40)) for i in chosen}
    out, new_starts, new_ends = splice(body, starts, ends, new, new_head)
    expected = [new.get(i, e) for i, e in enumerate(entries)]
    assert out == new_head + SEP.join(expected) + tail
    assert [out[s:e] for s, e in zip(new_starts, new_ends, strict=True)] == expected


def test_check_arguments_survive_the_round_trip() -> None:
    from hie_tasks.model.values import ConnectionPoint, Scope, ScopeKind

    scope = Scope(ScopeKind.folder("src"), ("/ws/src/a.py", "/ws/src/sub/b.py"), True)
    other = Scope(ScopeKind.file("x"), (), False)
    point = ConnectionPoint("api", "rest", {"port": 8080})
    values = [scope, [other, "text", 3, 2.5, True, None], point]
    assert decode_value(encode_value(values)) == values
