"""Regenerate the protobuf/gRPC modules from the vendored `.proto` files: `python -m hie_tasks.remote.regen`.

Needs `grpcio-tools` (a development dependency, in the `dev` extra). Run from anywhere; the modules are
written next to the `.proto` files and import each other as `hie_tasks.remote.proto.*`. The generated code
checks the protobuf runtime and grpcio versions it was made with: keep the `remote` extra's lower bounds
in pyproject.toml equal to what the header of the generated files says.
"""

from __future__ import annotations

import os
import sys

PROTOS = ("remote_execution.proto", "bytestream.proto")


def main() -> int:
    from grpc_tools import protoc

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    here = os.path.join("hie_tasks", "remote", "proto")
    for name in PROTOS:
        code = protoc.main(["protoc", f"-I{root}", f"--python_out={root}", f"--pyi_out={root}",
                            f"--grpc_python_out={root}", os.path.join(root, here, name)])
        if code != 0:
            print(f"protoc failed on {name}", file=sys.stderr)
            return int(code)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
