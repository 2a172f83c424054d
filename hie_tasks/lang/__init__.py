"""Front end: text → tokens → AST, with diagnostics. Imports only `hie_tasks.diagnostics`."""
