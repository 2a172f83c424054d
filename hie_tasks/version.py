"""The hie-tasks version: part of every fingerprint, so an upgrade never replays an older tool's verdict."""

__version__ = "0.1.0"
