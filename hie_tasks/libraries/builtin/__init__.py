"""Built-in libraries `files`, `python` and `rust`."""
