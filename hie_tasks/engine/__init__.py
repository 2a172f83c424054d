"""Evaluation: elements and scopes evaluated, checks planned and executed."""
