"""`StrChoice`: what `class X(str, enum.Enum)` gave the model's enumerations, without importing `enum`.

`enum` is the largest standard-library import left on the path of a run that reruns the two checks of an
edited file (hie_tasks/replay/partial.py): ~1.2 ms, for the five small string enumerations that path uses
(`Status`, `ScopeKindTag`, `ValueKind`, `Severity`, `Purity`). A `StrChoice` subclass lists its members as
upper-case class attributes with string values, as an enum does, and gets what the code and the tests use
of one:
- each member is an instance of the class and a `str` equal to its value, created once: `X("v")` and
  `X(X.MEMBER)` give the member itself (else `ValueError`), `X["MEMBER"]` looks it up by name;
- `.name`, `.value` (a plain `str`), iteration in definition order, `len`, `__members__`;
- `repr`, `str` and f-strings as Python 3.11's and 3.13's enums write them (`<Status.PASS: 'pass'>`,
  `Status.PASS`); copying keeps the member and pickling names it by value.

mypy sees `enum.Enum` instead (the `TYPE_CHECKING` branch), so member types, exhaustiveness and `.value`
are checked as before. What differs at run time: a member hashes as its value does (an enum hashes its
name), and `isinstance(member, enum.Enum)` is false.
"""

from __future__ import annotations

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

__all__ = ["StrChoice"]

if TYPE_CHECKING:
    import enum

    class StrChoice(str, enum.Enum):
        """Seen by mypy: a string enumeration without members, to be subclassed."""

else:
    from types import MappingProxyType

    class _Choices(type):
        """The class of `StrChoice` classes: makes the members, and looks them up by value and by name."""

        def __new__(mcs, name, bases, namespace):
            values = {key: value for key, value in namespace.items()
                      if key.isupper() and not key.startswith("_") and isinstance(value, str)}
            for key in values:
                del namespace[key]
            cls = super().__new__(mcs, name, bases, namespace)
            members = {}
            for key, value in values.items():
                member = str.__new__(cls, value)
                member._name_, member._value_ = key, value
                members[key] = member
                type.__setattr__(cls, key, member)
            type.__setattr__(cls, "__members__", MappingProxyType(members))
            type.__setattr__(cls, "_by_value", {member._value_: member for member in members.values()})
            return cls

        def __call__(cls, value):
            member = cls._by_value.get(value)
            if member is None:
                raise ValueError(f"{value!r} is not a valid {cls.__qualname__}")
            return member

        def __getitem__(cls, name):
            return cls.__members__[name]

        def __iter__(cls):
            return iter(cls.__members__.values())

        def __len__(cls):
            return len(cls.__members__)

        def __setattr__(cls, name, value):
            if name in cls.__dict__.get("__members__", ()):
                raise AttributeError(f"cannot reassign member {name!r}")
            super().__setattr__(name, value)

    class StrChoice(str, metaclass=_Choices):
        """A string enumeration's base class: see the module's text."""

        @property
        def name(self):
            return self._name_

        @property
        def value(self):
            return self._value_

        def __repr__(self):
            return f"<{type(self).__name__}.{self._name_}: {self._value_!r}>"

        def __str__(self):
            return f"{type(self).__name__}.{self._name_}"

        def __format__(self, spec):
            return format(str(self), spec)

        def __reduce_ex__(self, protocol):
            return type(self), (self._value_,)

        def __copy__(self):
            return self

        def __deepcopy__(self, memo):
            return self

        __hash__ = str.__hash__
