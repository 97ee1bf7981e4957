"""Fetching and building the pinned infrastructure into the cache, once."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from etnik.devstack import tools, versions
from etnik.devstack.console import say
from etnik.devstack.paths import CacheLayout, repo_root

_KAFKA_MARKER = ".complete"


class FetchError(RuntimeError):
    """A download or build step failed."""


def _run(command: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> None:
    """Run a build step; on failure raise with the end of its output."""
    result = subprocess.run(
        list(command),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        tail = "\n".join(output[-30:])
        raise FetchError(f"`{' '.join(command)}` failed with code {result.returncode}:\n{tail}")


def _staging_dir(cache: CacheLayout, name: str) -> Path:
    """A fresh folder beside the final one, so that a finished result is moved in atomically."""
    cache.root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache.root))


def _make_owner_writable(path: Path) -> None:
    """Go's module cache is read-only; copies of it must be writable to be edited and deleted."""
    for folder, _dirs, files in os.walk(path):
        os.chmod(folder, os.stat(folder).st_mode | stat.S_IRWXU)
        for name in files:
            file = os.path.join(folder, name)
            os.chmod(file, os.stat(file).st_mode | stat.S_IRUSR | stat.S_IWUSR)


def _remove_tree(path: Path) -> None:
    """Delete a folder, including read-only files copied from Go's module cache."""
    if path.exists():
        _make_owner_writable(path)
        shutil.rmtree(path)


def fetch_kafka(cache: CacheLayout) -> Path:
    """Copy Kafka's jars from Maven Central into the cache, unless there already; returns libs/."""
    expected = f"kafka {versions.KAFKA_VERSION} log4j {versions.LOG4J_VERSION}\n"
    marker = cache.kafka_home / _KAFKA_MARKER
    if marker.is_file() and marker.read_text() == expected:
        return cache.kafka_libs
    tools.java()  # fail early, before a download that could not be used
    mvn = tools.maven()
    say(f"fetching Kafka {versions.KAFKA_VERSION} jars from Maven Central (mvn)…")
    staging = _staging_dir(cache, "kafka")
    try:
        _run(
            [
                mvn,
                "--batch-mode",
                "--quiet",
                "--file",
                str(repo_root() / "deploy" / "local" / "kafka" / "pom.xml"),
                f"{versions.MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
                f"-DoutputDirectory={staging / 'libs'}",
                f"-Dkafka.version={versions.KAFKA_VERSION}",
                f"-Dlog4j.version={versions.LOG4J_VERSION}",
            ],
            cwd=staging,
        )
        (staging / _KAFKA_MARKER).write_text(expected)
        _remove_tree(cache.kafka_home)
        staging.rename(cache.kafka_home)
    finally:
        _remove_tree(staging)
    say(f"Kafka {versions.KAFKA_VERSION} is in {cache.kafka_home}")
    return cache.kafka_libs


def _go_env() -> dict[str, str]:
    # Both servers are pure Go (SQLite through modernc.org), so no C compiler is needed.
    return {"CGO_ENABLED": "0", "GO111MODULE": "on", "GOFLAGS": "-mod=mod"}


def _install_binary(built: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(built, target)


def fetch_ferretdb(cache: CacheLayout) -> Path:
    """Build FerretDB from the Go module proxy into the cache, unless there already."""
    target = cache.ferretdb_binary
    if target.is_file():
        return target
    go = tools.go()
    module = f"{versions.FERRETDB_MODULE}@{versions.FERRETDB_VERSION}"
    say(f"building FerretDB {versions.FERRETDB_VERSION} from the Go module proxy (go build)…")
    staging = _staging_dir(cache, "ferretdb")
    try:
        download = subprocess.run(
            [go, "mod", "download", "-json", module],
            cwd=staging,
            env={**os.environ, **_go_env()},
            capture_output=True,
            text=True,
            check=False,
        )
        if download.returncode != 0:
            raise FetchError(
                f"`go mod download {module}` failed:\n{download.stdout}{download.stderr}"
            )
        module_dir = Path(json.loads(download.stdout)["Dir"])
        source = staging / "src"
        shutil.copytree(module_dir, source)
        _make_owner_writable(source)
        # `go install ...@v1.24.2` gives a binary that panics at start: FerretDB's
        # build/version expects a generated version.txt, which the module zip lacks.
        version_dir = source / "build" / "version"
        (version_dir / "version.txt").write_text(f"{versions.FERRETDB_VERSION}\n")
        (version_dir / "package.txt").write_text("etnik-devstack\n")
        built = staging / "ferretdb"
        _run(
            [go, "build", "-trimpath", "-buildvcs=false", "-o", str(built), "./cmd/ferretdb"],
            cwd=source,
            env=_go_env(),
        )
        _install_binary(built, target)
    finally:
        _remove_tree(staging)
    say(f"FerretDB {versions.FERRETDB_VERSION} is in {target}")
    return target


def fetch_mailpit(cache: CacheLayout) -> Path:
    """Build Mailpit from the Go module proxy into the cache, unless there already."""
    target = cache.mailpit_binary
    if target.is_file():
        return target
    go = tools.go()
    module = f"{versions.MAILPIT_MODULE}@{versions.MAILPIT_VERSION}"
    say(f"building Mailpit {versions.MAILPIT_VERSION} from the Go module proxy (go install)…")
    staging = _staging_dir(cache, "mailpit")
    try:
        version_flag = f"-X {versions.MAILPIT_MODULE}/config.Version={versions.MAILPIT_VERSION}"
        _run(
            [go, "install", "-trimpath", f"-ldflags={version_flag}", module],
            cwd=staging,
            env={**_go_env(), "GOBIN": str(staging)},
        )
        _install_binary(staging / "mailpit", target)
    finally:
        _remove_tree(staging)
    say(f"Mailpit {versions.MAILPIT_VERSION} is in {target}")
    return target


def fetch_all(cache: CacheLayout, *, ferretdb: bool = True) -> None:
    """Fetch or build everything the local stack runs; each step is skipped when done before."""
    fetch_kafka(cache)
    if ferretdb:
        fetch_ferretdb(cache)
    fetch_mailpit(cache)
    tools.nginx()
    tools.promtool()
    tools.chromium()
    tools.cyrillic_font()
