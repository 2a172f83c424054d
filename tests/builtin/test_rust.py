"""The `rust` library on real source trees: upstream's unit tests, the kept quirks, the fixes, errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hie_tasks.libraries.base import TreeDep
from hie_tasks.libraries.builtin import FilesLibrary, RustLibrary
from hie_tasks.libraries.builtin.rust import RUST_RULES
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Scope, ScopeKind, Status, Value

from .conftest import Harness, HarnessFactory, write_tree  # type: ignore[import-not-found]

LEXER = """//! The lexer.
use crate::span::Span;

#[derive(Debug, Clone)]
pub struct Token {
    pub kind: TokenKind,
}

pub enum TokenKind { Ident }

pub trait Lex { fn lex(&self); }

pub fn hello_world() {
}

fn run_with_options() {}

impl Lex for Lexer {}

#[cfg(test)]
mod tests {
    #[test]
    fn it_works() {}
}
"""

PARSER = """use crate::lexer::Token;

pub struct Parser<'a> { tokens: &'a [Token] }

impl<'a> Parser<'a> {
    pub fn parse(&self) -> Ast { todo!() }
}
"""

TREE = {
    "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
    "crates/core/Cargo.toml": '[package]\nname = "hielements-core"\n',
    "crates/core/src/lib.rs": "pub mod lexer;\npub mod parser;\n",
    "crates/core/src/lexer.rs": LEXER,
    "crates/core/src/parser.rs": PARSER,
    "crates/core/src/stdlib/mod.rs": "pub mod files;\n",
    "crates/core/src/stdlib/files.rs": "use super::Library;\n",
    "crates/core/target/debug/build/gen.rs": "pub struct Generated;\n",
    "crates/cli/Cargo.toml": '[package]\nname = "hielements"\n',
    "crates/cli/src/main.rs": "use hielements_core::lexer::Lexer;\nfn main() {}\n",
    "target/debug/junk.rs": "pub struct Token;\n",
    "vendor/dep/lib.rs": "fn hidden_fn() {}\n",
}


@pytest.fixture
def rust(rust_lib: HarnessFactory) -> Harness:
    return rust_lib(TREE)


def src(h: Harness, *names: str) -> tuple[str, ...]:
    return tuple(os.path.join(h.ws, "crates/core/src", n) for n in names)


# --- upstream's unit tests ---------------------------------------------------------------------------------


def test_upstream_selector_and_has_tests_cases(rust: Harness) -> None:
    assert rust.call("function_selector", "hello_world").paths == src(rust, "lexer.rs")
    assert rust.call("struct_selector", "Token") == Scope(
        ScopeKind.file("struct:Token"), src(rust, "lexer.rs")
    )
    assert rust.passes("has_tests", rust.call("module_selector", "lexer"))


# --- crate and module selectors -------------------------------------------------------------------------------


def test_crate_selector_via_the_crates_glob_applies_exclusions_below(rust: Harness) -> None:
    scope = rust.call("crate_selector", "hielements-core")
    assert scope.kind == ScopeKind.folder("hielements-core")
    # Fix (spec: do not copy): `target/` inside the crate is pruned.
    assert scope.paths == src(rust, "lexer.rs", "lib.rs", "parser.rs", "stdlib/files.rs", "stdlib/mod.rs")
    ws = rust.ws
    assert os.path.join(ws, "Cargo.toml") in rust.ctx.deps
    assert os.path.join(ws, "crates/core/Cargo.toml") in rust.ctx.deps
    assert TreeDep(os.path.join(ws, "crates"), ("Cargo.toml",)) in rust.ctx.trees
    assert TreeDep(os.path.join(ws, "crates/core"), (".rs",), RUST_RULES.exclude) in rust.ctx.trees
    assert rust.call("crate_selector", "missing").paths == ()


def test_crate_selector_root_manifest_first_and_canonical(rust_lib: HarnessFactory, tmp_path: Path) -> None:
    real = write_tree(tmp_path / "real", {"Cargo.toml": '[package]\nname = "solo"\n', "src/main.rs": ""})
    os.symlink(real, tmp_path / "ws" / "link")
    h = rust_lib({"Cargo.toml": '[package]\nname = "top"\n', "a.rs": "", "x/b.rs": "", "target/t.rs": ""})
    # Keep: a single-crate repo whose package is the name selects every `.rs` under the workspace.
    assert h.call("crate_selector", "top").paths == h.rel("a.rs", "x/b.rs")
    # Via a fixed candidate the crate dir is the canonical (symlink-resolved) path.
    assert h.call("crate_selector", "link").paths == ()
    write_tree(tmp_path / "ws", {"solo/Cargo.toml": '[package]\nname = "solo"\n', "solo/lib.rs": ""})
    assert h.call("crate_selector", "solo").paths == h.rel("solo/lib.rs")


def test_module_selector_stems_and_mod_rs(rust: Harness) -> None:
    assert rust.call("module_selector", "lexer").paths == src(rust, "lexer.rs")
    # Keep: only `stdlib/mod.rs`, never the submodule files; earlier `::` pieces are ignored.
    assert rust.call("module_selector", "stdlib").paths == src(rust, "stdlib/mod.rs")
    assert rust.call("module_selector", "stdlib::files").paths == src(rust, "stdlib/files.rs")
    assert rust.call("module_selector", "anything::files") == Scope(
        ScopeKind.file("anything::files"), src(rust, "stdlib/files.rs")
    )


def test_module_selector_tests_the_relative_path(tmp_path: Path) -> None:
    # Fix (spec: do not copy): a `mod.rs` is not taken because the checkout path contains the name.
    ws = write_tree(tmp_path / "lexer" / "ws", {"a/mod.rs": "", "lexer/mod.rs": ""})
    h = Harness(RustLibrary(), ws)
    assert h.call("module_selector", "lexer").paths == h.rel("lexer/mod.rs")


def test_walk_excludes_target_vendor_but_not_root(rust: Harness, tmp_path: Path) -> None:
    assert rust.call("struct_selector", "Token").paths == src(rust, "lexer.rs")  # not target/debug/junk.rs
    assert not rust.passes("function_exists", "hidden_fn")  # vendor/ pruned
    ws = write_tree(tmp_path / "target", {"a.rs": "fn hidden_fn() {}\n"})
    assert Harness(RustLibrary(), ws).passes("function_exists", "hidden_fn")


# --- item selectors and *_exists -------------------------------------------------------------------------------


def test_item_selectors_are_prefix_matches(rust: Harness) -> None:
    assert rust.call("enum_selector", "Token").paths == src(rust, "lexer.rs")  # `enum TokenKind`
    assert rust.call("function_selector", "run").paths == src(rust, "lexer.rs")  # `fn run_with_options`
    assert rust.call("trait_selector", "Lex") == Scope(ScopeKind.file("trait:Lex"), src(rust, "lexer.rs"))
    assert rust.call("impl_selector", "Lex").paths == src(rust, "lexer.rs")
    # Keep: the generic rule fires on a file with any `impl<` and any `> NAME` (`-> Ast`).
    assert rust.call("impl_selector", "Ast").paths == src(rust, "parser.rs")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("struct Foo {", True),
        ("pub struct Foo<T>", True),
        ("struct Foo;", True),
        ("struct Foo(u8);", True),
        ("struct Foo\n{", True),
        ("xstruct Foo {", True),  # no word boundary before `struct`
        ("struct Foobar {", False),
        ("struct Foo", False),  # at the very end of the file
    ],
)
def test_struct_regex(rust_lib: HarnessFactory, source: str, expected: bool) -> None:
    h = rust_lib({"a.rs": source})
    assert bool(h.call("struct_selector", "Foo").paths) is expected


def test_struct_selector_escapes_the_name(rust_lib: HarnessFactory) -> None:
    # Fix (spec: do not copy): upstream inserted the name into the regex unescaped.
    h = rust_lib({"a.rs": "struct Ax {}\nstruct A.B {}\n"})
    assert h.call("struct_selector", "A.B").paths == h.rel("a.rs")
    assert h.call("struct_selector", "A.").paths == ()


def test_exists_checks_and_messages(rust: Harness) -> None:
    assert rust.passes("struct_exists", "Parser")
    assert rust.passes("enum_exists", "TokenKind")
    assert rust.passes("function_exists", "parse")
    assert rust.passes("trait_exists", "Lex")
    assert rust.passes("impl_exists", "Parser")
    assert rust.check("struct_exists", "Nope") == CheckResult.failed("Struct 'Nope' not found")
    assert rust.check("enum_exists", "Nope") == CheckResult.failed("Enum 'Nope' not found")
    assert rust.check("function_exists", "nope") == CheckResult.failed("Function 'nope' not found")
    assert rust.check("trait_exists", "Nope") == CheckResult.failed("Trait 'Nope' not found")
    assert rust.check("impl_exists", "Nope") == CheckResult.failed("Impl for 'Nope' not found")
    assert TreeDep(rust.ws, (".rs",), RUST_RULES.exclude) in rust.ctx.trees


def test_implements(rust_lib: HarnessFactory) -> None:
    h = rust_lib(
        {
            "a.rs": "impl Library for FilesLibraryX {}\n",
            "b.rs": "impl<T> Show for Wrapper<T> {}\n",
            "c.rs": "impl Other<T> for Y {}\nimpl crate::Dyn for Z {}\n",
        }
    )
    assert h.passes("implements", "FilesLibrary", "Library")  # keep: prefix match
    assert h.passes("implements", "Wrapper", "Show")  # via `impl<` + `> Show for Wrapper`
    assert not h.passes("implements", "Y", "Other")  # keep: `impl Other<T> for Y` is not seen
    assert h.check("implements", "Z", "Dyn") == CheckResult.failed("'Z' does not implement 'Dyn'")


def test_implements_generic_rule_needs_both_substrings_anywhere(rust_lib: HarnessFactory) -> None:
    h = rust_lib(
        {"a.rs": "// impl<\n// Vec<Box<T>> Show for Wrapper\n", "b.rs": "impl<T> Show  for Other {}\n"}
    )
    assert h.passes("implements", "Wrapper", "Show")
    assert not h.passes("implements", "Other", "Show")


# --- scope checks ------------------------------------------------------------------------------------------------


def test_uses_derive_docs_tests(rust: Harness) -> None:
    lexer, parser = rust.call("module_selector", "lexer"), rust.call("module_selector", "parser")
    assert rust.passes("uses", parser, "crate::lexer")
    assert rust.passes("uses", lexer, "span")  # via `span::` inside `use crate::span::Span`
    assert not rust.passes("uses", lexer, "Span")
    assert rust.check("uses", lexer, "crate::parser") == CheckResult.failed(
        "Module does not use 'crate::parser'"
    )
    assert rust.passes("has_derive", lexer, "Clone")
    assert rust.passes("has_derive", lexer, "TokenKind")  # keep: both substrings anywhere
    assert rust.check("has_derive", parser, "Debug") == CheckResult.failed("No #[derive(Debug)] found")
    assert rust.passes("has_docs", lexer)
    assert rust.check("has_docs", parser) == CheckResult.failed("No documentation comments found")
    assert rust.check("has_tests", parser) == CheckResult.failed("No tests found")
    assert rust.check("has_tests", Scope(ScopeKind.file("x"), ())) == CheckResult.failed("No tests found")


def test_has_docs_counts_file_urls(rust_lib: HarnessFactory) -> None:
    h = rust_lib({"a.rs": 'const U: &str = "file:///tmp";\n'})
    assert h.passes("has_docs", h.call("module_selector", "a"))


def test_has_tests_scans_every_file_of_a_files_scope(rust_lib: HarnessFactory, workspace: Path) -> None:
    h = rust_lib({"docs/README.md": "Use #[test] on functions.\n"})
    folder = FilesLibrary().call("folder_selector", ["docs"], h.ctx)
    assert isinstance(folder, Scope)
    assert h.passes("has_tests", folder)


# --- depends_on / no_dependency ------------------------------------------------------------------------------------


def test_depends_on_modules(rust: Harness) -> None:
    parser, lexer = rust.call("module_selector", "parser"), rust.call("module_selector", "lexer")
    assert rust.passes("depends_on", parser, lexer)
    assert rust.check("depends_on", lexer, parser) == CheckResult.failed(
        "No dependency found: source does not use 'parser'"
    )
    forbidden = rust.check("no_dependency", parser, lexer)
    assert (forbidden.status, forbidden.message) == (Status.FAIL, "Forbidden dependency detected")
    # Upstream's message, plus where: every line of the source scope that uses the target module.
    assert forbidden.locations and all(loc.file in parser.paths for loc in forbidden.locations)
    for loc in forbidden.locations:
        with open(loc.file, encoding="utf-8") as fh:
            assert "lexer" in fh.read().splitlines()[loc.line - 1]
    assert rust.passes("no_dependency", lexer, parser)


def test_depends_on_target_names_from_paths_and_kind(rust: Harness) -> None:
    main = rust.call("module_selector", "main")
    crate = rust.call("crate_selector", "hielements-core")
    # Keep: a crate (Folder) scope contributes each file's module name (`lexer` is used by main.rs).
    assert rust.passes("depends_on", main, crate)
    result = rust.check(
        "depends_on", rust.call("module_selector", "lib"), rust.call("module_selector", "stdlib")
    )
    # `mod.rs` is named after its directory; the kind text is not repeated.
    assert result == CheckResult.failed("No dependency found: source does not use 'stdlib'")
    missing = rust.call("module_selector", "missing")
    # Keep: a module scope contributes its name even with no paths, so this is a Fail, not an Error.
    assert rust.check("depends_on", main, missing) == CheckResult.failed(
        "No dependency found: source does not use 'missing'"
    )


def test_depends_on_no_word_boundaries(rust_lib: HarnessFactory) -> None:
    h = rust_lib({"a.rs": "use tokio::sync::broadcast::channel;\n", "ast.rs": ""})
    assert h.passes("depends_on", h.call("module_selector", "a"), h.call("module_selector", "ast"))


def test_depends_on_errors(rust_lib: HarnessFactory) -> None:
    h = rust_lib(
        {"a.rs": "use crate::b;\n", "b.rs": "", "bin/blob.dat": b"\xff\xfe", "bin/z.rs": "use crate::b;"}
    )
    a = h.call("module_selector", "a")
    empty_folder = Scope(ScopeKind.folder("nothing"), ())
    assert h.check("depends_on", a, empty_folder) == CheckResult.errored(
        "Could not determine target module names"
    )
    assert h.check("depends_on", Scope(ScopeKind.folder("x"), ()), a) == CheckResult.errored(
        "Source scope has no paths"
    )
    # An Error passes through no_dependency unchanged: an empty source is not a Pass.
    assert h.check("no_dependency", Scope(ScopeKind.folder("x"), ()), a).status is Status.ERROR
    folder = FilesLibrary().call("folder_selector", ["bin"], h.ctx)
    assert isinstance(folder, Scope)
    blob, z = os.path.join(h.ws, "bin/blob.dat"), os.path.join(h.ws, "bin/z.rs")
    b = h.call("module_selector", "b")
    # Unlike every other check, an unreadable file is an Error at once, even though z.rs would pass.
    binary_first = Scope(ScopeKind.file("bin"), (blob, z))
    assert h.check("depends_on", binary_first, b) == CheckResult.errored(f"Could not read file: {blob}")
    # A folder scope is visited in upstream's walk order (directory-listing order), which decides whether
    # the blob or z.rs comes first.
    listed = [os.path.join(h.ws, "bin", n) for n in os.listdir(os.path.join(h.ws, "bin"))]
    expected = CheckResult.errored(f"Could not read file: {blob}") if listed[0] == blob else CheckResult.passed()
    assert h.check("depends_on", folder, b) == expected


# --- type flow --------------------------------------------------------------------------------------------------


def test_pipeline_connects(rust_lib: HarnessFactory) -> None:
    h = rust_lib(
        {
            "lexer.rs": "pub enum Mode { A }\npub struct Token;\n",
            "parser.rs": "fn p(t: Token) {}\n",
            "other.rs": "fn o() {}\n",
            "render/mod.rs": "fn r() {}\n",
            "render.rs": "fn r(t: Token) {}\n",
        }
    )
    lexer = h.call("module_selector", "lexer")
    assert h.passes("pipeline_connects", lexer, h.call("module_selector", "parser"))
    # A struct anywhere in the file beats an earlier enum.
    assert h.check("pipeline_connects", lexer, h.call("module_selector", "other")) == CheckResult.failed(
        "Pipeline not connected: 'Token' is not used by input scope"
    )
    # Same-module files elsewhere in the workspace count (`render/mod.rs` ↔ `render.rs`).
    only_mod = Scope(ScopeKind.folder("render"), h.rel("render/mod.rs"))
    assert h.passes("pipeline_connects", lexer, only_mod)
    assert h.check("pipeline_connects", h.call("module_selector", "other"), lexer) == CheckResult.errored(
        "Could not determine output type"
    )
    # struct:/enum:/trait: kinds name the type without reading files.
    assert h.passes("pipeline_connects", Scope(ScopeKind.file("enum:Mode"), ()), lexer)


def test_type_compatible(rust_lib: HarnessFactory) -> None:
    h = rust_lib({"a.rs": "pub struct A;\n", "b.rs": "pub struct B { a: A }\n", "c.rs": "pub enum C {}\n"})
    a, b, c = (h.call("module_selector", n) for n in "abc")
    assert h.passes("type_compatible", a, b)  # b mentions A
    assert h.passes("type_compatible", b, a)
    assert h.passes("type_compatible", a, Scope(ScopeKind.file("struct:A"), ()))  # A == A
    assert h.check("type_compatible", a, c) == CheckResult.failed("Types 'A' and 'C' are not compatible")
    nothing = h.call("module_selector", "none")
    assert h.check("type_compatible", nothing, a) == CheckResult.errored(
        "Could not determine type from first scope"
    )
    assert h.check("type_compatible", a, nothing) == CheckResult.errored(
        "Could not determine type from second scope"
    )


# --- errors --------------------------------------------------------------------------------------------------

S = Scope(ScopeKind.file("m"), ())
SELECTOR_ERRORS = [
    ("crate_selector", "E300", "a crate name"),
    ("module_selector", "E301", "a module path"),
    ("struct_selector", "E302", "a struct name"),
    ("enum_selector", "E303", "an enum name"),
    ("function_selector", "E304", "a function name"),
    ("trait_selector", "E305", "a trait name"),
    ("impl_selector", "E306", "a type name"),
]
CHECK_ERRORS: list[tuple[str, list[Value], str, str]] = [
    ("struct_exists", [S], "E310", "a struct name"),
    ("enum_exists", [], "E311", "an enum name"),
    ("function_exists", [1], "E312", "a function name"),
    ("trait_exists", [None], "E313", "a trait name"),
    ("impl_exists", [2.0], "E314", "a type name"),
    ("implements", [S, "T"], "E315", "a type name"),
    ("implements", ["X"], "E316", "a trait name"),
    ("uses", ["x", "m"], "E317", "a scope"),
    ("uses", [S], "E318", "a module path"),
    ("has_derive", [], "E319", "a scope"),
    ("has_derive", [S, S], "E320", "a derive name"),
    ("has_docs", ["s"], "E321", "a scope"),
    ("has_tests", [True], "E322", "a scope"),
    ("depends_on", ["a", S], "E323", "a source scope as first argument"),
    ("depends_on", [S], "E324", "a target scope as second argument"),
    ("no_dependency", [], "E325", "a source scope as first argument"),
    ("no_dependency", [S, "b"], "E326", "a target scope as second argument"),
    ("pipeline_connects", [[]], "E327", "an output scope as first argument"),
    ("pipeline_connects", [S], "E328", "an input scope as second argument"),
    ("type_compatible", [], "E329", "a scope as first argument"),
    ("type_compatible", [S, 3], "E330", "a scope as second argument"),
]


@pytest.mark.parametrize(("function", "code", "wanted"), SELECTOR_ERRORS)
def test_selector_errors(rust_lib: HarnessFactory, function: str, code: str, wanted: str) -> None:
    h = rust_lib({})
    with pytest.raises(LibraryError) as info:
        h.call(function, S)
    assert (info.value.code, info.value.message) == (code, f"{function} requires {wanted}")


@pytest.mark.parametrize(("function", "args", "code", "wanted"), CHECK_ERRORS)
def test_check_errors(
    rust_lib: HarnessFactory, function: str, args: list[Value], code: str, wanted: str
) -> None:
    h = rust_lib({})
    with pytest.raises(LibraryError) as info:
        h.check(function, *args)
    assert (info.value.code, info.value.message) == (code, f"{function} requires {wanted}")


@pytest.mark.parametrize(
    ("kind", "function", "message"),
    [
        ("check", "module_selector", "Unknown check: rust.module_selector"),
        ("call", "struct_exists", "Unknown function: rust.struct_exists"),
        ("call", "const_selector", "Unknown function: rust.const_selector"),
        ("check", "derives", "Unknown check: rust.derives"),
    ],
)
def test_unknown_names(rust_lib: HarnessFactory, kind: str, function: str, message: str) -> None:
    h = rust_lib({})
    with pytest.raises(LibraryError) as info:
        if kind == "call":
            h.call(function, "X")
        else:
            h.check(function, "X")
    assert (info.value.code, info.value.message) == ("E399", message)
