"""hielements.toml loading: every documented form, every malformed variant, positions, warnings."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from hie_tasks.config import (
    Capabilities,
    ConfigError,
    ExternalLibraryConfig,
    FsAccess,
    WasmLibraryConfig,
    WorkspaceConfig,
    load_config,
)
from hie_tasks.diagnostics import Diagnostic, Severity

# Verbatim from wasm-abi.md §1 (a multi-line inline table: TOML 1.1, rejected by the stdlib's tomllib).
WASM_ABI_BLOCK = """\
[libraries.mylib]
type = "wasm"                       # optional: inferred when path ends in .wasm
path = "plugins/mylib.wasm"         # relative to the workspace root
capabilities = {
    fs = "read",                    # "none" (default) | "read" | "write"
    workspace_only = true,          # default true
    env_access = false              # default false; true = whole host env; a list of names = only those
}
# limits (hie-tasks additions; defaults shown)
timeout_ms = 10000                  # per call; enforced with fuel or epoch interruption
max_memory_mb = 256                 # linear memory cap per instance
max_output_mb = 16                  # largest JSON a call may return
"""


def _workspace(tmp_path: Path, toml: str, wasm: tuple[str, ...] = ()) -> Path:
    for rel in wasm:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"\0asm\1\0\0\0")
    (tmp_path / "hielements.toml").write_text(textwrap.dedent(toml))
    return tmp_path


def _load(tmp_path: Path, toml: str, wasm: tuple[str, ...] = ()) -> WorkspaceConfig:
    config, warnings = load_config(str(_workspace(tmp_path, toml, wasm)))
    assert warnings == []
    return config


def _errors(tmp_path: Path, toml: str, wasm: tuple[str, ...] = ()) -> list[Diagnostic]:
    with pytest.raises(ConfigError) as err:
        load_config(str(_workspace(tmp_path, toml, wasm)))
    return [d for d in err.value.diagnostics if d.severity is Severity.ERROR]


def test_no_file_means_builtins_only(tmp_path: Path) -> None:
    assert load_config(str(tmp_path)) == (WorkspaceConfig(file=None), [])


def test_the_wasm_abi_block_loads_verbatim(tmp_path: Path) -> None:
    config = _load(tmp_path, WASM_ABI_BLOCK, wasm=("plugins/mylib.wasm",))
    assert config.file == str(tmp_path / "hielements.toml")
    assert config.libraries == (
        WasmLibraryConfig(
            name="mylib",
            path=str(tmp_path / "plugins" / "mylib.wasm"),
            capabilities=Capabilities(fs=FsAccess.READ, workspace_only=True, env_access=False),
            timeout_ms=10000,
            max_memory_mb=256,
            max_output_mb=16,
        ),
    )


def test_short_forms_and_inference(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
        [libraries]
        inferred = { path = "x.wasm" }
        typed = { type = "wasm", path = "sub/y.wasm", capabilities = { fs = "write", workspace_only = false, env_access = ["HOME", "LANG"], write = ["out"] }, timeout_ms = 50, max_memory_mb = 64, max_output_mb = 2 }
        py = { executable = "python3", args = ["plugins/p.py", "--flag"] }
        tool = { path = "bin/tool" }
        forced = { type = "external", path = "bin/run.wasm", timeout_ms = 1234 }
        """,
        wasm=("x.wasm", "sub/y.wasm"),
    )
    libs = {lib.name: lib for lib in config.libraries}
    assert list(libs) == ["inferred", "typed", "py", "tool", "forced"]
    assert libs["inferred"] == WasmLibraryConfig("inferred", str(tmp_path / "x.wasm"))
    assert libs["typed"] == WasmLibraryConfig(
        "typed", str(tmp_path / "sub" / "y.wasm"), Capabilities(FsAccess.WRITE, False, ("HOME", "LANG"), ("out",)), 50, 64, 2
    )
    # A bare program name stays bare (looked up on PATH at spawn time); args are passed as written.
    assert libs["py"] == ExternalLibraryConfig("py", "python3", ("plugins/p.py", "--flag"), timeout_ms=30000)
    # A path with a separator is resolved against the workspace.
    assert libs["tool"] == ExternalLibraryConfig("tool", str(tmp_path / "bin" / "tool"))
    # An explicit type wins over the .wasm suffix.
    assert libs["forced"] == ExternalLibraryConfig("forced", str(tmp_path / "bin" / "run.wasm"), timeout_ms=1234)


def test_standard_tables_and_capability_subtable(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        """
        [libraries.ext]
        executable = "/usr/bin/env"
        args = []

        [libraries.w]
        path = "w.wasm"

        [libraries.w.capabilities]
        env_access = true
        """,
        wasm=("w.wasm",),
    )
    assert config.libraries == (
        ExternalLibraryConfig("ext", "/usr/bin/env"),
        WasmLibraryConfig("w", str(tmp_path / "w.wasm"), Capabilities(env_access=True)),
    )


@pytest.mark.parametrize(
    ("entry", "code", "key", "found", "allowed"),
    [
        ('{ executable = "p", args = "x" }', "E516", "args", 'string "x"', "list of strings"),
        ('{ path = "m.wasm", capabilities = "fs" }', "E516", "capabilities", 'string "fs"', "table"),
        ('{ executable = "p", timeout_ms = -1 }', "E516", "timeout_ms", "integer -1", "positive integer"),
        ('{ path = "m.wasm", timeout_ms = 1.5 }', "E516", "timeout_ms", "float 1.5", "positive integer"),
        ('{ path = "m.wasm", max_memory_mb = 5000 }', "E516", "max_memory_mb", "integer 5000", "at most 4096"),
        ('{ path = "m.wasm", capabilities = { fs = "rw" } }', "E516", "capabilities.fs", 'string "rw"', '"none", "read" or "write"'),
        ('{ path = "m.wasm", capabilities = { env_access = 3 } }', "E516", "capabilities.env_access", "integer 3", "list of variable names"),
        ('{ path = "m.wasm", capabilities = { env_access = ["A", 1] } }', "E516", "capabilities.env_access", 'array ["A", 1]', "list of variable names"),
        ('{ path = "m.wasm", capabilities = { workspace_only = "no" } }', "E516", "capabilities.workspace_only", 'string "no"', "true or false"),
        ('{ type = "native", path = "m.wasm" }', "E516", "type", 'string "native"', '"external", "wasm" or "component"'),
        ('{ executable = "" }', "E516", "executable", 'string ""', "non-empty string"),
        ('{ executable = "p", colour = "red" }', "E515", "colour", "", "allowed keys"),
        ('{ path = "m.wasm", capabilities = { net = true } }', "E515", "net", "", "allowed capabilities"),
        ('{ executable = "p", capabilities = { fs = "read" } }', "E517", "capabilities", "", "keys of an external library"),
        ('{ path = "m.wasm", args = ["a"] }', "E517", "args", "", "keys of a wasm library"),
        ('{ args = ["a"] }', "E512", "", "", "Cannot infer library type"),
        ('{ type = "external", args = ["a"] }', "E513", "", "", "No executable or path specified"),
        ('{ type = "wasm" }', "E514", "", "", "No path specified for WASM library"),
        ('{ path = "missing.wasm" }', "E518", "path", "missing.wasm", "does not exist"),
        ('"just a string"', "E516", "", 'string "just a string"', "must be a table"),
    ],
)
def test_each_mistake_gets_its_own_clear_error(
    tmp_path: Path, entry: str, code: str, key: str, found: str, allowed: str
) -> None:
    toml = f"[libraries]\nbroken = {entry}\n"
    (diag,) = _errors(tmp_path, toml, wasm=("m.wasm",))
    text = f"{diag.message} {diag.help}"
    assert diag.code == code
    assert "'broken'" in diag.message
    assert key in text and found in text and allowed in text
    assert diag.file == str(tmp_path / "hielements.toml")
    assert diag.line == 2
    if key:
        # The span points at the key itself on the entry's line.
        assert diag.column == 1 + entry.index(key.split(".")[-1]) + len("broken = ")


def test_all_errors_of_the_file_are_collected_with_positions(tmp_path: Path) -> None:
    diags = _errors(
        tmp_path,
        """\
        [libraries.one]
        executable = "p"
        args = "x"

        [libraries.two]
        path = "m.wasm"
        capabilities = {
            fs = "rw",
            env_access = 3
        }

        [libraries.three]
        nothing = 1
        """,
        wasm=("m.wasm",),
    )
    located = [(d.code, d.line, d.column) for d in diags]
    assert located == [
        ("E516", 3, 1),  # args
        ("E516", 8, 5),  # capabilities.fs
        ("E516", 9, 5),  # capabilities.env_access
        ("E515", 13, 1),  # unknown key 'nothing'
        ("E512", 12, 1),  # and so its type cannot be inferred
    ]
    assert [d.message.split(":")[0] for d in diags] == ["library 'one'"] + ["library 'two'"] * 2 + ["library 'three'"] * 2


def test_toml_syntax_error_carries_the_parser_position(tmp_path: Path) -> None:
    (diag,) = _errors(tmp_path, '[libraries]\nx = { path = "a.wasm" ] }\n')
    assert diag.code == "E511"
    assert (diag.line, diag.column) == (2, 23)  # the stray ']'
    assert "TOML syntax error" in diag.message and "inline table" in diag.message


def test_unknown_top_level_key_and_non_table_libraries(tmp_path: Path) -> None:
    diags = _errors(tmp_path, 'libraries = 3\nplugins = "x"\n')
    assert sorted(d.code for d in diags) == ["E515", "E516"]
    assert any("'plugins'" in d.message for d in diags)


def test_unreadable_file_is_e510(tmp_path: Path) -> None:
    (tmp_path / "hielements.toml").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(str(tmp_path))
    assert [d.code for d in err.value.diagnostics] == ["E510"]
    (tmp_path / "hielements.toml").unlink()
    (tmp_path / "hielements.toml").mkdir()
    with pytest.raises(ConfigError) as err:
        load_config(str(tmp_path))
    assert [d.code for d in err.value.diagnostics] == ["E510"]
    assert "hielements.toml" in str(err.value)


def test_shadowing_a_builtin_is_a_warning_and_the_entry_is_kept(tmp_path: Path) -> None:
    _workspace(tmp_path, '[libraries]\nfiles = { executable = "my-files" }\n"my-lib" = { executable = "x" }\n')
    config, warnings = load_config(str(tmp_path))
    assert [lib.name for lib in config.libraries] == ["files", "my-lib"]
    assert [(w.code, w.severity, w.line) for w in warnings] == [
        ("W510", Severity.WARNING, 2),
        ("W511", Severity.WARNING, 3),
    ]
    assert "built-in 'files'" in warnings[0].message


def test_relative_workspace_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _workspace(tmp_path, '[libraries]\nt = { path = "./bin/t" }\n')
    monkeypatch.chdir(tmp_path.parent)
    config, _ = load_config(tmp_path.name)
    assert config.libraries == (ExternalLibraryConfig("t", os.path.join(str(tmp_path), "bin", "t")),)


def test_write_list_is_workspace_relative_dirs(tmp_path: Path) -> None:
    config = _load(tmp_path, """\
        [libraries.gen]
        path = "plugins/gen.wasm"
        capabilities = { fs = "write", write = ["out/", "build/reports", "out"] }
        """, wasm=("plugins/gen.wasm",))
    [lib] = config.libraries
    assert isinstance(lib, WasmLibraryConfig)
    assert lib.capabilities == Capabilities(FsAccess.WRITE, True, False, ("out", "build/reports"))


@pytest.mark.parametrize(
    ("caps", "needle"),
    [
        ('fs = "write"', 'needs a \'write\' list'),
        ('fs = "read", write = ["out"]', 'fs is "read"'),
        ('fs = "write", write = []', "non-empty list"),
        ('fs = "write", write = "out"', "non-empty list"),
        ('fs = "write", write = ["."]', "workspace root"),
        ('fs = "write", write = ["./"]', "workspace root"),
        ('fs = "write", write = ["../elsewhere"]', "leaves the workspace"),
        ('fs = "write", write = ["/tmp/out"]', "not workspace-relative"),
        ('fs = "write", write = [".git/hooks"]', ".git/"),
        ('fs = "write", write = [".hie-cache"]', ".hie-cache/"),
        ('fs = "write", write = ["plugins"]', "contains the configured plugin plugins/gen.wasm"),
    ],
)
def test_bad_write_lists_are_e519_with_position_and_fix(tmp_path: Path, caps: str, needle: str) -> None:
    errors = _errors(tmp_path, f"""\
        [libraries.gen]
        path = "plugins/gen.wasm"
        capabilities = {{ {caps} }}
        """, wasm=("plugins/gen.wasm",))
    assert len(errors) == 1, errors
    [err] = errors
    assert err.code in ("E519", "E516") and needle in err.message, err.message
    assert err.span.line == 3 and err.help
