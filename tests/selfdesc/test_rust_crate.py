"""A small Rust crate described with ≥ 15 checks across `rust` and `files`: green as written, and a
forbidden dependency turns exactly the expected check red (issue 7)."""

from __future__ import annotations

from pathlib import Path

from tests.selfdesc.kit import prepend, red_checks, write_tree

CRATE = {
    "Cargo.toml": '[package]\nname = "ledger"\nversion = "0.1.0"\n',
    "src/lib.rs": (
        "//! A tiny ledger.\n"
        "pub mod lexer;\n"
        "pub mod parser;\n\n"
        "use std::fmt;\n\n"
        "/// The ledger.\n"
        "#[derive(Debug, Clone)]\n"
        "pub struct Ledger { entries: Vec<parser::Entry> }\n\n"
        "pub trait Summary { fn summary(&self) -> String; }\n\n"
        "impl Ledger { pub fn new() -> Self { Ledger { entries: Vec::new() } } }\n\n"
        "impl Summary for Ledger { fn summary(&self) -> String { format!(\"{}\", self.entries.len()) } }\n\n"
        "impl fmt::Display for Ledger {\n"
        "    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { write!(f, \"ledger\") }\n"
        "}\n"
    ),
    "src/lexer.rs": (
        "/// Tokens.\n"
        "pub enum Token { Word(String), Number(i64) }\n\n"
        "pub fn lex(text: &str) -> Vec<Token> { text.split(' ').map(|w| Token::Word(w.into())).collect() }\n\n"
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn lexes() { assert_eq!(super::lex(\"a b\").len(), 2); }\n}\n"
    ),
    "src/parser.rs": (
        "use crate::lexer::{lex, Token};\n\n"
        "pub struct Entry { pub token: Token }\n\n"
        "pub fn parse(text: &str) -> Vec<Entry> { lex(text).into_iter().map(|token| Entry { token }).collect() }\n\n"
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn parses() { assert_eq!(super::parse(\"a\").len(), 1); }\n}\n"
    ),
}

# Three-part paths (`ledger.lexer.module`): upstream evaluates no two-part path as a value (#11, the oracle).
SPEC = """\
import files
import rust

element ledger:
    scope crate_src = rust.crate_selector('ledger')
    scope src = files.folder_selector('src')
    check files.exists(src, 'lib.rs')
    check rust.has_docs(crate_src)
    check rust.struct_exists('Ledger')
    check rust.enum_exists('Token')
    check rust.function_exists('parse')
    check rust.trait_exists('Summary')
    check rust.implements('Ledger', 'Summary')
    check rust.impl_exists('Ledger')
    check rust.has_derive(crate_src, 'Debug')

    element lexer:
        scope module = rust.module_selector('lexer')
        check rust.has_tests(module)

    element parser:
        scope module = rust.module_selector('parser')
        check rust.has_tests(module)
        check rust.depends_on(module, ledger.lexer.module)
        check rust.uses(module, 'crate::lexer')
        check rust.no_dependency(ledger.lexer.module, module)
        check rust.pipeline_connects(ledger.lexer.module, module)
        check rust.type_compatible(ledger.parser.module, crate_src)
"""


def make_crate(root: Path) -> Path:
    return write_tree(root, CRATE, SPEC)


def test_description_is_green(tmp_path: Path) -> None:
    assert red_checks(make_crate(tmp_path)) == set()


def test_forbidden_dependency_turns_exactly_one_check_red(tmp_path: Path) -> None:
    ws = make_crate(tmp_path)
    prepend(ws / "src" / "lexer.rs", "use crate::parser::Entry;\n")
    assert red_checks(ws) == {"ledger.parser :: rust.no_dependency(ledger.lexer.module, module)"}


def test_removing_tests_turns_has_tests_red(tmp_path: Path) -> None:
    ws = make_crate(tmp_path)
    parser = ws / "src" / "parser.rs"
    parser.write_text(parser.read_text().split("#[cfg(test)]")[0])
    assert red_checks(ws) == {"ledger.parser :: rust.has_tests(module)"}
