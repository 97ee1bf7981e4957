"""PostgreSQL from Debian as FerretDB's store: a private cluster of the stack, on loopback only.

FerretDB v1 keeps its data either in SQLite files or in PostgreSQL. The stack runs its own
cluster (never the machine's own `postgresql` service): initialised on first use in the
stack's data folder, trusted on 127.0.0.1 only, reachable over TCP alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

from etnik.devstack import tools, versions
from etnik.devstack.console import say
from etnik.devstack.ports import LOOPBACK

# The cluster's superuser, the one FerretDB connects as (trusted on loopback, no password).
SUPERUSER = "etnik"
DATABASE = "postgres"
# PostgreSQL refuses to run as root; Debian's package creates this account.
SYSTEM_ACCOUNT = "postgres"


def bin_dir() -> Path:
    """The folder of Debian's PostgreSQL server programs, installing the package if we may."""
    found = _installed_bin_dir()
    if found is None:
        tools.install_debian_package(versions.POSTGRESQL_PACKAGE, "the PostgreSQL server")
        found = _installed_bin_dir()
    if found is None:
        package = versions.POSTGRESQL_PACKAGE
        raise tools.MissingToolError(
            f"the PostgreSQL server was not found: install {package} (apt-get install -y {package})"
        )
    return found


def _installed_bin_dir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return candidates[-1].parent if candidates else None


def server_account() -> str | None:
    """The account the server runs as: ours, unless we are root (then Debian's `postgres`)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_ACCOUNT)
    except KeyError:
        raise tools.MissingToolError(
            f"running as root, PostgreSQL needs the account {SYSTEM_ACCOUNT!r} "
            f"(created by the {versions.POSTGRESQL_PACKAGE} package) to run as"
        ) from None
    return SYSTEM_ACCOUNT


def data_dir_for(preferred: Path, account: str | None) -> Path:
    """Where the cluster lives: `preferred`, or, when another account must reach it and a
    parent folder is closed to others (a 0700 home or pytest's temporary folders), a folder of
    its own under /var/tmp named after `preferred`, so the same stack finds it again."""
    if account is None or _reachable_by_others(preferred.parent):
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:16]
    # /var/tmp, not /tmp: `make run` keeps its data across reboots.
    return Path("/var/tmp") / f"etnik-postgresql-{digest}"  # noqa: S108 - named, not shared


def _reachable_by_others(folder: Path) -> bool:
    """Whether every existing ancestor of `folder` lets other accounts pass through it."""
    for part in [folder, *folder.parents]:
        if part.exists() and not part.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def ensure_cluster(binaries: Path, data_dir: Path, account: str | None) -> None:
    """Initialise the cluster the first time (later starts find PG_VERSION and keep the data)."""
    if (data_dir / "PG_VERSION").exists():
        return
    say(f"initialising a PostgreSQL cluster in {data_dir}…")
    data_dir.mkdir(parents=True, exist_ok=True)
    if account is not None:
        record = pwd.getpwnam(account)
        os.chown(data_dir, record.pw_uid, record.pw_gid)
    data_dir.chmod(0o700)
    command = [
        str(binaries / "initdb"),
        f"--pgdata={data_dir}",
        f"--username={SUPERUSER}",
        "--auth=trust",  # the server listens on 127.0.0.1 only
        "--encoding=UTF8",
        "--no-locale",
        "--no-instructions",
        "--no-sync",
    ]
    result = subprocess.run(
        command, user=account, cwd=data_dir, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed ({result.returncode}): {result.stderr.strip()}")


def server_command(binaries: Path, data_dir: Path, port: int, *, durable: bool) -> list[str]:
    """The server's command line: TCP on loopback only, no Unix socket."""
    command = [
        str(binaries / "postgres"),
        "-D",
        str(data_dir),
        "-c",
        f"listen_addresses={LOOPBACK}",
        "-c",
        f"port={port}",
        "-c",
        "unix_socket_directories=",
        "-c",
        "max_connections=400",  # FerretDB pools connections per service client
        "-c",
        "shared_buffers=256MB",
    ]
    if not durable:
        # Test data is thrown away: skip the flushes that only protect against a machine crash.
        for setting in ("fsync=off", "synchronous_commit=off", "full_page_writes=off"):
            command += ["-c", setting]
    return command


def is_ready(binaries: Path, port: int) -> bool:
    """Whether the server accepts connections now."""
    result = subprocess.run(
        [str(binaries / "pg_isready"), "-q", "-h", LOOPBACK, "-p", str(port), "-d", DATABASE],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def ferretdb_url(port: int) -> str:
    """The URL FerretDB's PostgreSQL handler connects with."""
    return f"postgres://{SUPERUSER}@{LOOPBACK}:{port}/{DATABASE}"


def remove_cluster(data_dir: Path) -> None:
    """Delete a cluster that served a test stack only."""
    with contextlib.suppress(OSError):
        shutil.rmtree(data_dir)
