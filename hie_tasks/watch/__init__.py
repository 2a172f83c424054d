"""Watch mode: rerun exactly the checks a file change can affect, and report each cycle."""
