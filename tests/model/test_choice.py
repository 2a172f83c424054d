"""`model.choice.StrChoice` behaves as the `class X(str, enum.Enum)` it replaced, in everything the code and
the output formats use: members, lookup, text forms, copying and pickling, JSON."""

from __future__ import annotations

import copy
import enum
import json
import pickle
from typing import Any

import pytest

from hie_tasks.diagnostics import Severity
from hie_tasks.libraries.base import Purity
from hie_tasks.model.choice import StrChoice
from hie_tasks.model.values import ScopeKindTag, Status, ValueKind


class _Enum(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"


class _Choice(StrChoice):
    PASS = "pass"
    FAIL = "fail"


def _facts(cls: Any) -> dict[str, Any]:
    member = cls.PASS
    name = cls.__name__
    return {
        "repr": repr(member).replace(name, "X"), "str": str(member).replace(name, "X"),
        "format": f"{member}|{member:>9}|{'%s' % member}".replace(name, "X"),  # noqa: UP031 - %-formatting too
        "equal to its value": member == "pass" and member != "fail" and "pass" == member,  # noqa: SIM300
        "lookup": cls("pass") is member and cls(member) is member and cls["PASS"] is member,
        "name and value": (member.name, member.value, type(member.value)),
        "members": ([m.name for m in cls], len(cls), list(cls.__members__)),
        "copies": copy.copy(member) is member and copy.deepcopy(member) is member,
        "pickles": pickle.loads(pickle.dumps(member)) is member,
        "a str": isinstance(member, str) and isinstance(member, cls),
        "str methods": (member.upper(), member + "!", "-".join([member, "x"]), member < "q"),
        "json": json.dumps([member, {member: 1}]),
    }


def test_a_choice_behaves_as_the_string_enum_it_replaced() -> None:
    assert _facts(_Choice) == _facts(_Enum)
    with pytest.raises(ValueError, match="'nope' is not a valid _Choice"):
        _Choice("nope")
    with pytest.raises(KeyError):
        _Choice["NOPE"]
    with pytest.raises(AttributeError):
        _Choice.PASS = "other"  # type: ignore[misc]


def test_the_model_s_choices_have_their_members() -> None:
    assert [s.value for s in Status] == ["pass", "fail", "error"]
    assert ScopeKindTag("Folder") is ScopeKindTag.FOLDER
    assert ValueKind("ConnectionPoint") is ValueKind.CONNECTION_POINT
    assert Severity.WARNING == "warning" and Purity("pure") is Purity.PURE
