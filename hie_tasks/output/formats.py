"""The report formats `run -f` offers, by name, and the one way every command renders a report.

Each machine format is a module with `render(report: RunReport) -> str`; adding a format is one entry here.
Every format carries the same facts, including the diagnostics of a spec that could not run
(`RunReport.spec_invalid`), so a CI job reading only the report still learns why nothing ran.
"""

from __future__ import annotations

import importlib

from hie_tasks.engine.results import RunReport

#: format name → module rendering it; "human" is the terminal reporter (`hie_tasks.output.human`).
MACHINE_FORMATS: dict[str, str] = {
    "json": "hie_tasks.output.json_report",
    "junit": "hie_tasks.output.junit",
    "github": "hie_tasks.output.github",
    "sarif": "hie_tasks.output.sarif",
}
FORMATS: list[str] = ["human", *MACHINE_FORMATS]


def format_help(formats: list[str]) -> str:
    return "report format: " + ", ".join(formats) + " (default: human)"


def render(fmt: str, report: RunReport) -> str:
    module = importlib.import_module(MACHINE_FORMATS[fmt])
    text: str = module.render(report)
    return text
