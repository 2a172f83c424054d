"""Command-line interfaces: `hie-tasks` and the upstream-compatible `hielements`."""
