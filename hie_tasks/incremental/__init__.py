"""Incremental runs: file digests, fingerprints of checks, the stored verdicts."""
