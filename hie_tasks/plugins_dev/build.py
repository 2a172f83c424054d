"""`hie-tasks plugins build`: compile a plugin source folder (C, Zig or Rust) to a wasm32-wasi module, or a
Python one to a WebAssembly component (componentize-py; see `component_build.py`).

The language comes from a `plugin.toml` / `hie-plugin.toml` manifest (`name`, `lang`, `sources`) when there is
one, else from the files present (`Cargo.toml` → Rust, `build.zig`/`*.zig` → Zig, `*.c` → C, `*.py` → Python). Like make, a
build is skipped when the output is newer than every input, the SDK included. Every failure a user can cause
(no toolchain, compile error, missing exports) is a `BuildError` with a message saying what to do.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tomli

MANIFEST_NAMES = ("plugin.toml", "hie-plugin.toml")
LANGS = ("c", "zig", "rust", "python")
_ZIG_MISSING = "ziglang is not installed: pip install 'hie-tasks[build]' (or pip install ziglang)"
#: Debian's own Rust (1.63) knows the WASI target by its old name and keeps its std and vendored crates here.
_DEBIAN_CARGO, _DEBIAN_RUSTC = "/usr/bin/cargo", "/usr/bin/rustc"
_COMPILE_TIMEOUT_S = 900


class BuildError(Exception):
    """A build failed for a reason the user can fix; the message says how."""


@dataclass(frozen=True)
class PluginSource:
    """What to build: resolved from a manifest or from the files in the folder."""

    directory: Path
    name: str
    lang: str
    sources: tuple[Path, ...]


@dataclass(frozen=True)
class BuildResult:
    output: str
    lang: str
    #: False when the output was already up to date
    rebuilt: bool
    seconds: float
    command: tuple[str, ...] = ()


def plugins_root() -> Path:
    """The folder holding the SDK and templates: `$HIE_TASKS_PLUGINS_DIR`, else the checkout's `plugins/`
    (an editable install or a source tree), else the copy an installed distribution ships in
    `<prefix>/share/hie-tasks/plugins`."""
    override = os.environ.get("HIE_TASKS_PLUGINS_DIR")
    if override:
        return Path(override)
    checkout = Path(__file__).resolve().parents[2] / "plugins"
    if (checkout / "sdk").is_dir():
        return checkout
    installed = Path(sys.prefix) / "share" / "hie-tasks" / "plugins"
    return installed if (installed / "sdk").is_dir() else checkout


def sdk_dir(lang: str = "c") -> Path:
    return plugins_root() / "sdk" / lang


def _read_manifest(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as f:
            return tomli.load(f)
    except OSError as exc:
        raise BuildError(f"{path}: cannot read the manifest: {exc.strerror}") from None
    except tomli.TOMLDecodeError as exc:
        raise BuildError(f"{path}: invalid TOML: {exc}") from None


def _files(directory: Path, patterns: Iterable[str]) -> list[Path]:
    found: set[Path] = set()
    for pattern in patterns:
        found.update(
            p
            for p in directory.glob(pattern)
            if p.is_file() and "build" not in p.relative_to(directory).parts[:1]
        )
    return sorted(found)


def _detect_lang(directory: Path) -> str:
    if (directory / "Cargo.toml").is_file():
        return "rust"
    if (directory / "build.zig").is_file() or any(directory.glob("*.zig")):
        return "zig"
    if any(directory.glob("*.c")):
        return "c"
    if any(directory.glob("*.py")):
        return "python"
    raise BuildError(
        f"{directory}: cannot tell the plugin's language: no plugin.toml, Cargo.toml, *.zig, *.c or *.py here "
        "(create one with `hie-tasks plugins new NAME --lang c|zig|rust|python`)"
    )


def _cargo_package_name(directory: Path) -> str:
    package = _read_manifest(directory / "Cargo.toml").get("package")
    name = package.get("name") if isinstance(package, dict) else None
    if not isinstance(name, str):
        raise BuildError(f"{directory / 'Cargo.toml'}: [package] name is missing")
    return name


def _default_sources(directory: Path, lang: str) -> list[Path]:
    patterns = {
        "c": ("*.c", "*.h"),
        "zig": ("*.zig", "build.zig.zon"),
        "rust": ("Cargo.toml", "Cargo.lock", "src/**/*.rs", "build.rs"),
        "python": ("*.py",),
    }[lang]
    return _files(directory, patterns)


def load_plugin_source(src_dir: str | Path) -> PluginSource:
    directory = Path(src_dir).resolve()
    if not directory.is_dir():
        raise BuildError(f"{src_dir}: not a directory")
    manifest_path = next((directory / n for n in MANIFEST_NAMES if (directory / n).is_file()), None)
    manifest = _read_manifest(manifest_path) if manifest_path else {}
    where = str(manifest_path)
    lang = manifest.get("lang", None)
    if lang is None:
        lang = _detect_lang(directory)
    if lang not in LANGS:
        raise BuildError(f"{where}: lang = {lang!r} is not one of {', '.join(LANGS)}")
    name = manifest.get("name")
    if name is None:
        name = _cargo_package_name(directory) if lang == "rust" else directory.name
    if not isinstance(name, str) or not name:
        raise BuildError(f"{where}: name must be a non-empty string")
    raw_sources = manifest.get("sources")
    if raw_sources is None:
        sources = _default_sources(directory, lang)
    elif isinstance(raw_sources, list) and all(isinstance(s, str) for s in raw_sources):
        sources = [directory / s for s in raw_sources]
        missing = [str(s) for s in sources if not s.is_file()]
        if missing:
            raise BuildError(f"{where}: sources not found: {', '.join(missing)}")
    else:
        raise BuildError(f"{where}: sources must be a list of file names")
    if not sources:
        raise BuildError(f"{directory}: no {lang} source files found")
    return PluginSource(directory, name, lang, tuple(sources))


def _sdk_inputs(src: PluginSource) -> list[Path]:
    if src.lang == "c":
        return [sdk_dir("c") / "hielements.h"]
    if src.lang == "zig":
        return [
            sdk_dir("c") / "hielements.h",
            sdk_dir("zig") / "hielements.zig",
            sdk_dir("zig") / "hielements_impl.c",
        ]
    if src.lang == "python":
        return [sdk_dir("python") / "hielements.py", *sorted(sdk_dir("wit").glob("*.wit"))]
    return []


def _up_to_date(output: Path, inputs: Sequence[Path]) -> bool:
    try:
        built = output.stat().st_mtime_ns
    except OSError:
        return False
    return all(p.stat().st_mtime_ns <= built for p in inputs if p.exists())


def _run(cmd: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    try:
        proc = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_COMPILE_TIMEOUT_S,
        )
    except FileNotFoundError:
        raise BuildError(f"cannot run {cmd[0]}: not found") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{' '.join(cmd)}: still running after {_COMPILE_TIMEOUT_S} s, gave up") from None
    if proc.returncode != 0:
        output = (proc.stderr + proc.stdout).strip()
        raise BuildError(f"build failed (exit {proc.returncode}): {' '.join(cmd)}\n{output}")


def _zig() -> list[str]:
    if importlib.util.find_spec("ziglang") is None:
        raise BuildError(_ZIG_MISSING)
    return [sys.executable, "-m", "ziglang"]


#: Shadow stack of C/Zig plugins. Zig's default is 16 MiB, which puts the data and heap 16 MiB into linear
#: memory: every call's instance then maps and resets a 16 MiB memory and its stack, data and heap pages lie
#: far outside the pages the host keeps resident between instances (engine.KEEP_RESIDENT). 64 KiB is what
#: clang's wasm linker and wasi-sdk use; zig lays the stack out first, so an overflow runs below address 0
#: and traps (E610) instead of overwriting data. Measured on the sample plugin's always_pass: ≈ 25 µs less
#: per call (bench/wasm_bench.py). Zig code keeps far bigger buffers on the stack (std.fmt, Debug builds),
#: so Zig plugins get Rust's 1 MiB: still off the 16 MiB, not as tight.
STACK_SIZE = 64 * 1024
ZIG_STACK_SIZE = 1024 * 1024


def _c_command(src: PluginSource, out: Path, release: bool) -> list[str]:
    opt = ["-O2", "-s"] if release else ["-O0", "-g"]
    return [
        *_zig(), "cc", "--target=wasm32-wasi", *opt, "-mexec-model=reactor", f"-Wl,-z,stack-size={STACK_SIZE}",
        f"-I{sdk_dir('c')}", f"-I{src.directory}",
        *[str(s) for s in src.sources if s.suffix == ".c"], "-o", str(out),
    ]  # fmt: skip


def _zig_command(src: PluginSource, out: Path, release: bool) -> list[str]:
    zig_files = [s for s in src.sources if s.suffix == ".zig"]
    root = next(
        (s for s in zig_files if s.stem in ("main", "plugin", src.name)), zig_files[0] if zig_files else None
    )
    if root is None:
        raise BuildError(f"{src.directory}: no .zig source to build")
    # The SDK's C helpers are compiled in as a C source of the root module; the bindings are the named module
    # "hielements", so a plugin writes @import("hielements").
    return [
        *_zig(), "build-exe", "-target", "wasm32-wasi", "-mexec-model=reactor", "-fno-entry", "-rdynamic",
        "-O", "ReleaseSmall" if release else "Debug", *(["-fstrip"] if release else []), "-lc",
        "--stack", str(ZIG_STACK_SIZE),
        f"-femit-bin={out}", "--dep", "hielements", f"-Mroot={root}",
        f"-I{sdk_dir('c')}", str(sdk_dir("zig") / "hielements_impl.c"),
        f"-Mhielements={sdk_dir('zig') / 'hielements.zig'}",
    ]  # fmt: skip


def _has_target(rustc: str, target: str) -> bool:
    try:
        sysroot = subprocess.run(
            [rustc, "--print", "sysroot"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return (Path(sysroot.strip()) / "lib" / "rustlib" / target).is_dir()


def _rust_toolchain() -> tuple[list[str], str, dict[str, str]]:
    """(cargo command prefix, target triple, environment) for the best Rust toolchain available."""
    env = dict(os.environ)
    cargo = shutil.which("cargo")
    rustc = shutil.which("rustc")
    if cargo and rustc:
        for target in ("wasm32-wasip1", "wasm32-wasi"):
            if _has_target(rustc, target):
                return [cargo], target, env
    if Path(_DEBIAN_CARGO).is_file() and _has_target(_DEBIAN_RUSTC, "wasm32-wasi"):
        # Debian's packaged Rust: offline, crates from /usr/share/cargo/registry via the CI-only config.
        env["RUSTC"] = _DEBIAN_RUSTC
        cmd = [_DEBIAN_CARGO]
        ci_config = plugins_root() / "templates" / "rust" / "ci-cargo-config.toml"
        if ci_config.is_file():
            cmd += ["--config", str(ci_config)]
        return [*cmd], "wasm32-wasi", env
    raise BuildError(
        "no Rust toolchain with a WebAssembly WASI target: install Rust (https://rustup.rs) and run "
        "`rustup target add wasm32-wasip1`"
    )


def _build_rust(src: PluginSource, out: Path, release: bool) -> tuple[str, ...]:
    prefix, target, env = _rust_toolchain()
    target_dir = src.directory / "target"
    cmd = [*prefix, "build", "--target", target, "--target-dir", str(target_dir)]
    if release:
        cmd.append("--release")
    if prefix[0] == _DEBIAN_CARGO:
        cmd.append("--offline")
    _run(cmd, src.directory, env)
    artifact = (
        target_dir / target / ("release" if release else "debug") / f"{src.name.replace('-', '_')}.wasm"
    )
    if not artifact.is_file():
        raise BuildError(
            f'cargo finished but {artifact} is missing: is the crate\'s [lib] crate-type = ["cdylib"]?'
        )
    shutil.copyfile(artifact, out)
    return tuple(cmd)


def check_exports(path: Path) -> None:
    """Fails with a plain explanation when the module lacks what ABI 1 requires."""
    import wasmtime

    try:
        module = wasmtime.Module.from_file(wasmtime.Engine(), str(path))
    except wasmtime.WasmtimeError as exc:
        raise BuildError(f"{path}: not a valid WebAssembly module: {exc}") from None
    names = {e.name for e in module.exports}
    missing = [n for n in ("memory", "alloc") if n not in names]
    if not names & {"library_call", "library_check"}:
        missing.append("library_call or library_check")
    if missing:
        raise BuildError(
            f"{path}: built, but it does not export {', '.join(missing)} "
            '(C: invoke HIE_PLUGIN(...) once; Zig: hie.exportPlugin; Rust: #[no_mangle] pub extern "C" fn)'
        )


def build_plugin(
    src_dir: str, out: str | None = None, *, release: bool = True, prewarm: bool = True
) -> BuildResult:
    """Builds the plugin in `src_dir` to `out` (default `<src_dir>/build/<name>.wasm`).

    A Python plugin's component is then compiled into the module cache (`prewarm`), which validates it
    against the plugin world and spares the first run the seconds a component takes to compile."""
    started = time.perf_counter()
    src = load_plugin_source(src_dir)
    output = Path(out).resolve() if out else src.directory / "build" / f"{src.name}.wasm"
    inputs = [*src.sources, *_sdk_inputs(src)]
    if _up_to_date(output, inputs):
        if src.lang == "python" and prewarm:
            from hie_tasks.plugins_dev.component_build import prewarm_component

            prewarm_component(src.name, output)
        return BuildResult(str(output), src.lang, False, time.perf_counter() - started)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(f"cannot create {output.parent}: {exc.strerror}") from None
    # Build next to the target and rename, so a failed build never leaves a stale-but-newer output behind.
    partial = output.with_name(output.name + ".partial")
    if src.lang == "python":
        from hie_tasks.plugins_dev.component_build import build_component

        command = build_component(src, partial, output, prewarm=prewarm)
        return BuildResult(str(output), src.lang, True, time.perf_counter() - started, command)
    if src.lang == "rust":
        command = _build_rust(src, partial, release)
    else:
        cmd = _c_command(src, partial, release) if src.lang == "c" else _zig_command(src, partial, release)
        _run(cmd, src.directory)
        command = tuple(cmd)
    check_exports(partial)
    os.replace(partial, output)
    return BuildResult(str(output), src.lang, True, time.perf_counter() - started, command)
