"""Where the checkout, the download cache and the run directories are."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from etnik.devstack import versions

# A file that only this repository has: it tells the checkout's root apart from other folders.
_ROOT_MARKER = Path("deploy", "gateway", "templates", "default.conf.template")


class CheckoutNotFoundError(RuntimeError):
    """The EtNik checkout (with deploy/gateway and deploy/local) could not be located."""


def repo_root() -> Path:
    """The root of the EtNik checkout: $ETNIK_REPO_ROOT, or found upwards from here or the cwd."""
    explicit = os.environ.get("ETNIK_REPO_ROOT")
    if explicit:
        root = Path(explicit).resolve()
        if not (root / _ROOT_MARKER).is_file():
            raise CheckoutNotFoundError(f"ETNIK_REPO_ROOT={explicit} has no {_ROOT_MARKER}")
        return root
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / _ROOT_MARKER).is_file():
                return folder
    raise CheckoutNotFoundError(
        f"cannot find the EtNik checkout (a folder with {_ROOT_MARKER}); "
        "run from inside it or set ETNIK_REPO_ROOT"
    )


def local_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The git-ignored cache of fetched tools and run data: $ETNIK_LOCAL_DIR or <repo>/.local."""
    explicit = (os.environ if environ is None else environ).get("ETNIK_LOCAL_DIR")
    return Path(explicit).resolve() if explicit else repo_root() / ".local"


@dataclass(frozen=True)
class CacheLayout:
    """Paths of the fetched components inside the cache; each version has its own folder."""

    root: Path

    @property
    def kafka_home(self) -> Path:
        """Folder with Kafka's jars (libs/) and the marker of a complete fetch."""
        return self.root / f"kafka-{versions.KAFKA_VERSION}"

    @property
    def kafka_libs(self) -> Path:
        """Kafka's classpath folder."""
        return self.kafka_home / "libs"

    @property
    def ferretdb_binary(self) -> Path:
        """The built FerretDB executable."""
        return self.root / f"ferretdb-{versions.FERRETDB_VERSION}" / "bin" / "ferretdb"

    @property
    def mailpit_binary(self) -> Path:
        """The built Mailpit executable."""
        return self.root / f"mailpit-{versions.MAILPIT_VERSION}" / "bin" / "mailpit"

    @property
    def default_run_dir(self) -> Path:
        """Run directory of `etnik-dev run` and `infra`: data kept between runs."""
        return self.root / "run"
