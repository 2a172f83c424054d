"""The run-wide store of evaluated scopes and upstream's identifier-resolution rules.

Keys are `<element path>.<scope name>`; the store only grows during a run. Upstream resolves a bare name
to *any* key ending in `.<name>` by scanning a hash map, so among several candidates its choice is arbitrary.
We make it predictable: the current element first, then each enclosing element outwards, then the most
recently stored key ending in `.<name>`.
"""

from __future__ import annotations

from hie_tasks.model.values import Value


class ScopeStore:
    def __init__(self) -> None:
        # dicts keep insertion order; `_order` lets a re-stored key count as the most recent one
        self._values: dict[str, Value] = {}
        self._order: list[str] = []

    def put(self, key: str, value: Value) -> None:
        self._values[key] = value
        self._order.append(key)

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def get(self, key: str) -> Value:
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._values)

    def history(self) -> list[str]:
        """Every key in the order stored, a re-stored key again each time: `put`ting each with its value
        again rebuilds this store, name resolution included (the plan cache does)."""
        return list(self._order)

    def resolve_name(self, element_path: str, name: str) -> tuple[bool, Value]:
        """Resolve a bare identifier seen inside element `element_path`."""
        parts = element_path.split(".") if element_path else []
        for depth in range(len(parts), 0, -1):
            key = ".".join([*parts[:depth], name])
            if key in self._values:
                return True, self._values[key]
        return self._latest_with_suffix("." + name)

    def resolve_dotted(self, dotted: str) -> tuple[bool, Value]:
        """`a.b.c` used as a value: any stored key ending in the dotted text (or equal to it)."""
        if dotted in self._values:
            return True, self._values[dotted]
        return self._latest_with_suffix("." + dotted)

    def _latest_with_suffix(self, suffix: str) -> tuple[bool, Value]:
        for key in reversed(self._order):
            if key.endswith(suffix):
                return True, self._values[key]
        return False, None
