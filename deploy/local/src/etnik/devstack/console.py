"""Plain progress lines for people watching a slow first run."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    """Print one progress line to stderr, at once."""
    print(f"[etnik-dev] {message}", file=sys.stderr, flush=True)
