"""Finding the machine's Java, Maven, Go and nginx; installing Debian's packages where we may."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from etnik.devstack import versions
from etnik.devstack.console import say


class MissingToolError(RuntimeError):
    """A program the local stack needs is missing or too old."""


def _can_use_apt() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def _apt_install(package: str) -> bool:
    """Install one Debian package; True if apt-get succeeded."""
    say(f"installing the Debian package {package} (apt-get install -y {package})…")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", package]
    if subprocess.run(command, env=env, check=False).returncode == 0:
        return True
    # A fresh machine may not have read the package lists yet.
    subprocess.run(["apt-get", "update"], env=env, check=False)
    return subprocess.run(command, env=env, check=False).returncode == 0


def install_debian_package(package: str, what: str) -> bool:
    """Install a Debian package when root with apt-get; False when we may not or it failed."""
    if not _can_use_apt():
        say(f"{what} is missing and we may not install {package} (not root, or no apt-get)")
        return False
    return _apt_install(package)


def _find_or_install(program: str, what: str, extra_paths: tuple[str, ...] = ()) -> str:
    """Path of `program`; installs its Debian package when root with apt-get, else explains."""
    found = shutil.which(program) or next((p for p in extra_paths if os.access(p, os.X_OK)), None)
    if found:
        return found
    package = versions.DEBIAN_PACKAGES[program]
    if _can_use_apt() and _apt_install(package):
        found = shutil.which(program) or next(
            (p for p in extra_paths if os.access(p, os.X_OK)), None
        )
        if found:
            return found
    raise MissingToolError(
        f"{what} not found: install {package} (apt-get install -y {package}) "
        f"or put `{program}` on PATH"
    )


def _java_major(java: str) -> int:
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return 0
    major = int(match.group(1))
    # Java 8 and older print "1.8.0_..."
    return int(match.group(2) or 0) if major == 1 else major


@functools.cache
def java() -> str:
    """The `java` to run Kafka with: $JAVA_HOME/bin/java or the one on PATH, version 17+."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home, "bin", "java") if java_home else None
    if candidate is not None and os.access(candidate, os.X_OK):
        path = str(candidate)
    else:
        path = _find_or_install("java", f"Java {versions.JAVA_MIN_MAJOR}")
    if _java_major(path) < versions.JAVA_MIN_MAJOR:
        package = versions.DEBIAN_PACKAGES["java"]
        raise MissingToolError(
            f"{path} is older than Java {versions.JAVA_MIN_MAJOR}: install {package} "
            f"(apt-get install -y {package}) or set JAVA_HOME to a Java "
            f"{versions.JAVA_MIN_MAJOR}+"
        )
    return path


@functools.cache
def maven() -> str:
    """The `mvn` that fetches Kafka's jars."""
    return _find_or_install("mvn", "Maven (mvn)")


@functools.cache
def go() -> str:
    """The `go` that builds FerretDB and Mailpit; never installed by us (Debian's is too old)."""
    needed = ".".join(map(str, versions.GO_MIN_VERSION))
    advice = f"install Go {needed} or newer (https://go.dev/doc/install) and put `go` on PATH"
    path = shutil.which("go")
    if path is None:
        raise MissingToolError(f"Go not found: {advice}")
    result = subprocess.run([path, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    match = re.match(r"go(\d+)\.(\d+)", result.stdout.strip())
    if not match or (int(match.group(1)), int(match.group(2))) < versions.GO_MIN_VERSION:
        found = result.stdout.strip() or "an unknown version"
        raise MissingToolError(f"{path} is {found}: {advice}")
    return path


@functools.cache
def nginx() -> str:
    """The nginx binary (Debian's, normally /usr/sbin/nginx, which is not on a user's PATH)."""
    return _find_or_install("nginx", "nginx", extra_paths=("/usr/sbin/nginx",))


@functools.cache
def promtool() -> str:
    """Prometheus's promtool, which checks configuration and alert rules."""
    return _find_or_install("promtool", "promtool")


@functools.cache
def chromium() -> str:
    """Debian's Chromium, for the browser tests."""
    return _find_or_install("chromium", "Chromium")


@functools.cache
def cyrillic_font() -> Path:
    """The TrueType font the services embed in PDFs; installed from Debian when missing."""
    font = Path(versions.CYRILLIC_FONT_FILE)
    if not font.exists() and _can_use_apt():
        _apt_install(versions.CYRILLIC_FONT_PACKAGE)
    if not font.exists():
        package = versions.CYRILLIC_FONT_PACKAGE
        raise MissingToolError(
            f"{font} not found: install {package} (apt-get install -y {package})"
        )
    return font
