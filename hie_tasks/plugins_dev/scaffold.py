"""`hie-tasks plugins new`: a ready-to-build plugin folder from the templates in `plugins/templates/`.

The templates are real plugins named `my_plugin` (they are built by the test suite), so a new plugin is a copy
with that name replaced — no second copy of the template text lives here.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from hie_tasks.plugins_dev.build import LANGS, BuildError, plugins_root

TEMPLATE_NAME = "my_plugin"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Files of a template folder that belong to the project's CI, not to a user's plugin.
_SKIP = {"ci-cargo-config.toml", "build", "target", "Cargo.lock"}
_SHARED = ("README.md", "hielements.toml.example", "hielements.toml", "example.hie")


def _template_files(lang: str) -> dict[str, Path]:
    """Relative name in the new plugin → template file. A language folder's own file wins over a shared one."""
    root = plugins_root() / "templates"
    lang_dir = root / lang
    if not lang_dir.is_dir():
        raise BuildError(
            f"plugin templates not found at {lang_dir} (set HIE_TASKS_PLUGINS_DIR to hie-tasks' plugins/)"
        )
    files = {name: root / name for name in _SHARED if (root / name).is_file()}
    for path in sorted(lang_dir.rglob("*")):
        rel = path.relative_to(lang_dir)
        if path.is_file() and not _SKIP & set(rel.parts):
            files[rel.as_posix()] = path
    return files


#: The template's config line naming the module, and the README's pointer to the guide, as written there.
_TEMPLATE_PATH_LINE = re.compile(r'^path = "[^"]*"(.*)$', re.M)
_GUIDE_MENTION = "`docs/wasm-plugins.md` in hie-tasks"


def guide_path() -> Path:
    """The plugin author's guide as this copy of hie-tasks has it: the checkout's `docs/`, or the copy an
    installed distribution ships beside the templates (`<prefix>/share/hie-tasks/docs/wasm-plugins.md`)."""
    return plugins_root().parent / "docs" / "wasm-plugins.md"


def _module_path(target: Path, name: str, workspace: Path) -> str:
    """Where `plugins build` will write the module, relative to the workspace (where `plugins new` ran)."""
    module = target / "build" / f"{name}.wasm"
    try:
        rel = os.path.relpath(module, workspace)
    except ValueError:  # another drive on Windows
        return module.as_posix()
    return module.as_posix() if rel.startswith("..") else Path(rel).as_posix()


def _personalise(rel: str, text: str, target: Path, name: str) -> str:
    if rel == "hielements.toml.example":
        path = _module_path(target, name, Path.cwd().resolve())
        return _TEMPLATE_PATH_LINE.sub(lambda m: f'path = "{path}"{m.group(1)}', text, count=1)
    if rel == "README.md" and _GUIDE_MENTION in text:
        guide = guide_path()
        where = f"`{guide}`" if guide.is_file() else "`docs/wasm-plugins.md` of the hie-tasks sources"
        return text.replace(_GUIDE_MENTION, where)
    return text


def new_plugin(name: str, lang: str, dest: str) -> str:
    """Writes plugin `name` in language `lang` into `<dest>/<name>`; returns that folder. Never overwrites."""
    if not _NAME_RE.match(name):
        raise BuildError(
            f"plugin name {name!r} must be letters, digits and underscores, not starting with a digit"
        )
    if lang not in LANGS:
        raise BuildError(f"unknown language {lang!r}: choose one of {', '.join(LANGS)}")
    target = Path(dest).resolve() / name
    if target.exists():
        raise BuildError(f"{target} already exists; choose another name or remove it")
    files = _template_files(lang)
    try:
        for rel, source in files.items():
            out = target / rel.replace(TEMPLATE_NAME, name)
            out.parent.mkdir(parents=True, exist_ok=True)
            text = source.read_text(encoding="utf-8").replace(TEMPLATE_NAME, name)
            out.write_text(_personalise(rel, text, target, name), encoding="utf-8")
            shutil.copymode(source, out)
    except OSError as exc:
        raise BuildError(f"cannot write {target}: {exc.strerror}") from None
    return str(target)
