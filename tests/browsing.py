"""Shared by the browser tests: Debian's Chromium, its flags, where screenshots go."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
# The flags that keep a headless Chromium quiet on a machine with no internet.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The whole stack runs beside the browser on two cores: a page may take more than 5 s.
expect.set_options(timeout=15_000)


def chromium_executable() -> str:
    """Debian's Chromium; Playwright's own browser download cannot work offline."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: `make test` installs it (Debian package chromium)")
    return executable
