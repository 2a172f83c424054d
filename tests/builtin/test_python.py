"""The `python` library on real source trees: upstream's unit tests, the kept quirks, the fixes, errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hie_tasks.libraries.base import TreeDep
from hie_tasks.libraries.builtin import PythonLibrary
from hie_tasks.libraries.builtin.python import PYTHON_RULES
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Scope, ScopeKind, Value

from .conftest import Harness, HarnessFactory, write_tree  # type: ignore[import-not-found]

SAMPLE = """import os
from typing import List
import requests

class MyClass:
    def method(self) -> User:
        logger.info("x")
        return process_data(1)

def hello_world():
    pass

def process_data(data) -> Result:
    return calculate(2)

def calculate(x) -> int:
    database.connect()
    return x

def names() -> List[str]:
    return []

async def fetch(url) -> Response:
    pass

async def load() -> Dict[str, Any]:
    pass
"""


@pytest.fixture
def sample(python_lib: HarnessFactory) -> tuple[Harness, Scope]:
    h = python_lib({"app/sample.py": SAMPLE})
    return h, h.call("module_selector", "sample")


# --- upstream's unit tests -------------------------------------------------------------------------------


def test_selectors_find_functions_classes_and_packages(python_lib: HarnessFactory) -> None:
    h = python_lib({"m.py": SAMPLE, "api/__init__.py": "", "other.py": "x = 1\n"})
    assert h.call("function_selector", "hello_world") == Scope(
        ScopeKind.file("fn:hello_world"), h.rel("m.py")
    )
    assert h.call("class_selector", "MyClass") == Scope(ScopeKind.file("class:MyClass"), h.rel("m.py"))
    assert h.call("module_selector", "api") == Scope(ScopeKind.file("api"), h.rel("api/__init__.py"))


def test_imports_and_no_import(sample: tuple[Harness, Scope]) -> None:
    h, scope = sample
    assert h.passes("imports", scope, "typing")
    assert h.passes("imports", scope, "requests")
    assert h.check("imports", scope, "nonexistent") == CheckResult.failed(
        "Scope does not import 'nonexistent'"
    )
    assert h.passes("no_import", scope, "requests") is False
    assert h.check("no_import", scope, "typing") == CheckResult.failed(
        "Scope imports 'typing' but should not"
    )
    assert h.passes("no_import", scope, "django")


def test_returns_type(sample: tuple[Harness, Scope]) -> None:
    h, scope = sample
    for type_name in ("User", "List", "Dict"):
        assert h.passes("returns_type", scope, type_name), type_name
    assert h.check("returns_type", scope, "NonExistent") == CheckResult.failed(
        "No function returns type 'NonExistent'"
    )


def test_function_returns_type(sample: tuple[Harness, Scope]) -> None:
    h, scope = sample
    assert h.passes("function_returns_type", scope, "process_data", "Result")
    assert h.passes("function_returns_type", scope, "calculate", "int")
    assert h.passes("function_returns_type", scope, "fetch", "Response")
    assert h.check("function_returns_type", scope, "process_data", "WrongType") == CheckResult.failed(
        "Function 'process_data' does not return type 'WrongType'"
    )


def test_calls_and_calls_function(sample: tuple[Harness, Scope]) -> None:
    h, scope = sample
    for target in ("logger", "process_data", "calculate"):
        assert h.passes("calls", scope, target), target
    assert h.check("calls", scope, "nonexistent") == CheckResult.failed("Scope does not call 'nonexistent'")
    assert h.passes("calls_function", scope, "database", "connect")
    assert h.check("calls_function", scope, "database", "disconnect") == CheckResult.failed(
        "Scope does not call 'database.disconnect'"
    )


def test_calls_scope(python_lib: HarnessFactory) -> None:
    h = python_lib(
        {
            "main.py": "from utils import helper_function\n\nhelper_function()\n",
            "utils.py": "def helper_function():\n    return 1\n",
            "lonely.py": "print('hi')\n",
        }
    )
    main, utils = h.call("module_selector", "main"), h.call("module_selector", "utils")
    assert h.passes("calls_scope", main, utils)
    assert h.check("calls_scope", utils, h.call("module_selector", "lonely")) == CheckResult.failed(
        "Source scope does not call anything in target scope"
    )


# --- walk ------------------------------------------------------------------------------------------------


def test_walk_prunes_exclusions_but_not_other_hidden_dirs(python_lib: HarnessFactory) -> None:
    tree = {f"{d}/api.py": "" for d in ("venv", ".tox", "build", "node_modules", "pkg.egg-info", ".github")}
    h = python_lib(tree | {"src/api.py": "", "src/api.PY": "", "src/.py": "", "A.PY": ""})
    scope = h.call("module_selector", "api")
    assert scope.paths == h.rel(".github/api.py", "src/api.py")
    assert h.ctx.trees == {TreeDep(h.ws, (".py",), PYTHON_RULES.exclude)}


def test_root_named_like_an_exclusion_is_still_walked(tmp_path: Path) -> None:
    # Fix (spec: do not copy): upstream pruned the workspace itself when its basename was excluded.
    ws = write_tree(tmp_path / "build", {"m.py": "def f(): pass\n"})
    h = Harness(PythonLibrary(), ws)
    assert h.call("module_selector", "m").paths == h.rel("m.py")


def test_unreadable_and_non_utf8_files_are_skipped(python_lib: HarnessFactory) -> None:
    h = python_lib(
        {"bad.py": b"def f():\n  x = '\xff'\n", "good.py": "import os\n", "crlf.py": "import sys\r\n"}
    )
    everything = Scope(ScopeKind.folder("."), h.rel("bad.py", "gone.py", "good.py"))
    assert h.call("function_selector", "f").paths == ()
    assert h.passes("imports", everything, "os")
    assert not h.passes("imports", everything, "sys")


def test_a_fifo_named_like_a_source_file_does_not_block(python_lib: HarnessFactory, workspace: Path) -> None:
    h = python_lib({"real.py": "def f(): pass\n"})
    os.mkfifo(workspace / "pipe.py")
    assert h.call("function_selector", "f").paths == h.rel("real.py")
    # Upstream lists every non-directory with the extension, so the FIFO is a module (never read).
    assert h.call("module_selector", "pipe").paths == h.rel("pipe.py")


# --- module_selector quirks and fix ------------------------------------------------------------------------

PACKAGE_TREE = {
    "orders/__init__.py": "",
    "orders/api.py": "",
    "orders/api/__init__.py": "",
    "orders/api/api.py": "",
    "orders/api/sub/__init__.py": "",
    "orders/apiv2/__init__.py": "",
    "myorders/api.py": "",
    "billing/__init__.py": "",
    "billing/models.py": "",
}


def test_module_selector_dotted_path_quirks(python_lib: HarnessFactory) -> None:
    h = python_lib(PACKAGE_TREE)
    # Keep: every consequence of "stem equals last, or __init__ whose path contains last".
    assert h.call("module_selector", "orders.api").paths == h.rel(
        "myorders/api.py",
        "orders/api.py",
        "orders/api/__init__.py",
        "orders/api/api.py",
        "orders/api/sub/__init__.py",
        "orders/apiv2/__init__.py",
    )
    assert h.call("module_selector", "orders").paths == h.rel(
        "orders/__init__.py",
        "orders/api/__init__.py",
        "orders/api/sub/__init__.py",
        "orders/apiv2/__init__.py",
    )
    assert h.call("module_selector", "").paths == h.rel(
        "billing/__init__.py",
        "orders/__init__.py",
        "orders/api/__init__.py",
        "orders/api/sub/__init__.py",
        "orders/apiv2/__init__.py",
    )


def test_module_selector_ignores_the_checkout_location(tmp_path: Path) -> None:
    # Fix (spec: do not copy): a name occurring in the workspace path no longer matches every __init__.py.
    ws = write_tree(tmp_path / "api" / "project", {"billing/__init__.py": "", "api.py": ""})
    h = Harness(PythonLibrary(), ws)
    assert h.call("module_selector", "api").paths == h.rel("api.py")


# --- regex and textual quirks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import os.path\n", "os", True),
        ("from x import os\n", "os", True),
        ("from models.sub import x\n", "models", True),
        ("import sys, os\n", "os", False),
        ("import osmesa\n", "os", False),
        ("from .m import x\n", "m", False),
        ("# import os\n", "os", True),  # comments count like code
    ],
)
def test_imports_textual_semantics(
    python_lib: HarnessFactory, source: str, module: str, expected: bool
) -> None:
    h = python_lib({"m.py": source})
    assert h.passes("imports", h.call("module_selector", "m"), module) is expected


def test_no_import_on_an_empty_scope_passes(python_lib: HarnessFactory) -> None:
    h = python_lib({})
    assert h.passes("no_import", h.call("module_selector", "missing"), "os")
    assert not h.passes("imports", h.call("module_selector", "missing"), "os")


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        ("def run(x): pass\n", "run", True),
        ("async def run(x): pass\n", "run", True),
        ("def run (x): pass\n", "run", False),
        ("def runner(x): pass\n", "run", False),
    ],
)
def test_function_selector_regex(python_lib: HarnessFactory, source: str, name: str, expected: bool) -> None:
    h = python_lib({"m.py": source})
    assert bool(h.call("function_selector", name).paths) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [("class A:\n", True), ("class A(B):\n", True), ("class A :\n", False), ("class A[T]:\n", False)],
)
def test_class_selector_misses_spaced_and_generic_headers(
    python_lib: HarnessFactory, source: str, expected: bool
) -> None:
    h = python_lib({"m.py": source})
    assert bool(h.call("class_selector", "A").paths) is expected


def test_returns_type_is_substring_based(python_lib: HarnessFactory) -> None:
    h = python_lib({"m.py": "def f() -> Point:\n    pass\ndef g() -> Optional[User]:\n    pass\n"})
    scope = h.call("module_selector", "m")
    assert h.passes("returns_type", scope, "int")  # inside `Point`
    assert h.passes("returns_type", scope, "User")
    assert h.passes("returns_type", scope, "Optional")


def test_function_returns_type_one_line_def_does_not_borrow_the_body(python_lib: HarnessFactory) -> None:
    # Fix (spec: do not copy): upstream appended the first body line to a complete one-line signature.
    h = python_lib({"m.py": "def f(x) -> int:\n    return Point(x)\n"})
    scope = h.call("module_selector", "m")
    assert h.passes("function_returns_type", scope, "f", "int")
    assert not h.passes("function_returns_type", scope, "f", "Point")


def test_function_returns_type_multiline_signatures(python_lib: HarnessFactory) -> None:
    h = python_lib(
        {
            "m.py": "def f(\n    a,\n    b,\n) -> Thing:\n    pass\n"
            "def g(\n    a: int,\n    b,\n) -> Other:\n    pass\n"
        }
    )
    scope = h.call("module_selector", "m")
    assert h.passes("function_returns_type", scope, "f", "Thing")
    # Keep: the first annotated parameter line ends collection, so `-> Other` is never seen.
    assert not h.passes("function_returns_type", scope, "g", "Other")


def test_lines_are_rust_lines_not_splitlines(python_lib: HarnessFactory) -> None:
    # `\x0b` is a line break for str.splitlines but not for Rust's str::lines, so `T` is still on the
    # `def` line after its arrow; `\r\n` endings are stripped per line.
    h = python_lib({"m.py": "def f() -> X\x0bT\r\n    pass\r\n"})
    scope = h.call("module_selector", "m")
    assert h.passes("returns_type", scope, "T")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("obj.run(1)\n", True),
        ("run.x\n", True),
        ("def run(", True),
        ("run (1)\n", False),
        ("import run.y\n", True),
    ],
)
def test_calls_textual_semantics(python_lib: HarnessFactory, source: str, expected: bool) -> None:
    h = python_lib({"m.py": source})
    assert h.passes("calls", h.call("module_selector", "m"), "run") is expected


def test_calls_function_allows_space_after_the_dot(python_lib: HarnessFactory) -> None:
    h = python_lib({"m.py": "db. connect()\n"})
    assert h.passes("calls_function", h.call("module_selector", "m"), "db", "connect")


def test_calls_scope_quirks_and_empty_identifier_fix(python_lib: HarnessFactory) -> None:
    h = python_lib(
        {
            "target.py": "class Widget:\n    def __init__(self):\n        pass\n",
            "uses_super.py": "class B(A):\n    def m(self):\n        super().__init__()\n",
            "dangling.py": "# trailing keyword def \nx = 1\n",
            "caller.py": "print(1)\n",
        }
    )
    target, caller = h.call("module_selector", "target"), h.call("module_selector", "caller")
    # Keep: any `__init__` method makes a source calling `super().__init__(` pass.
    assert h.passes("calls_scope", h.call("module_selector", "uses_super"), target)
    # Keep: a file in both scopes passes.
    assert h.passes("calls_scope", target, target)
    # Fix (spec: do not copy): a line ending in `def ` yields "", which no longer matches any call.
    assert not h.passes("calls_scope", caller, h.call("module_selector", "dangling"))


# --- errors -------------------------------------------------------------------------------------------------

S = Scope(ScopeKind.file("m"), ())


@pytest.mark.parametrize(
    ("kind", "function", "args", "code", "message"),
    [
        ("call", "module_selector", [], "E400", "module_selector requires a module path"),
        ("call", "function_selector", [S], "E401", "function_selector requires a function name"),
        ("call", "class_selector", [1], "E402", "class_selector requires a class name"),
        ("check", "imports", ["m", "os"], "E410", "imports requires a scope"),
        ("check", "imports", [S, S], "E411", "imports requires a module name"),
        ("check", "no_import", [None], "E412", "no_import requires a scope"),
        ("check", "no_import", [S], "E413", "no_import requires a module name"),
        ("check", "returns_type", [[S]], "E414", "returns_type requires a scope"),
        ("check", "returns_type", [S, 2.5], "E415", "returns_type requires a type name"),
        ("check", "function_returns_type", [True], "E416", "function_returns_type requires a scope"),
        ("check", "function_returns_type", [S], "E417", "function_returns_type requires a function name"),
        ("check", "function_returns_type", [S, "f"], "E418", "function_returns_type requires a type name"),
        ("check", "calls", [], "E419", "calls requires a scope"),
        ("check", "calls", [S, 1], "E420", "calls requires a target identifier"),
        ("check", "calls_function", ["x"], "E421", "calls_function requires a scope"),
        ("check", "calls_function", [S], "E422", "calls_function requires a module name"),
        ("check", "calls_function", [S, "m"], "E423", "calls_function requires a function name"),
        ("check", "calls_scope", ["a", S], "E424", "calls_scope requires a source scope"),
        ("check", "calls_scope", [S, "b"], "E425", "calls_scope requires a target scope"),
        ("check", "module_selector", ["x"], "E499", "Unknown check: python.module_selector"),
        ("call", "imports", [S, "os"], "E499", "Unknown function: python.imports"),
        ("call", "imports_allowed", [], "E499", "Unknown function: python.imports_allowed"),
    ],
)
def test_errors(
    python_lib: HarnessFactory, kind: str, function: str, args: list[Value], code: str, message: str
) -> None:
    h = python_lib({})
    with pytest.raises(LibraryError) as info:
        if kind == "call":
            h.call(function, *args)
        else:
            h.check(function, *args)
    assert (info.value.code, info.value.message) == (code, message)


def test_selectors_record_the_listing_and_the_files_read(python_lib: HarnessFactory) -> None:
    h = python_lib({"a.py": "def f(): pass\n", "b.py": "x = 1\n", "notes.txt": "def f():"})
    assert h.call("function_selector", "f").paths == h.rel("a.py")
    assert h.ctx.deps == {os.path.join(h.ws, "a.py"), os.path.join(h.ws, "b.py")}
    assert h.ctx.trees == {TreeDep(h.ws, (".py",), PYTHON_RULES.exclude)}
