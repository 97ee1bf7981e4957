"""A missing toolchain is named, with what to install."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from etnik.devstack import tools


@pytest.fixture
def bare_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine with nothing on PATH and no way to install packages."""
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(tools.shutil, "which", lambda _program: None)
    monkeypatch.setattr(tools.os, "access", lambda _path, _mode: False)
    monkeypatch.setattr(tools, "_can_use_apt", lambda: False)
    for cached in (tools.java, tools.maven, tools.go, tools.nginx, tools.promtool):
        cached.cache_clear()
    yield
    for cached in (tools.java, tools.maven, tools.go, tools.nginx, tools.promtool):
        cached.cache_clear()


@pytest.mark.usefixtures("bare_machine")
@pytest.mark.parametrize(
    ("find", "message"),
    [
        (tools.java, "Java 17 not found: install openjdk-17-jre-headless"),
        (tools.maven, "Maven (mvn) not found: install maven"),
        (tools.go, "Go not found: install Go 1.26 or newer"),
        (tools.nginx, "nginx not found: install nginx-light (apt-get install -y nginx-light)"),
        (tools.promtool, "promtool not found: install prometheus"),
    ],
)
def test_a_missing_tool_names_what_to_install(find: Callable[[], str], message: str) -> None:
    with pytest.raises(tools.MissingToolError, match=re.escape(message)):
        find()
