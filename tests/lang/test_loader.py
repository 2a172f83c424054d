"""Multi-file specs on disk: string imports, ordering, cycles, missing files, directories, read errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hie_tasks.lang.loader import SpecReadError, load_spec, resolve_import

LIBS = {"files", "python", "rust"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_imports_load_depth_first_before_the_importer_each_once(tmp_path: Path) -> None:
    write(tmp_path / "specs/core.hie", "import files\npattern layered {\n    scope code\n}\n")
    write(tmp_path / "specs/util.hie", "import './core.hie'\nimport '../main'\nelement util {\n}\n")
    main = write(
        tmp_path / "main.hie",
        "import './specs/core.hie'\nimport \"specs/util\"\nelement app implements layered {\n}\n",
    )
    spec = load_spec(str(main), LIBS)
    names = [Path(p.file).relative_to(tmp_path).as_posix() for p in spec.programs]
    assert names == ["specs/core.hie", "specs/util.hie", "main.hie"]
    assert spec.diagnostics == []  # `layered` comes from core.hie, so no W003 either
    assert set(spec.sources) == {p.file for p in spec.programs}
    assert spec.sources[str(main)] == main.read_text()
    assert spec.entries == [str(main)]


def test_cycle_between_two_files_is_safe(tmp_path: Path) -> None:
    a = write(tmp_path / "a.hie", "import './b'\nelement a {\n}\n")
    write(tmp_path / "b.hie", "import './a.hie'\nelement b {\n}\n")
    spec = load_spec(str(a), LIBS)
    assert [Path(p.file).name for p in spec.programs] == ["b.hie", "a.hie"]
    assert spec.diagnostics == []


def test_missing_string_import_is_w004_naming_the_tried_path(tmp_path: Path) -> None:
    main = write(tmp_path / "main.hie", "import files\nimport './nowhere'\nelement a {\n}\n")
    spec = load_spec(str(main), LIBS)
    [diag] = spec.diagnostics
    assert (diag.code, diag.severity.value, diag.file, diag.line, diag.column) == (
        "W004",
        "warning",
        str(main),
        2,
        1,
    )
    assert str(tmp_path / "nowhere.hie") in diag.message
    assert not spec.has_errors


def test_diagnostics_name_the_file_they_come_from(tmp_path: Path) -> None:
    write(tmp_path / "lib/broken.hie", "element x:\n    scope s\nimport nope\n")
    main = write(tmp_path / "main.hie", "import 'lib/broken'\nimport mystery\nelement a {\n}\n")
    spec = load_spec(str(main), LIBS)
    broken = str(tmp_path / "lib/broken.hie")
    got = [(d.code, d.file, d.line) for d in spec.diagnostics]
    assert got == [("E014", broken, 2), ("E001", broken, 3), ("W001", str(main), 2)]
    assert spec.has_errors and [d.code for d in spec.warnings] == ["W001"]


def test_directory_entry_loads_sorted_hie_files_once(tmp_path: Path) -> None:
    write(tmp_path / "b.hie", "import './a.hie'\nelement b {\n}\n")
    write(tmp_path / "a.hie", "element a {\n}\n")
    write(tmp_path / "notes.txt", "not a spec")
    write(tmp_path / "sub/c.hie", "element c {\n}\n")
    spec = load_spec(str(tmp_path), LIBS)
    assert [Path(p.file).name for p in spec.programs] == ["a.hie", "b.hie"]
    assert [Path(e).name for e in spec.entries] == ["a.hie", "b.hie"]


def test_unreadable_entry_raises_spec_read_error(tmp_path: Path) -> None:
    with pytest.raises(SpecReadError) as info:
        load_spec(str(tmp_path / "absent.hie"), LIBS)
    assert info.value.path == str(tmp_path / "absent.hie") and "No such file" in info.value.reason
    bad = tmp_path / "bad.hie"
    bad.write_bytes(b"element a {\n}\n\xff\xfe")
    with pytest.raises(SpecReadError, match="not valid UTF-8"):
        load_spec(str(bad), LIBS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecReadError, match=r"no \*\.hie files"):
        load_spec(str(tmp_path / "empty"), LIBS)


def test_undecodable_import_is_e017_on_the_import(tmp_path: Path) -> None:
    (tmp_path / "bad.hie").write_bytes(b"\xff\xfe")
    main = write(tmp_path / "main.hie", "import './bad.hie'\nelement a {\n}\n")
    spec = load_spec(str(main), LIBS)
    assert [(d.code, d.file, d.line) for d in spec.diagnostics] == [("E017", str(main), 1)]


def test_resolve_import_prefers_existing_hie_file(tmp_path: Path) -> None:
    write(tmp_path / "x.hie", "")
    write(tmp_path / "y", "")
    importer = str(tmp_path / "main.hie")
    assert resolve_import(importer, "x")[0] == str(tmp_path / "x.hie")
    assert resolve_import(importer, "./x.hie")[0] == str(tmp_path / "x.hie")
    found, tried = resolve_import(importer, "y")
    assert found is None and tried == [str(tmp_path / "y"), str(tmp_path / "y.hie")]
