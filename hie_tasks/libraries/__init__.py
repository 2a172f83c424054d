"""Libraries: the interface, the registry, and the three kinds (built-in, external process, WASM)."""
