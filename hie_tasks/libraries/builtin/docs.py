"""`documentation()` metadata of the built-in libraries (what `hielements doc` prints).

The python and rust strings are upstream's, verbatim from the spec; the `files` entries are ours.
"""

from __future__ import annotations

from hie_tasks.libraries.base import FunctionDoc, LibraryDoc, ParamDoc

_VERSION = "1.0.0"
_SCOPE_PARAM = ParamDoc("scope", "Scope", "The scope to check")


def _string(name: str, description: str) -> ParamDoc:
    return ParamDoc(name, "string", description)


def _scope(name: str, description: str) -> ParamDoc:
    return ParamDoc(name, "Scope", description)


def _selector(name: str, description: str, params: tuple[ParamDoc, ...], example: str) -> FunctionDoc:
    return FunctionDoc(name, description, params, "Scope", example)


def _check(name: str, description: str, params: tuple[ParamDoc, ...], example: str) -> FunctionDoc:
    return FunctionDoc(name, description, params, "CheckResult", example)


FILES_DOC = LibraryDoc(
    name="files",
    description="File system library for selecting files, folders and glob matches and checking them.",
    version=_VERSION,
    functions=(
        _selector(
            "file_selector",
            "Select one file by its path relative to the workspace; the scope is empty if it is not a "
            "regular file.",
            (_string("path", "File path relative to the workspace"),),
            "scope readme = files.file_selector('README.md')",
        ),
        _selector(
            "folder_selector",
            "Select every regular file below a folder, recursively, hidden files included; symlinks are "
            "not followed.",
            (_string("path", "Folder path relative to the workspace"),),
            "scope src = files.folder_selector('src')",
        ),
        _selector(
            "glob_selector",
            "Select the regular files matching a glob pattern (`*`, `?`, `[abc]`, `[!abc]`, `**`); "
            "wildcards match hidden names too and matching is case-sensitive.",
            (_string("pattern", "Glob pattern relative to the workspace"),),
            "scope sources = files.glob_selector('src/**/*.py')",
        ),
    ),
    checks=(
        _check(
            "exists",
            "Check that a file exists: inside a folder scope, among a glob scope's matches, or (for a "
            "file scope) the scope's own file.",
            (_SCOPE_PARAM, _string("name", "File or folder name (may contain `/` for folder scopes)")),
            "check files.exists(root, 'README.md')",
        ),
        _check(
            "contains",
            "Check that a folder contains an entry, or that some path of the scope ends with a name.",
            (_SCOPE_PARAM, _string("name", "Entry name or path suffix")),
            "check files.contains(src, 'main.py')",
        ),
        _check(
            "no_files_matching",
            "Check that no file or folder under the scope's folder matches a glob pattern.",
            (_SCOPE_PARAM, _string("pattern", "Glob pattern relative to the scope's folder")),
            "check files.no_files_matching(src, '**/*.tmp')",
        ),
        _check(
            "max_size",
            "Check that every file of the scope is at most a number of bytes long.",
            (_SCOPE_PARAM, ParamDoc("bytes", "number", "Maximum size in bytes (a fraction is truncated)")),
            "check files.max_size(src, 100000)",
        ),
    ),
)


PYTHON_DOC = LibraryDoc(
    name="python",
    description="Python language analysis library for selecting and checking Python code constructs.",
    version=_VERSION,
    functions=(
        _selector(
            "module_selector",
            "Select a Python module by name (e.g., 'orders' or 'orders.api').",
            (_string("module_path", "Dotted module path"),),
            "scope api = python.module_selector('orders.api')",
        ),
        _selector(
            "function_selector",
            "Select Python functions by name.",
            (_string("func_name", "Name of the function to find"),),
            "scope handlers = python.function_selector('handle_request')",
        ),
        _selector(
            "class_selector",
            "Select Python classes by name.",
            (_string("class_name", "Name of the class to find"),),
            "scope models = python.class_selector('UserModel')",
        ),
    ),
    checks=(
        _check(
            "imports",
            "Check that a scope imports a specific module.",
            (_SCOPE_PARAM, _string("module_name", "Module name to look for")),
            "check python.imports(api_mod, 'typing')",
        ),
        _check(
            "no_import",
            "Check that a scope does NOT import a specific module.",
            (_SCOPE_PARAM, _string("module_name", "Module name that should not be imported")),
            "check python.no_import(core_mod, 'django')",
        ),
        _check(
            "returns_type",
            "Check that any function in a scope returns a given type.",
            (_SCOPE_PARAM, _string("type_name", "Return type to look for")),
            "check python.returns_type(api_mod, 'Response')",
        ),
        _check(
            "function_returns_type",
            "Check that a specific function returns a given type.",
            (
                _SCOPE_PARAM,
                _string("func_name", "Function name"),
                _string("type_name", "Expected return type"),
            ),
            "check python.function_returns_type(api_mod, 'get_user', 'User')",
        ),
        _check(
            "calls",
            "Check that a scope calls a specific identifier (function or object).",
            (_SCOPE_PARAM, _string("target", "Identifier to look for")),
            "check python.calls(service_mod, 'logger')",
        ),
        _check(
            "calls_function",
            "Check that a scope calls a specific function in a module.",
            (_SCOPE_PARAM, _string("module_name", "Module name"), _string("func_name", "Function name")),
            "check python.calls_function(api_mod, 'database', 'connect')",
        ),
        _check(
            "calls_scope",
            "Check that source scope calls something in target scope.",
            (
                _scope("source_scope", "Source scope that should make calls"),
                _scope("target_scope", "Target scope that should be called"),
            ),
            "check python.calls_scope(api_mod, utils_mod)",
        ),
    ),
)


def _item_selector(label: str, param: str, example: str) -> FunctionDoc:
    return _selector(
        f"{label}_selector",
        f"Select a Rust {label} by name.",
        (_string(param, f"Name of the {label} to find"),),
        example,
    )


def _item_exists(label: str, param: str, example: str) -> FunctionDoc:
    article = "an" if label == "enum" else "a"
    return _check(
        f"{label}_exists",
        f"Check that {article} {label} with the given name exists.",
        (_string(param, f"Name of the {label}"),),
        example,
    )


RUST_DOC = LibraryDoc(
    name="rust",
    description="Rust language analysis library for selecting and checking Rust code constructs.",
    version=_VERSION,
    functions=(
        _selector(
            "crate_selector",
            "Select a Rust crate by name from the workspace.",
            (_string("crate_name", "Name of the crate to select"),),
            "scope core = rust.crate_selector('hielements-core')",
        ),
        _selector(
            "module_selector",
            "Select a Rust module by path (e.g., 'lexer' or 'stdlib::files').",
            (_string("module_path", "Module path using :: separator"),),
            "scope lexer_mod = rust.module_selector('lexer')",
        ),
        _item_selector("struct", "struct_name", "ref token: Token = rust.struct_selector('Token')"),
        _item_selector("enum", "enum_name", "ref kind: TokenKind = rust.enum_selector('TokenKind')"),
        _item_selector("function", "func_name", "ref parse_fn: Function = rust.function_selector('parse')"),
        _item_selector("trait", "trait_name", "ref lib_trait: Trait = rust.trait_selector('Library')"),
        _selector(
            "impl_selector",
            "Select Rust impl blocks for a type.",
            (_string("type_name", "Name of the type to find impls for"),),
            "scope impl_blocks = rust.impl_selector('Parser')",
        ),
    ),
    checks=(
        _item_exists("struct", "struct_name", "check rust.struct_exists('Parser')"),
        _item_exists("enum", "enum_name", "check rust.enum_exists('TokenKind')"),
        _item_exists("function", "func_name", "check rust.function_exists('parse')"),
        _item_exists("trait", "trait_name", "check rust.trait_exists('Library')"),
        _check(
            "impl_exists",
            "Check that an impl block for the given type exists.",
            (_string("type_name", "Name of the type"),),
            "check rust.impl_exists('Parser')",
        ),
        _check(
            "implements",
            "Check that a type implements a specific trait.",
            (
                _string("type_name", "Name of the implementing type"),
                _string("trait_name", "Name of the trait"),
            ),
            "check rust.implements('FilesLibrary', 'Library')",
        ),
        _check(
            "uses",
            "Check that a scope uses a specific module.",
            (_SCOPE_PARAM, _string("module_path", "Module path to look for")),
            "check rust.uses(parser_mod, 'crate::lexer')",
        ),
        _check(
            "has_derive",
            "Check that a scope has a specific derive macro.",
            (_SCOPE_PARAM, _string("derive_name", "Name of the derive (e.g., 'Debug', 'Clone')")),
            "check rust.has_derive(struct_scope, 'Serialize')",
        ),
        _check(
            "has_docs",
            "Check that a scope has documentation comments.",
            (_SCOPE_PARAM,),
            "check rust.has_docs(module)",
        ),
        _check(
            "has_tests",
            "Check that a scope has test functions.",
            (_SCOPE_PARAM,),
            "check rust.has_tests(module)",
        ),
        _check(
            "depends_on",
            "Check that scope_a depends on (uses types from) scope_b.",
            (
                _scope("scope_a", "Source scope"),
                _scope("scope_b", "Target scope that should be a dependency"),
            ),
            "check rust.depends_on(parser_mod, lexer_mod)",
        ),
        _check(
            "no_dependency",
            "Check that scope_a does NOT depend on scope_b (architectural boundary).",
            (
                _scope("scope_a", "Source scope"),
                _scope("scope_b", "Target scope that should NOT be a dependency"),
            ),
            "check rust.no_dependency(core_mod, cli_mod)",
        ),
        _check(
            "pipeline_connects",
            "Check that output type from one scope connects to input of another.",
            (
                _scope("output_scope", "Scope producing output"),
                _scope("input_scope", "Scope consuming input"),
            ),
            "check rust.pipeline_connects(lexer.tokens, parser.input)",
        ),
        _check(
            "type_compatible",
            "Check that two scopes have compatible types.",
            (_scope("scope_a", "First scope"), _scope("scope_b", "Second scope")),
            "check rust.type_compatible(producer_type, consumer_type)",
        ),
    ),
)

#: Each built-in library's documentation by its name.
DOCS = {"files": FILES_DOC, "python": PYTHON_DOC, "rust": RUST_DOC}
