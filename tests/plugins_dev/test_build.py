"""`plugins build` and `plugins new`: real toolchains, real files, argparse wiring as the CLI mounts it."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from driver import Driver, I, S

from hie_tasks.cli import cmd_plugins
from hie_tasks.cli.common import CliError
from hie_tasks.plugins_dev.build import build_plugin, load_plugin_source, plugins_root


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cmd_plugins.add_parser(parser.add_subparsers())
    args = parser.parse_args(["plugins", *argv])
    code: int = args.func(args)
    return code


def test_new_then_build_c_and_zig(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for lang in ("c", "zig"):
        name = f"demo_{lang}"
        assert cli("new", name, "--lang", lang, "-d", str(tmp_path)) == 0
        folder = tmp_path / name
        assert (folder / "README.md").is_file() and (folder / "hielements.toml.example").is_file()
        assert name in (folder / "hielements.toml.example").read_text()
        assert cli("build", str(folder)) == 0
        wasm = folder / "build" / f"{name}.wasm"
        assert Driver(wasm, tmp_path).metadata()["name"] == name
    assert "built in" in capsys.readouterr().out
    with pytest.raises(CliError, match="already exists"):
        cli("new", "demo_c", "--lang", "c", "-d", str(tmp_path))
    with pytest.raises(CliError, match="letters, digits"):
        cli("new", "1bad-name", "--lang", "c", "-d", str(tmp_path))


def test_make_style_skip_and_rebuild(tmp_path: Path) -> None:
    shutil.copytree(plugins_root() / "templates" / "c", tmp_path / "p")
    first = build_plugin(str(tmp_path / "p"))
    assert first.rebuilt and Path(first.output).name == "my_plugin.wasm"
    assert not build_plugin(str(tmp_path / "p")).rebuilt
    source = tmp_path / "p" / "my_plugin.c"
    later = Path(first.output).stat().st_mtime_ns + 1_000_000_000
    os.utime(source, ns=(later, later))
    assert build_plugin(str(tmp_path / "p")).rebuilt


def test_user_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="cannot tell the plugin's language"):
        cli("build", str(tmp_path))
    (tmp_path / "broken.c").write_text("int main( {\n")
    with pytest.raises(CliError, match=r"(?s)build failed \(exit 1\).*broken.c:1:11: error"):
        cli("build", str(tmp_path))
    (tmp_path / "broken.c").write_text("int nothing_exported(void) { return 0; }\n")
    with pytest.raises(CliError, match=r"does not export (memory, )?alloc"):
        cli("build", str(tmp_path))
    (tmp_path / "plugin.toml").write_text('lang = "cobol"\n')
    with pytest.raises(CliError, match="lang = 'cobol' is not one of c, zig, rust"):
        cli("build", str(tmp_path))


def test_manifest_and_detection(tmp_path: Path) -> None:
    (tmp_path / "x.zig").write_text("")
    assert load_plugin_source(tmp_path).lang == "zig"
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "crate-name"\n')
    src = load_plugin_source(tmp_path)
    assert (src.lang, src.name) == ("rust", "crate-name")


def _debian_rust() -> bool:
    return Path("/usr/bin/cargo").is_file() and Path("/usr/lib/rustlib/wasm32-wasi").is_dir()


@pytest.mark.rust
@pytest.mark.slow
@pytest.mark.skipif(
    not _debian_rust(), reason="needs Debian's cargo with the wasm32-wasi std (see docs/wasm-plugins.md)"
)
def test_rust_template_builds_and_runs(tmp_path: Path) -> None:
    assert cli("new", "rusty", "--lang", "rust", "-d", str(tmp_path)) == 0
    assert not (tmp_path / "rusty" / "ci-cargo-config.toml").exists()
    result = build_plugin(str(tmp_path / "rusty"))
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "a.rs").write_text("")
    d = Driver(result.output, ws)
    src = d.call("files", S("src"))
    assert src["Scope"]["paths"] == [str(ws.resolve() / "src" / "a.rs")]
    assert d.check("min_files", src, I(2)) == {"Fail": "Expected at least 2 files, found 1"}
    assert d.check("min_files", src, I(1)) == {"Pass": None}
    assert d.abi_version() == 1 and d.metadata()["name"] == "rusty"


def test_missing_ziglang_message(tmp_path: Path) -> None:
    # A real interpreter without ziglang on its path: the same entry point, run in a subprocess.
    shutil.copytree(plugins_root() / "templates" / "c", tmp_path / "p")
    code = (
        "import sys, importlib.util as u; real = u.find_spec\n"
        "u.find_spec = lambda n, *a: None if n == 'ziglang' else real(n, *a)\n"
        "from hie_tasks.plugins_dev.build import build_plugin, BuildError\n"
        "try: build_plugin(sys.argv[1])\nexcept BuildError as e: print(e)\n"
    )
    out = subprocess.run(
        ["python", "-c", code, str(tmp_path / "p")],
        capture_output=True,
        text=True,
        cwd=plugins_root().parent,
        check=True,
    ).stdout
    assert "ziglang is not installed: pip install 'hie-tasks[build]'" in out
