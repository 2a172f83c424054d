"""What the three libraries share: construction, identity, purity, documentation metadata."""

from __future__ import annotations

import json

from hie_tasks.libraries.base import Purity
from hie_tasks.libraries.builtin import FilesLibrary, PythonLibrary, RustLibrary, builtin_libraries
from hie_tasks.libraries.builtin.files import FilesLibrary as _Files
from hie_tasks.libraries.builtin.python import PythonLibrary as _Python
from hie_tasks.libraries.builtin.rust import RustLibrary as _Rust


def test_builtin_libraries_are_fresh_instances_with_builtin_identity() -> None:
    first, second = builtin_libraries(), builtin_libraries()
    assert [lib.name for lib in first] == ["files", "python", "rust"]
    assert all(a is not b for a, b in zip(first, second, strict=True))
    for lib in first:
        assert lib.kind == "builtin"
        assert lib.purity() is Purity.READS_WORKSPACE
        assert lib.identity() == f"builtin:{lib.name}:{2 if lib.name == 'files' else 1}"
    assert {type(lib) for lib in first} == {_Files, _Python, _Rust}


def test_optional_name_does_not_change_identity() -> None:
    lib = PythonLibrary("py")
    assert lib.name == "py"
    assert lib.identity() == "builtin:python:1"


def test_every_dispatchable_name_is_documented_in_spec_order() -> None:
    for lib in (FilesLibrary(), PythonLibrary(), RustLibrary()):
        doc = lib.documentation()
        assert {f.name for f in doc.functions} == set(lib.selectors)
        assert {c.name for c in doc.checks} == set(lib.checks)
        assert all(f.return_type == "Scope" and f.example for f in doc.functions)
        assert all(c.return_type == "CheckResult" and c.example for c in doc.checks)
        json.dumps(doc.to_json())  # serialisable as `doc -f json` needs
    rust = RustLibrary().documentation()
    assert [f.name for f in rust.functions] == [
        "crate_selector",
        "module_selector",
        "struct_selector",
        "enum_selector",
        "function_selector",
        "trait_selector",
        "impl_selector",
    ]
    assert [c.name for c in rust.checks][:6] == [
        "struct_exists",
        "enum_exists",
        "function_exists",
        "trait_exists",
        "impl_exists",
        "implements",
    ]


def test_exact_upstream_strings() -> None:
    py = PythonLibrary().documentation().to_json()
    assert py["description"] == (
        "Python language analysis library for selecting and checking Python code constructs."
    )
    assert py["version"] == "1.0.0"
    frt = next(c for c in py["checks"] if c["name"] == "function_returns_type")
    assert frt == {
        "name": "function_returns_type",
        "description": "Check that a specific function returns a given type.",
        "parameters": [
            {"name": "scope", "param_type": "Scope", "description": "The scope to check"},
            {"name": "func_name", "param_type": "string", "description": "Function name"},
            {"name": "type_name", "param_type": "string", "description": "Expected return type"},
        ],
        "return_type": "CheckResult",
        "example": "check python.function_returns_type(api_mod, 'get_user', 'User')",
    }
    rust = RustLibrary().documentation().to_json()
    enum_exists = next(c for c in rust["checks"] if c["name"] == "enum_exists")
    assert enum_exists["description"] == "Check that an enum with the given name exists."
    assert enum_exists["parameters"] == [
        {"name": "enum_name", "param_type": "string", "description": "Name of the enum"}
    ]
    fn_sel = next(f for f in rust["functions"] if f["name"] == "function_selector")
    assert fn_sel["description"] == "Select a Rust function by name."
    assert fn_sel["parameters"][0] == {
        "name": "func_name",
        "param_type": "string",
        "description": "Name of the function to find",
    }
    assert fn_sel["example"] == "ref parse_fn: Function = rust.function_selector('parse')"
