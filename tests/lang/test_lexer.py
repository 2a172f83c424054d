from __future__ import annotations

from hie_tasks.lang.lexer import tokenize
from hie_tasks.lang.tokens import TokenKind as K


def kinds(source: str) -> list[K]:
    return [t.kind for t in tokenize(source, "t.hie")[0]]


def test_keywords_identifiers_and_longest_match() -> None:
    toks, diags = tokenize("elements element scope_x connection_check connection", "t.hie")
    assert [t.kind for t in toks[:5]] == [K.IDENT, K.ELEMENT, K.IDENT, K.CONNECTION_CHECK, K.CONNECTION]
    assert diags == []


def test_positions_are_one_based_with_exclusive_end() -> None:
    toks, _ = tokenize("element a:\n    scope src = x\n", "t.hie")
    scope = next(t for t in toks if t.kind is K.SCOPE)
    src = next(t for t in toks if t.text == "src")
    assert (scope.line, scope.column, scope.end_column) == (2, 5, 10)
    assert (src.line, src.column, src.end_column) == (2, 11, 14)


def test_strings_escapes_and_unknown_escape_kept() -> None:
    toks, diags = tokenize(r"""'a\nb' "q\"x" 'back\\slash' 'keep\d' "it's" """, "t.hie")
    values = [t.value for t in toks if t.kind is K.STRING]
    assert values == ["a\nb", 'q"x', "back\\slash", "keep\\d", "it's"]
    assert diags == []


def test_numbers_with_zero_fraction_are_ints() -> None:
    toks, _ = tokenize("10 10.0 2.5 007", "t.hie")
    nums = [t.value for t in toks if t.kind is K.NUMBER]
    assert nums == [10, 10, 2.5, 7]
    assert isinstance(nums[1], int) and isinstance(nums[2], float)


def test_comments_doc_comments_and_block_comments() -> None:
    src = "# plain\n## Doc  text \n### block\nspanning ###\nx\n"
    toks, _ = tokenize(src, "t.hie")
    assert [(t.kind, t.value) for t in toks if t.kind in (K.DOC, K.IDENT)] == [
        (K.DOC, "Doc  text"),
        (K.IDENT, None),
    ]
    x = next(t for t in toks if t.kind is K.IDENT)
    assert (x.line, x.column) == (5, 1)


def test_indent_dedent_stack_with_tabs_blank_lines_and_eof() -> None:
    src = "a:\n\tb:\n\n        c\n    d\n"
    # tab = 4 columns, so `\tb` and `    d` are the same level; the blank line changes nothing.
    assert kinds(src) == [
        K.IDENT, K.COLON, K.NEWLINE,
        K.INDENT, K.IDENT, K.COLON, K.NEWLINE,
        K.INDENT, K.IDENT, K.NEWLINE,
        K.DEDENT, K.IDENT, K.NEWLINE,
        K.DEDENT, K.EOF,
    ]  # fmt: skip


def test_comment_only_lines_adjust_the_stack_but_blank_lines_do_not() -> None:
    src = "a\n    # deeper comment\nb\n   \n\nc"
    assert kinds(src) == [
        K.IDENT, K.NEWLINE, K.INDENT, K.DEDENT, K.IDENT, K.NEWLINE, K.IDENT, K.NEWLINE, K.EOF,
    ]  # fmt: skip


def test_crlf_line_endings() -> None:
    toks, diags = tokenize("element a:\r\n    scope s = x\r\n", "t.hie")
    assert diags == []
    s = next(t for t in toks if t.text == "s")
    assert (s.line, s.column) == (2, 11)
    assert K.INDENT in [t.kind for t in toks]


def test_unknown_characters_warn_w002_and_are_skipped() -> None:
    toks, diags = tokenize("a $§ b", "t.hie")
    assert [t.text for t in toks if t.kind is K.IDENT] == ["a", "b"]
    assert [(d.code, d.severity.value, d.line, d.column) for d in diags] == [("W002", "warning", 1, 3)]


def test_unterminated_string_swallows_the_rest_like_upstream() -> None:
    # Changed with #11 (was E009, rest of the line skipped): upstream's lexer reads an unclosed quote to the
    # end of the file; we warn (W005) and the parser reports what it then finds.
    toks, diags = tokenize("x\ncheck f('abc\ny", "t.hie")
    assert [(d.code, d.line, d.column) for d in diags] == [("W005", 2, 9)]
    assert [t.text for t in toks if t.kind is K.IDENT] == ["x", "f"]


def test_strings_span_lines_and_later_lines_stay_true() -> None:
    toks, _ = tokenize("f('a\nb')\ny", "t.hie")
    assert [t.value for t in toks if t.kind is K.STRING] == ["a\nb"]
    assert [(t.text, t.line) for t in toks if t.kind is K.IDENT] == [("f", 1), ("y", 3)]
