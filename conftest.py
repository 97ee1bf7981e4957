"""Fixtures shared by every test: the real local stack, started once on free ports.

Where a test lives says what it needs, and its marker follows from that:
- `services/<name>/tests/unit/`: domain rules and use cases on in-memory fakes, no
  infrastructure (marker `unit`; `make test-fast`). Using a fixture below there is an error.
- `services/<name>/tests/integration/`, `tests/e2e/`, `tests/browser/`: the real stack
  (marker `infra`).
- `tests/contract/`, `tests/deploy/`: offline checks of the generated contracts and the
  deployment files (no marker; they run in `make test`).
- `deploy/local/tests/`: the local stack's own tooling; a test there that starts the stack
  (asks for a fixture below) is marked `infra`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from etnik.common.topics import SERVICES
from etnik.devstack import Stack
from helpers import Mailpit, wait_until

ROOT = Path(__file__).resolve().parent
ARTIFACTS = ROOT / "test-artifacts"
ADMIN_EMAIL = "admin@etnik.test"
ADMIN_PASSWORD = "test-admin-password-0f3c"  # test stack only; never used outside it

INFRA_FIXTURES = {"infra", "platform", "gateway", "operator_token", "mailpit"}

# Short timings so that outages and retries play out within a test.
TEST_SERVICE_ENV = {
    "ADMIN_EMAIL": ADMIN_EMAIL,
    "ADMIN_PASSWORD": ADMIN_PASSWORD,
    "OUTBOX_RELAY_INTERVAL_S": "0.5",
    "OUTBOX_RELAY_GRACE_S": "1",
    "KAFKA_PUBLISH_TIMEOUT_S": "2",
    "CONSUMER_RETRY_BACKOFF_S": "0.1",
    "RETRY_BASE_DELAY_S": "0.5",
    "DISPATCH_IDLE_INTERVAL_S": "0.2",
    # A reminder 72 s before the start, besides the usual ones, so a test can see one sent.
    "REMINDER_OFFSETS_H": "[24, 1, 0.02]",
}


def pytest_configure(config: pytest.Config) -> None:
    """A query log of this run's own, for services in and out of process (two runs in one
    checkout must not mix their logs): tests/e2e/test_query_plans.py reads it last."""
    if "MONGODB_QUERY_LOG" not in os.environ:
        os.environ["MONGODB_QUERY_LOG"] = tempfile.mkdtemp(prefix="etnik-query-shapes-")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the layer it lives in; run `runs_last` tests last."""
    for item in items:
        layer = _layer(item.path)
        uses = INFRA_FIXTURES & _fixtures_of(item)
        if layer == "unit" and uses:
            raise pytest.UsageError(
                f"{item.nodeid} is a unit test but uses {sorted(uses)}: "
                "move it to the service's tests/integration/ or give it a fake"
            )
        if layer == "unit":
            item.add_marker(pytest.mark.unit)
        elif layer == "infra" or uses:  # deploy/local/tests starts the stack it tests
            item.add_marker(pytest.mark.infra)
    items.sort(key=lambda item: item.get_closest_marker("runs_last") is not None)


def _fixtures_of(item: pytest.Item) -> set[str]:
    """The fixtures a test asks for; a parametrized argument of the same name is not one."""
    callspec = getattr(item, "callspec", None)
    parametrized = set(callspec.params) if callspec is not None else set()
    return set(getattr(item, "fixturenames", ())) - parametrized


def _layer(path: Path) -> str | None:
    """`unit`, `infra` or None (offline checks), from where the test file lives."""
    parts = path.relative_to(ROOT).parts
    if parts[0] == "services" and "unit" in parts:
        return "unit"
    if parts[0] == "services" and "integration" not in parts:
        raise pytest.UsageError(
            f"{path}: a service's tests live in tests/unit/ or tests/integration/"
        )
    if (parts[0] == "services" and "integration" in parts) or parts[:2] in {
        ("tests", "e2e"),
        ("tests", "browser"),
    }:
        return "infra"
    return None


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Kafka, FerretDB (or MONGODB_URL) and Mailpit, on free ports, for the whole session."""
    env = {**TEST_SERVICE_ENV, "MONGODB_QUERY_LOG": os.environ["MONGODB_QUERY_LOG"]}
    stack = Stack.for_tests(tmp_path_factory.mktemp("stack"), env_overrides=env)
    stack.fetch()
    try:
        stack.start_infra()
        yield stack
    finally:
        stack.stop()
        _keep_logs(stack)


@pytest.fixture(scope="session")
def platform(infra: Stack) -> Stack:
    """The four services and the gateway on top of the infrastructure, all ready."""
    infra.start_services()
    infra.start_gateway()
    wait_until(lambda: all(_ready(infra, name) for name in SERVICES), timeout=90, what="ready")
    return infra


@pytest.fixture(scope="session")
def gateway(platform: Stack) -> Iterator[httpx.Client]:
    """An HTTP client for the gateway: the only way end users come in."""
    with httpx.Client(base_url=platform.gateway_url, timeout=15) as client:
        yield client


@pytest.fixture(scope="session")
def operator_token(gateway: httpx.Client) -> str:
    """An administrator's access token, from the real sign-in."""
    response = gateway.post(
        "/api/registration/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(scope="session")
def mailpit(infra: Stack) -> Iterator[Mailpit]:
    """Mailpit's HTTP API, to read what the platform sent."""
    with httpx.Client(base_url=infra.mailpit_api, timeout=10) as client:
        yield Mailpit(client)


def _ready(stack: Stack, name: str) -> bool:
    try:
        return httpx.get(f"{stack.service_url(name)}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _keep_logs(stack: Stack) -> None:
    """Copy the processes' logs where CI keeps artifacts."""
    target = ARTIFACTS / "logs"
    if stack.logs_dir.exists() and os.access(ROOT, os.W_OK):
        shutil.copytree(stack.logs_dir, target, dirs_exist_ok=True)
