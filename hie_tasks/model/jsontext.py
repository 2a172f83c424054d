"""JSON text for the paths that only write it, without importing the `json` package.

`import json` loads its decoder and scanner, and with them `re` (which loads `enum`): ~4 ms of CPU, more
than rerunning the two checks of an edited file costs (hie_tasks/replay/partial.py). Writing needs only the
C accelerator `_json` that the package itself writes with. `encoder(...)` gives exactly
`json.JSONEncoder(...).encode` (the same C encoder with the same quoting function, arguments in the order
`JSONEncoder.iterencode` passes them), `dumps` the compact forms of `json.dumps`, `quote` the string
quoting. `loads` reads with the package's C scanner, configured as `json.loads` configures it; a text it
cannot read whole goes to `json.loads` itself, which raises the package's own error. On a Python without
`_json`, or whose `_json` takes other arguments, every function is the package's own.
"""

from __future__ import annotations

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["dumps", "encoder", "loads", "quote", "quote_ascii"]


def _accelerator() -> Any:
    try:
        import _json
    except ImportError:  # pragma: no cover - CPython always has it
        return None
    return _json


_C: Any = _accelerator()
if _C is None:  # pragma: no cover
    import json.encoder

    quote: Callable[[str], str] = json.encoder.encode_basestring
    quote_ascii: Callable[[str], str] = json.encoder.encode_basestring_ascii
else:
    quote = _C.encode_basestring
    quote_ascii = _C.encode_basestring_ascii
_make_encoder: Any = getattr(_C, "make_encoder", None)


def _default(value: Any) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def encoder(*, sort_keys: bool = False, separators: tuple[str, str] = (", ", ": "),
            ensure_ascii: bool = True) -> Callable[[Any], str]:
    """`json.JSONEncoder(sort_keys=…, separators=…, ensure_ascii=…).encode` (no indent)."""
    item, key = separators
    quoting = quote_ascii if ensure_ascii else quote
    make = _make_encoder
    if make is not None:
        try:
            make({}, _default, quoting, None, key, item, sort_keys, False, True)
        except TypeError:  # another Python's signature: leave it to the package
            make = None
    if make is None:
        import json

        return json.JSONEncoder(sort_keys=sort_keys, separators=separators, ensure_ascii=ensure_ascii).encode

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return quoting(value)
        # A fresh markers dict per document, as `iterencode` makes one: a document that failed half-way
        # leaves its entries behind.
        return "".join(make({}, _default, quoting, None, key, item, sort_keys, False, True)(value, 0))

    return encode


_plain = encoder()
_sorted = encoder(sort_keys=True)
_plain_text = encoder(ensure_ascii=False)


def dumps(value: Any, *, sort_keys: bool = False, ensure_ascii: bool = True) -> str:
    """`json.dumps(value, sort_keys=…, ensure_ascii=…)` with the default separators."""
    if ensure_ascii:
        return _sorted(value) if sort_keys else _plain(value)
    if not sort_keys:
        return _plain_text(value)
    return encoder(sort_keys=True, ensure_ascii=False)(value)


class _Decoding:
    """What the C scanner reads from a `json.JSONDecoder()`: its defaults, as `json.loads` uses them."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


_scan: Callable[[str, int], tuple[Any, int]] | None = None
if getattr(_C, "make_scanner", None) is not None:
    try:
        _scan = _C.make_scanner(_Decoding())
    except (TypeError, AttributeError):  # pragma: no cover - another Python's scanner
        _scan = None

#: JSON's whitespace (`json.decoder.WHITESPACE`)
_BLANK = " \t\n\r"


def loads(text: str) -> Any:
    """`json.loads(text)`: the same value, or the same `json.JSONDecodeError`."""
    if _scan is not None:
        start = len(text) - len(text.lstrip(_BLANK))
        try:
            value, end = _scan(text, start)
        except StopIteration:
            pass
        else:
            if end == len(text) or not text[end:].strip(_BLANK):
                return value
    import json

    return json.loads(text)
