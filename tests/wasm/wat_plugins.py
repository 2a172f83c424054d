"""WAT sources of the tiny test plugins; each is a complete module. `answer(json)` builds a plugin whose
library_call/library_check both return `json` from a data segment."""

from __future__ import annotations

HEADER = """
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 4096))
  (func (export "alloc") (param $n i32) (result i32)
    (local $p i32) (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
"""


def _escape(text: str) -> str:
    return "".join(f"\\{b:02x}" for b in text.encode("utf-8"))


def answer(json_text: str, extra: str = "") -> str:
    n = len(json_text.encode("utf-8"))
    return f"""(module {HEADER}
  (data (i32.const 16) "{_escape(json_text)}")
  (func (export "library_call") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const {n})))
  (func (export "library_check") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const {n})))
  {extra})"""


def body(call_body: str, extra: str = "", result: str = "(result i64)") -> str:
    """A plugin whose library_call and library_check run `call_body`."""
    return f"""(module {HEADER}
  (func (export "library_call") (param i32 i32) {result} {call_body})
  (func (export "library_check") (param i32 i32) {result} {call_body})
  {extra})"""


# Echoes the request back: proves the request JSON arrived intact (as a String value? no: raw JSON).
ECHO = f"""(module {HEADER}
  (func (export "library_call") (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))
  (func (export "library_check") (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n)))))"""

MULTI_VALUE = f"""(module {HEADER}
  (data (i32.const 16) "{_escape('{"Fail": "multi"}')}")
  (func (export "library_check") (param i32 i32) (result i32 i32) (i32.const 16) (i32.const 17)))"""

# Prints the request it got to stdout (fd_write with one iovec at address 0), then answers "pass".
PRINT_REQUEST = f"""(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  {HEADER}
  (data (i32.const 16) "\\"pass\\"")
  (func (export "library_check") (param $p i32) (param $n i32) (result i64)
    (i32.store (i32.const 0) (local.get $p)) (i32.store (i32.const 4) (local.get $n))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 6))))"""

INFINITE_LOOP = body("(loop $l (br $l)) (i64.const 0)")
MEMORY_BOMB = body("(block $b (loop $l (br_if $b (i32.eq (memory.grow (i32.const 16)) (i32.const -1))) (br $l))) unreachable")
DEEP_RECURSION = body(
    "(call $rec (i32.const 0))",
    extra="(func $rec (param $d i32) (result i64) (call $rec (i32.add (local.get $d) (i32.const 1))))",
)
UNREACHABLE = body("unreachable")
OUT_OF_BOUNDS = body("(i64.or (i64.shl (i64.const 0x7ffffff0) (i64.const 32)) (i64.const 100))")
ONE_GIB = body("(i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 0x40000000))")
INVALID_UTF8 = answer("x").replace(_escape("x"), "\\ff\\fe")
INVALID_JSON = answer("{not json")
MISSING_ALLOC = """(module (memory (export "memory") 1)
  (func (export "library_check") (param i32 i32) (result i64) (i64.const 0)))"""
UNKNOWN_IMPORT = answer('{"Pass": null}').replace(
    "(module", '(module (import "env" "sneaky" (func (param i32)))', 1
)
UNKNOWN_WASI_FN = answer('{"Pass": null}').replace(
    "(module", '(module (import "wasi_snapshot_preview1" "no_such_call" (func (param i32)))', 1
)
WRONG_SIGNATURE = f"""(module {HEADER}
  (func (export "library_check") (param i32) (result i32) (i32.const 0)))"""
BAD_ABI_VERSION = answer('{"Pass": null}', '(func (export "hielements_abi_version") (result i32) (i32.const 7))')
