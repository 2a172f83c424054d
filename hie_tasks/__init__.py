"""hie-tasks: run Hielements architecture checks like a build system runs tasks."""

from hie_tasks.version import __version__

__all__ = ["__version__"]
