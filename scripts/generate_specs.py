"""Write the generated contracts: one JSON Schema per event type and each service's AsyncAPI.

Run `make specs` after changing a contract or a subscriber; a test fails when the committed
files and the code disagree.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from etnik.common.app import ServiceRuntime
from etnik.common.schemas import all_event_schemas
from etnik.common.topics import SERVICES, helm_topics_document

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = Path("docs/events/schemas")
# The topics and their retention (etnik.common.topics) as the Helm chart reads them.
HELM_TOPICS = Path("deploy/helm/etnik/files/topics.json")


# Each service's composition root builds, with default settings, what it publishes and consumes.


def _runtime(service: str) -> ServiceRuntime:
    container = importlib.import_module(f"etnik.{service}.container")
    runtime: ServiceRuntime = container.build().runtime
    return runtime


def generated_files() -> dict[Path, str]:
    """Every generated file, by path relative to the repository root."""
    files = {SCHEMA_DIR / name: text for name, text in all_event_schemas().items()}
    files[HELM_TOPICS] = json.dumps(helm_topics_document(), indent=2, sort_keys=True) + "\n"
    for service in SERVICES:
        document = _runtime(service).asyncapi().to_specification().to_jsonable()
        files[Path("services") / service / "asyncapi.json"] = (
            json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        )
    return files


def main() -> int:
    """Write the files, or with --check report the ones that differ."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args()
    stale = []
    for relative, text in generated_files().items():
        path = ROOT / relative
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(relative))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run `make specs`):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
