"""hie-tasks: run Hielements architecture checks like a build system runs tasks."""

__version__ = "0.1.0"
