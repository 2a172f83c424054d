"""The daemon's messages as JSON text, without the `json` module.

Every `hie-tasks run` encodes one request and decodes one small answer before it knows whether a daemon
serves it. Loading the `json` module costs more than everything else the client does together: it imports `re` and
compiles the scanner's patterns at import time (`python -X importtime`: json ≈ 5 ms of an 8 ms client,
several times that on a loaded machine). The messages are tiny and their values plain — objects, arrays,
strings, integers, now and then a float, booleans, null — so a hand-written codec is a few dozen lines of
`str.translate`/`str.find` and costs microseconds per message. It speaks standard JSON (RFC 8259): `json`
reads what `encode` writes and `decode` reads what `json` writes (tests check both ways); anything it does
not understand is a `ValueError`, never a guess.
"""

from __future__ import annotations

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

#: A message nested deeper than this is refused rather than recursed into (ours nest three levels).
MAX_DEPTH = 32

_ESCAPE = {ord('"'): '\\"', ord("\\"): "\\\\", **{c: f"\\u{c:04x}" for c in range(0x20)}}
_ESCAPE.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord("\b"): "\\b", ord("\f"): "\\f"})
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_NUMBER_CHARS = frozenset("+-.0123456789eE")
_WHITESPACE = " \t\n\r"


def encode(value: Any) -> str:
    """`value` (dict with str keys, list, tuple, str, int, float, bool, None) as compact JSON text;
    non-ASCII characters are written as themselves, as `json.dumps(..., ensure_ascii=False)` does."""
    parts: list[str] = []
    _encode(value, parts, 0)
    return "".join(parts)


def _encode(value: Any, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    if isinstance(value, str):
        out.append('"' + value.translate(_ESCAPE) + '"')
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("JSON has no NaN or infinity")
        out.append(repr(value))
    elif isinstance(value, dict):
        out.append("{")
        for n, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise ValueError(f"an object key must be a string, not {type(key).__name__}")
            out.append(("," if n else "") + '"' + key.translate(_ESCAPE) + '":')
            _encode(item, out, depth + 1)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for n, item in enumerate(value):
            if n:
                out.append(",")
            _encode(item, out, depth + 1)
        out.append("]")
    else:
        raise ValueError(f"cannot encode a {type(value).__name__}")


def decode(text: str) -> Any:
    """The value of one JSON text; ValueError when it is not exactly one well-formed value."""
    value, at = _value(text, _skip(text, 0), 0)
    if _skip(text, at) != len(text):
        raise ValueError(f"extra data at {at}")
    return value


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _WHITESPACE:
        at += 1
    return at


def _value(text: str, at: int, depth: int) -> tuple[Any, int]:
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    if at >= len(text):
        raise ValueError("unexpected end of the message")
    char = text[at]
    if char == '"':
        return _string(text, at + 1)
    if char == "{":
        return _object(text, at + 1, depth)
    if char == "[":
        return _array(text, at + 1, depth)
    for word, meaning in (("true", True), ("false", False), ("null", None)):
        if text.startswith(word, at):
            return meaning, at + len(word)
    return _number(text, at)


def _object(text: str, at: int, depth: int) -> tuple[dict[str, Any], int]:
    found: dict[str, Any] = {}
    at = _skip(text, at)
    if text.startswith("}", at):
        return found, at + 1
    while True:
        if not text.startswith('"', at):
            raise ValueError(f"expected a key at {at}")
        key, at = _string(text, at + 1)
        at = _skip(text, at)
        if not text.startswith(":", at):
            raise ValueError(f"expected ':' at {at}")
        found[key], at = _value(text, _skip(text, at + 1), depth + 1)
        at = _skip(text, at)
        if text.startswith(",", at):
            at = _skip(text, at + 1)
        elif text.startswith("}", at):
            return found, at + 1
        else:
            raise ValueError(f"expected ',' or '}}' at {at}")


def _array(text: str, at: int, depth: int) -> tuple[list[Any], int]:
    found: list[Any] = []
    at = _skip(text, at)
    if text.startswith("]", at):
        return found, at + 1
    while True:
        item, at = _value(text, at, depth + 1)
        found.append(item)
        at = _skip(text, at)
        if text.startswith(",", at):
            at = _skip(text, at + 1)
        elif text.startswith("]", at):
            return found, at + 1
        else:
            raise ValueError(f"expected ',' or ']' at {at}")


def _string(text: str, at: int) -> tuple[str, int]:
    """The string whose opening quote is just before `at`, and the position after its closing quote."""
    parts: list[str] = []
    while True:
        quote = text.find('"', at)
        if quote < 0:
            raise ValueError("unterminated string")
        backslash = text.find("\\", at, quote)
        end = quote if backslash < 0 else backslash
        chunk = text[at:end]
        if any(c < " " for c in chunk):
            raise ValueError("a control character in a string")
        parts.append(chunk)
        if backslash < 0:
            return "".join(parts), quote + 1
        escape = text[backslash + 1:backslash + 2]
        if escape in _SIMPLE:
            parts.append(_SIMPLE[escape])
            at = backslash + 2
        elif escape == "u":
            code, at = _hex4(text, backslash + 2)
            if 0xD800 <= code < 0xDC00 and text.startswith("\\u", at):
                low, after = _hex4(text, at + 2)
                if 0xDC00 <= low < 0xE000:
                    code, at = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00), after
            parts.append(chr(code))
        else:
            raise ValueError(f"a bad escape at {backslash}")


def _hex4(text: str, at: int) -> tuple[int, int]:
    digits = text[at:at + 4]
    if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError(f"a bad \\u escape at {at}")
    return int(digits, 16), at + 4


def _number(text: str, at: int) -> tuple[int | float, int]:
    end = at
    while end < len(text) and text[end] in _NUMBER_CHARS:
        end += 1
    token = text[at:end]
    if not token:
        raise ValueError(f"unexpected {text[at]!r} at {at}")
    digits = token[1:] if token.startswith("-") else token
    # JSON's grammar, which int() and float() are more lenient than: no '+', no leading zeros, no bare '.'
    if not digits or not digits[0].isdigit() or (len(digits) > 1 and digits[0] == "0" and digits[1].isdigit()):
        raise ValueError(f"a bad number at {at}")
    if all(c in "0123456789" for c in digits):
        return int(token), end
    fraction, _e, exponent = digits.lower().partition("e")
    whole, dot, decimals = fraction.partition(".")
    if (not whole.isdigit() or (dot and not decimals.isdigit())
            or (_e and not exponent.lstrip("+-").isdigit()) or exponent[1:2] in ("+", "-")):
        raise ValueError(f"a bad number at {at}")
    return float(token), end
