//! A hie-tasks WebAssembly plugin (ABI 1) in Rust: one selector and one check.
//!
//! The host writes a JSON request into memory from `alloc`, calls `library_call` (selectors) or
//! `library_check` (checks) and reads the JSON answer at `(ptr << 32) | len`. Each call runs in a fresh
//! instance, so nothing here needs to survive between calls.

use serde_json::{json, Value};
use std::alloc::{alloc as raw_alloc, dealloc as raw_dealloc, Layout};

const NAME: &str = "my_plugin";
const VERSION: &str = "0.1.0";

/// files(path): every regular file below `<workspace>/<path>`, sorted (needs fs = "read").
fn files(args: &[Value], workspace: &str) -> Value {
    let path = match string_arg(args, 0) {
        Some(p) => p,
        None => return json!({"Error": "files requires a string path argument"}),
    };
    let mut found = Vec::new();
    walk(&format!("{}/{}", workspace, path), &mut found);
    found.sort();
    json!({"Scope": {"kind": {"Folder": path}, "paths": found, "resolved": true}})
}

/// min_files(scope, n): Pass when the scope has at least n files.
fn min_files(args: &[Value]) -> Value {
    let count = args
        .get(0)
        .and_then(|v| v.pointer("/Scope/paths"))
        .and_then(Value::as_array)
        .map(|p| p.len() as i64);
    let want = args.get(1).and_then(int_value);
    match (count, want) {
        (Some(k), Some(n)) if k >= n => json!({"Pass": null}),
        (Some(k), Some(n)) => json!({"Fail": format!("Expected at least {} files, found {}", n, k)}),
        (None, _) => json!({"Error": "min_files requires a scope as first argument"}),
        (_, None) => json!({"Error": "min_files requires a number as second argument"}),
    }
}

fn call(function: &str, args: &[Value], workspace: &str) -> Value {
    match function {
        "files" => files(args, workspace),
        _ => json!({"Error": format!("Unknown function: {}.{}", NAME, function)}),
    }
}

fn check(function: &str, args: &[Value], _workspace: &str) -> Value {
    match function {
        "min_files" => min_files(args),
        _ => json!({"Error": format!("Unknown check function: {}.{}", NAME, function)}),
    }
}

fn doc() -> Value {
    json!({
        "name": NAME, "version": VERSION, "description": "A hie-tasks plugin written in Rust",
        "functions": [{"name": "files", "description": "Regular files below a folder",
                       "parameters": [{"name": "path", "type": "String", "description": "Folder"}],
                       "return_type": "Scope", "example": "scope src = my_plugin.files('src')"}],
        "checks": [{"name": "min_files", "description": "At least n files",
                    "parameters": [{"name": "scope", "type": "Scope", "description": "Files"},
                                   {"name": "n", "type": "Int", "description": "Minimum"}],
                    "return_type": "CheckResult", "example": "check my_plugin.min_files(src, 1)"}]
    })
}

// ---- helpers ----------------------------------------------------------------------------------------------

fn string_arg(args: &[Value], i: usize) -> Option<String> {
    let v = args.get(i)?;
    v.get("String").unwrap_or(v).as_str().map(str::to_owned)
}

/// Int, Float (truncated) or a bare number, as the host's own libraries read numbers.
fn int_value(v: &Value) -> Option<i64> {
    let n = v.get("Int").or_else(|| v.get("Float")).unwrap_or(v);
    n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))
}

fn walk(dir: &str, out: &mut Vec<String>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = format!("{}/{}", dir, entry.file_name().to_string_lossy());
            match entry.file_type() {
                Ok(t) if t.is_file() => out.push(path),
                Ok(t) if t.is_dir() => walk(&path, out),
                _ => {}
            }
        }
    }
}

// ---- ABI 1 exports ----------------------------------------------------------------------------------------

/// Hands `value` to the host as (ptr << 32) | len. The buffer is exactly `len` bytes with alignment 1, the
/// layout `dealloc` frees it with.
fn answer(value: &Value) -> u64 {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{\"Error\":\"cannot encode answer\"}".to_vec());
    let len = bytes.len();
    let ptr = Box::into_raw(bytes.into_boxed_slice()) as *mut u8;
    ((ptr as u64) << 32) | len as u64
}

fn dispatch(ptr: *const u8, len: i32, is_check: bool) -> u64 {
    let request = unsafe { std::slice::from_raw_parts(ptr, len.max(0) as usize) };
    let parsed: Value = match serde_json::from_slice(request) {
        Ok(v) => v,
        Err(e) => return answer(&json!({"Error": format!("{}: cannot parse the request: {}", NAME, e)})),
    };
    let function = parsed["function"].as_str().unwrap_or("");
    let workspace = parsed["workspace"].as_str().unwrap_or("");
    let empty = Vec::new();
    let args = parsed["args"].as_array().unwrap_or(&empty);
    let result = if is_check { check(function, args, workspace) } else { call(function, args, workspace) };
    answer(&result)
}

#[no_mangle]
pub extern "C" fn alloc(size: i32) -> *mut u8 {
    unsafe { raw_alloc(Layout::from_size_align_unchecked(size.max(1) as usize, 1)) }
}

/// # Safety
/// `ptr` must come from `alloc(size)` or be an answer of `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, size: i32) {
    raw_dealloc(ptr, Layout::from_size_align_unchecked(size.max(1) as usize, 1))
}

#[no_mangle]
pub extern "C" fn hielements_abi_version() -> i32 {
    1
}

#[no_mangle]
pub extern "C" fn library_call(ptr: *const u8, len: i32) -> u64 {
    dispatch(ptr, len, false)
}

#[no_mangle]
pub extern "C" fn library_check(ptr: *const u8, len: i32) -> u64 {
    dispatch(ptr, len, true)
}

#[no_mangle]
pub extern "C" fn library_metadata() -> u64 {
    answer(&json!({"name": NAME, "version": VERSION, "functions": ["files"], "checks": ["min_files"]}))
}

#[no_mangle]
pub extern "C" fn library_doc() -> u64 {
    answer(&doc())
}
