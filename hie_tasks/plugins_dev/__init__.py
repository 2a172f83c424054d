"""Tools for plugin authors: build a plugin from source and scaffold a new one."""

from hie_tasks.plugins_dev.build import BuildError, BuildResult, build_plugin
from hie_tasks.plugins_dev.scaffold import new_plugin

__all__ = ["BuildError", "BuildResult", "build_plugin", "new_plugin"]
