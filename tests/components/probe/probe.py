"""A component written against the raw plugin world (no SDK): capability probes and hostile behaviour.

Built once per test session by tests/components/conftest.py. Selectors answer a String with what they saw;
checks misbehave on purpose (endless loop, memory bomb, uncaught exception, wrong return type, bad JSON).
"""

import json
import os
import sys

import wit_world
from wit_world.imports import types as t


def _arg(req, i):
    value = json.loads(req.args[i])
    return value.get("String", value) if isinstance(value, dict) else value


def _value(text):
    return t.CallAnswer(t.CallValue_Value(json.dumps({"String": text})), [])


def _error(text):
    return t.CallAnswer(t.CallValue_Error(text), [])


class WitWorld(wit_world.WitWorld):
    def abi_version(self):
        return 1

    def describe(self):
        # Every name is declared: hie-tasks resolves each call against this catalog before running.
        path = [t.ParamDoc("path", "String", "file")]
        functions = [t.FunctionDoc(n, f"probe {n}", path if n in ("read", "list", "write") else [], "String", "")
                     for n in ("read", "list", "write", "env", "socket", "badjson")]
        checks = [t.FunctionDoc(n, f"probe {n}", [], "CheckResult", "")
                  for n in ("ok", "print", "loop", "bomb", "raise", "shape", "exit", "global")]
        return t.LibraryInfo("probe", "0.0.1", "capability and hostility probe", functions, checks)

    def call(self, req):
        f = req.function
        try:
            if f == "read":
                with open(_arg(req, 0)) as fh:
                    return _value(fh.read())
            if f == "list":
                return _value(json.dumps(sorted(os.listdir(_arg(req, 0)))))
            if f == "write":
                with open(_arg(req, 0), "w") as fh:
                    fh.write("written by the probe\n")
                return _value("wrote")
            if f == "env":
                return _value(json.dumps(dict(os.environ)))
            if f == "socket":
                import socket  # noqa: F401

                return _value("socket imported")
        except (OSError, ImportError) as exc:
            return _error(f"{type(exc).__name__}: {exc}")
        if f == "badjson":
            return t.CallAnswer(t.CallValue_Value("{not json"), [])
        return _error(f"Unknown function: probe.{f}")

    def check(self, req):
        f = req.function
        if f == "ok":
            return t.CheckAnswer(t.Verdict_Pass(), [])
        if f == "print":
            print("to stdout from the probe")
            print("to stderr from the probe", file=sys.stderr)
            return t.CheckAnswer(t.Verdict_Fail("printed"), [req.workspace + "/dep.txt"])
        if f == "loop":
            while True:
                pass
        if f == "bomb":
            hoard = []
            while True:
                hoard.append(bytearray(1 << 20))
        if f == "raise":
            raise ValueError("boom from the probe")
        if f == "shape":
            return "a string where a check-answer belongs"
        if f == "exit":
            sys.exit(3)
        if f == "global":
            # A fresh instance per call: this counter must read 1 every time.
            global CALLS
            CALLS = globals().get("CALLS", 0) + 1
            return t.CheckAnswer(t.Verdict_Fail(f"call number {CALLS}"), [])
        return t.CheckAnswer(t.Verdict_Error(f"Unknown check function: probe.{f}"), [])
