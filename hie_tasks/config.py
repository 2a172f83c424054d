"""`hielements.toml`: the configured libraries of a workspace.

Data classes only here are the contract between the loader and the library kinds; `load_config` parses and
validates the file (see its docstring for the rules).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

CONFIG_FILE = "hielements.toml"


class FsAccess(str, enum.Enum):
    NONE = "none"
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Capabilities:
    fs: FsAccess = FsAccess.NONE
    workspace_only: bool = True
    #: False = empty environment, True = the whole host environment, a tuple = only those variables
    env_access: bool | tuple[str, ...] = False


@dataclass(frozen=True)
class WasmLibraryConfig:
    name: str
    #: absolute path of the .wasm file
    path: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    timeout_ms: int = 10_000
    max_memory_mb: int = 256
    max_output_mb: int = 16


@dataclass(frozen=True)
class ExternalLibraryConfig:
    name: str
    #: the program: an absolute path when the entry named a path, else the bare name looked up on PATH
    executable: str
    args: tuple[str, ...] = ()
    timeout_ms: int = 30_000
    max_output_mb: int = 64


LibraryConfig = WasmLibraryConfig | ExternalLibraryConfig


@dataclass(frozen=True)
class WorkspaceConfig:
    #: absolute path of hielements.toml, or None when the workspace has none
    file: str | None
    libraries: tuple[LibraryConfig, ...] = ()
