"""Plain record classes: what `@dataclass` gave the engine's data classes, without its import cost.

`dataclasses` imports `inspect` (and with it `ast`, `dis`, `tokenize`) and runs `exec` for every decorated
class; `typing.NamedTuple` generates code too. The run memo's partial rerun (hie_tasks/replay/partial.py)
imports the runner, the session, the store and the `files` library each time, so those costs were a large
part of its start-up. A record class lists its fields once, as its `__slots__` in declaration order, and
writes its own `__init__` with exactly the dataclass's parameters (a generic one would be slower than the
generated one was, and a cold run builds tens of thousands of records). From the field list it inherits
what dataclasses generated: `__repr__`, `__eq__`, and `__hash__` for a `FrozenRecord` (a `Record` is
unhashable), plus `replace` for what `dataclasses.replace` did and a fast `__copy__`.

Standard library only, and no `typing` at run time.
"""

from __future__ import annotations

import collections
import reprlib
from operator import attrgetter, itemgetter

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar, Protocol, TypeVar

    R = TypeVar("R", bound="_Fields")

    class _Getter(Protocol):
        """The tuple of some of an object's attributes. Stored on a class, such a callable must not be a
        function (it would become a method bound to the instance it is read from): `attrgetter` and
        `_Values` are not."""

        def __call__(self, obj: object, /) -> tuple[Any, ...]: ...

__all__ = ["FrozenRecord", "Record", "TupleRecord", "tuple_field", "tuple_new"]


class _Values:
    """`attrgetter` for fewer than two names (it gives a bare value for one and refuses none)."""

    __slots__ = ("_names",)

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = names

    def __call__(self, obj: object, /) -> tuple[Any, ...]:
        return tuple([getattr(obj, name) for name in self._names])


def _getter(names: tuple[str, ...]) -> _Getter:
    return attrgetter(*names) if len(names) >= 2 else _Values(names)


class _Fields:
    """What `Record` and `FrozenRecord` share: equality by value over the compared fields, a dataclass-style
    repr, `replace` and `__copy__`.

    Subclasses set `__slots__` to their fields in declaration order, and `_uncompared` to the fields
    equality ignores (`field(compare=False)`). A subclass that declares no `__slots__` of its own keeps its
    parent's fields.
    """

    __slots__ = ()

    #: every field, in declaration order (`__init__`'s parameters have these names)
    _fields: ClassVar[tuple[str, ...]] = ()
    #: fields left out of equality and hashing
    _uncompared: ClassVar[tuple[str, ...]] = ()
    #: fields left out of hashing only (`field(hash=False)`)
    _unhashed: ClassVar[tuple[str, ...]] = ()
    #: an instance's values of the compared fields, of the hashed ones, of every field
    _compared: ClassVar[_Getter] = _Values(())
    _hashed: ClassVar[_Getter] = _Values(())
    _all: ClassVar[_Getter] = _Values(())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # What dataclasses generated per class, here derived from the field names at class creation: no
        # code is generated, and a class that needs a faster `__hash__` or `__eq__` may still write its own.
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__slots__")
        if own:
            # A string would be taken for one field name per character below.
            assert isinstance(own, tuple), f"{cls.__name__}.__slots__ must be a tuple of field names"
            cls._fields = own
        compared = tuple(name for name in cls._fields if name not in cls._uncompared)
        cls._compared = _getter(compared)
        cls._hashed = _getter(tuple(name for name in compared if name not in cls._unhashed))
        cls._all = _getter(cls._fields)

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        values = self._all(self)
        fields = ", ".join([f"{name}={value!r}" for name, value in zip(self._fields, values, strict=True)])
        return f"{self.__class__.__qualname__}({fields})"

    def __eq__(self, other: object) -> bool:
        # As dataclasses do it: only an instance of the very same class compares, field tuple to field tuple.
        if other.__class__ is self.__class__:
            return self._compared(self) == self._compared(other)
        return NotImplemented

    def replace(self: R, **changes: Any) -> R:
        """A copy with `changes` applied, built by `__init__` (what `dataclasses.replace` did)."""
        args = dict(zip(self._fields, self._all(self), strict=True))
        args.update(changes)
        factory: Callable[..., R] = self.__class__
        return factory(**args)

    def __copy__(self: R) -> R:
        """`copy.copy`: `__init__` given every field (its parameters are the fields, in order), a few times
        faster than the generic reduce protocol on slots."""
        factory: Callable[..., R] = self.__class__
        new = factory(*self._all(self))
        extra = getattr(self, "__dict__", None)  # a subclass without slots of its own has one
        if extra:
            new.__dict__.update(extra)
        return new


class Record(_Fields):
    """A record compared by value and unhashable, like a dataclass with `eq=True` that is not frozen."""

    __slots__ = ()

    __hash__ = None  # type: ignore[assignment]


class FrozenRecord(_Fields):
    """A record compared by value that hashes, like a `frozen=True` dataclass: over the compared fields not
    marked `_unhashed`. Nothing enforces immutability; nothing may rely on assignment failing."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._hashed(self))


#: `tuple.__new__`, looked up once: a tuple subclass's `__new__` calling it through this global is as fast as
#: the one a named tuple generates (which binds it the same way), `tuple.__new__` spelled out is not.
tuple_new = tuple.__new__

#: What `collections.namedtuple` gives its fields: a C descriptor where CPython has one.
_tuplegetter: Any = getattr(collections, "_tuplegetter", None)


def tuple_field(index: int, doc: str | None = None) -> Any:
    """A read-only attribute naming item `index` of a tuple subclass, as a named tuple's fields do."""
    if _tuplegetter is not None:
        return _tuplegetter(index, doc)
    return property(itemgetter(index), doc=doc)


class TupleRecord(tuple):  # type: ignore[type-arg]  # each subclass names its own item types
    """A tuple with named fields, for records built by the thousand (a parser's spans, a store's stat
    entries), where building a tuple costs a fraction of setting attributes. A subclass lists its field names
    in `_fields`, names each item with `tuple_field` and writes its own `__new__` calling `tuple_new`; this
    gives it what a named tuple had: the `Name(a=1, b='x')` repr and copying and pickling by fields."""

    __slots__ = ()

    _fields: ClassVar[tuple[str, ...]] = ()

    def __getnewargs__(self) -> tuple[Any, ...]:
        # copy and pickle call `__new__` with these: the fields, not the one tuple `tuple`'s would give.
        return tuple(self)

    def __repr__(self) -> str:
        fields = ", ".join([f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True)])
        return f"{self.__class__.__qualname__}({fields})"

