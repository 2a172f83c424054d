"""The Dockerfile plugin against real Dockerfiles on disk, including the awkward corners of the format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from driver import Driver, I, S, scope

GOOD = """\
# syntax=docker/dockerfile:1
ARG PY=3.12
FROM --platform=$BUILDPLATFORM python:${PY}-slim AS build
RUN pip install \\
    # comments may sit inside a continuation
    flask
from build as test
FROM python:3.12-slim@sha256:0123abcd
COPY --from=build /app /app
expose 8000-8010/tcp 53/udp
HEALTHCHECK --interval=30s CMD curl -f http://localhost/ || exit 1
USER app:app
ENTRYPOINT ["gunicorn", "app:app"]
CMD ["--workers", "2"]
"""

BAD = """\
ARG TAG
FROM ubuntu
FROM alpine:latest
FROM debian:$TAG
USER app
HEALTHCHECK NONE
CMD python -m http.server
USER 0
"""


_WASM: list[Path] = []


@pytest.fixture(autouse=True)
def _plugin(built: dict[str, Path]) -> None:
    # The session fixture's module path, for the plain helpers below.
    _WASM[:] = [built["dockerfile"]]


def driver(ws: Path, fs: str = "read") -> Driver:
    return Driver(_WASM[0], ws, fs=fs)


def check(tmp_path: Path, text: str, function: str, *args: Any) -> Any:
    (tmp_path / "Dockerfile").write_text(text)
    s = scope("File", "Dockerfile", [str(tmp_path.resolve() / "Dockerfile")])
    return driver(tmp_path).check(function, s, *args)


def test_good_dockerfile_passes_everything(tmp_path: Path) -> None:
    for function, args in [
        ("exposes_port", [I(8005)]),
        ("exposes_port", [S("53/udp")]),
        ("has_healthcheck", []),
        ("base_image_pinned", []),
        ("entry_point", [S("gunicorn app:app --workers")]),
        ("no_root_user", []),
    ]:
        answer = check(tmp_path, GOOD, function, *args)
        assert answer["Pass"] is None, (function, answer)
        assert answer["deps"] == [str(tmp_path.resolve() / "Dockerfile")]


def test_bad_dockerfile_fails_with_file_and_line(tmp_path: Path) -> None:
    pinned = check(tmp_path, BAD, "base_image_pinned")["Fail"].splitlines()
    assert pinned == [
        "Dockerfile:2: FROM ubuntu is not pinned: no tag (means 'latest'); add a version tag or @sha256 digest",
        "Dockerfile:3: FROM alpine:latest uses the 'latest' tag; pin a version tag or @sha256 digest",
        "Dockerfile:4: FROM debian:$TAG: ARG TAG has no default, so the image cannot be checked",
    ]
    assert check(tmp_path, BAD, "no_root_user") == {
        "Fail": "Dockerfile:8: USER 0 runs the container as root",
        "deps": [str(tmp_path.resolve() / "Dockerfile")],
    }
    assert (
        check(tmp_path, BAD, "has_healthcheck")["Fail"]
        == "Dockerfile:6: HEALTHCHECK NONE disables the health check"
    )
    assert check(tmp_path, BAD, "exposes_port", I(80))["Fail"] == "Dockerfile: does not EXPOSE port 80"
    assert (
        check(tmp_path, GOOD, "exposes_port", S("53/tcp"))["Fail"]
        == "Dockerfile: does not EXPOSE port 53/tcp"
    )
    assert check(tmp_path, BAD, "entry_point", S("gunicorn"))["Fail"] == (
        "Dockerfile:7: the container runs 'python -m http.server', which does not contain 'gunicorn'"
    )


def test_no_user_means_root_and_user_only_counts_in_the_final_stage(tmp_path: Path) -> None:
    text = "FROM a:1 AS build\nUSER app\nFROM b:2\n"
    assert "no USER instruction in the final stage" in check(tmp_path, text, "no_root_user")["Fail"]


def test_folder_scope_picks_dockerfiles_by_name_and_empty_scope_fails(tmp_path: Path) -> None:
    ws = tmp_path.resolve()
    (ws / "svc").mkdir()
    (ws / "svc" / "api.Dockerfile").write_text("FROM x:1\n")
    (ws / "svc" / "README.md").write_text("FROM nothing\n")
    d = driver(ws)
    paths = [str(ws / "svc" / "README.md"), str(ws / "svc" / "api.Dockerfile")]
    answer = d.check("base_image_pinned", scope("Folder", "svc", paths))
    assert answer == {"Pass": None, "deps": [str(ws / "svc" / "api.Dockerfile")]}
    assert d.check("has_healthcheck", scope("Folder", "svc", [])) == {"Fail": "No Dockerfile in scope 'svc'"}


def test_unreadable_file_is_an_error_naming_the_capability(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM x:1\n")
    d = driver(tmp_path, fs="none")
    answer = d.check("has_healthcheck", scope("File", "Dockerfile", [str(tmp_path.resolve() / "Dockerfile")]))
    assert (
        answer["Error"] == "Cannot read 'Dockerfile' (does the plugin have fs = \"read\" in hielements.toml?)"
    )
