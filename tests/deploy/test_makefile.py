"""The Makefile tells a newcomer what each of its targets does."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def phony_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    declared = re.search(r"^\.PHONY:(.*)$", text, re.MULTILINE)
    assert declared, "the Makefile declares its targets .PHONY"
    return set(declared.group(1).split())


def test_every_target_is_phony_and_described() -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = {m.group(1) for m in re.finditer(r"^([a-z][a-z-]*):", text, re.MULTILINE)}
    described = {m.group(1) for m in re.finditer(r"^([a-z][a-z-]*):.*## \S", text, re.MULTILINE)}
    assert targets == phony_targets()
    assert targets == described, f"no `## what it does` for {sorted(targets - described)}"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target() -> None:
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    listed = {line.split()[1] for line in shown.splitlines() if line.startswith("make ")}
    assert listed == phony_targets()
