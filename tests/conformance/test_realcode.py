"""The `python` and `rust` built-ins on real code against the oracle: the installed `rich` package (a runtime
dependency) and Debian's regex crate sources (`librust-regex-dev`, installed by .ci/run), each copied into a
workspace. Skips, with the reason, without the oracle or the crate."""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

import pytest

from tests.conformance.compare import Case, compare_all, oracle_path, table

CRATES = sorted(glob.glob("/usr/share/cargo/registry/regex-1.*"))
ORACLE = oracle_path()

SPEC = """\
element a:
    scope m1 = rust.module_selector('re_builder')
    scope m2 = rust.module_selector('error')
    scope m3 = rust.module_selector('literal')
    scope m4 = rust.module_selector('exec')
    scope c = rust.crate_selector('regex')
    scope f = files.folder_selector('src')
    check rust.type_compatible(m1, m2)
    check rust.type_compatible(m3, m2)
    check rust.type_compatible(c, m2)
    check rust.type_compatible(f, m4)
    check rust.type_compatible(m2, f)
    check rust.pipeline_connects(f, m2)
    check rust.pipeline_connects(m3, m2)
    check rust.pipeline_connects(c, m2)
    check rust.pipeline_connects(f, m3)
"""


@pytest.mark.skipif(ORACLE is None, reason="no upstream oracle at ../shared/oracle/hielements")
@pytest.mark.skipif(not CRATES, reason="Debian's regex crate sources are not installed (apt librust-regex-dev)")
def test_rust_type_flow_messages_name_upstreams_type(tmp_path: Path) -> None:
    assert ORACLE is not None
    ws = tmp_path / "regex"
    shutil.copytree(CRATES[-1], ws)
    (ws / "t.hie").write_text(SPEC)
    outcomes = compare_all([Case("regex", ws, "t.hie")], oracle=ORACLE)
    assert outcomes[0].diffs == [], table(outcomes) + f"\n{outcomes[0].diffs}"


PY_SPEC = """\
element r:
    scope con = python.module_selector('rich.console')
    scope txt = python.module_selector('rich.text')
    scope fn = python.function_selector(con, 'print')
    scope cls = python.class_selector(con, 'Console')
    scope pkg = files.folder_selector('rich')
    check python.imports(con, 'rich.text')
    check python.imports(txt, 'rich.console')
    check python.no_import(con, 'os')
    check python.no_import(txt, 'asyncio')
    check python.calls(con, 'render')
    check python.calls(txt, 'nonexistent_fn')
    check python.calls_function(con, 'rich.text', 'Text')
    check python.calls_scope(con, txt)
    check python.calls_scope(txt, con)
    check python.returns_type(fn, 'None')
    check python.function_returns_type(con, 'export_text', 'str')
    check python.function_returns_type(con, 'export_text', 'int')
    check python.imports(pkg, 'os')
    check python.no_import(pkg, 'os')
    check python.calls(cls, 'print')
"""


@pytest.mark.skipif(ORACLE is None, reason="no upstream oracle at ../shared/oracle/hielements")
def test_python_checks_on_rich_agree_with_upstream(tmp_path: Path) -> None:
    import rich

    assert ORACLE is not None
    shutil.copytree(Path(rich.__file__).parent, tmp_path / "rich", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "t.hie").write_text(PY_SPEC)
    outcomes = compare_all([Case("rich", tmp_path, "t.hie")], oracle=ORACLE)
    assert outcomes[0].diffs == [], table(outcomes) + f"\n{outcomes[0].diffs}"
