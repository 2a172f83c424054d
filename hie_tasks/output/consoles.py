"""The rich consoles every command prints through, by colour mode (`--color auto|always|never`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def make_console(stream: TextIO, mode: str) -> Console:
    # Imported on first use: rich costs ~0.1 s of start-up, and `run -f json` with no problem never prints.
    from rich.console import Console

    # highlight=False: messages contain paths and numbers that rich would otherwise colour at random.
    # "never" drops every escape, bold and dim included (rich's own NO_COLOR support keeps those).
    if mode == "never":
        return Console(file=stream, highlight=False, soft_wrap=True, color_system=None)
    if mode == "always":
        return Console(file=stream, highlight=False, soft_wrap=True, force_terminal=True, color_system="standard")
    return Console(file=stream, highlight=False, soft_wrap=True)


def auto_mode(no_color: str | None) -> str:
    """`--color auto`'s mode given `$NO_COLOR`: a terminal is coloured unless it is set (https://no-color.org)."""
    return "never" if no_color else "auto"
