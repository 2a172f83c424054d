"""WASM plugins: wasmtime engine, compiled-module cache, capability sandbox, the Library adapter."""
