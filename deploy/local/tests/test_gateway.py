"""The gateway with the real nginx in front of stand-in upstreams."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from etnik.devstack import SERVICE_NAMES, GatewayOptions, Stack

pytestmark = pytest.mark.infra

PORTAL = "<!doctype html><title>ЭтНик</title><div id=app></div>"


def _web_root(tmp_path: Path) -> Path:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text(PORTAL)
    (web / "app.js").write_text("console.log('portal');\n")
    (web / "package.json").write_text('{"name": "etnik-web"}')
    (web / "node_modules" / "jsqr").mkdir(parents=True)
    (web / "node_modules" / "jsqr" / "package.json").write_text("{}")
    return web


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, module_echo_server: Callable[[int], None]
) -> Iterator[Stack]:
    """nginx with the real template; three stand-in services, reporting left down."""
    tmp_path = tmp_path_factory.mktemp("gateway")
    # The tests share one client address: a high limit here; the limits have tests of their own.
    options = GatewayOptions(web_root=_web_root(tmp_path), rate_api="1000r/s", rate_api_burst=1000)
    stack = Stack.for_tests(tmp_path / "run", gateway_options=options)
    for name in ("registration", "notification", "content"):
        module_echo_server(stack.ports.service(name))
    stack.start_gateway()
    yield stack
    stack.stop()


@pytest.fixture
def client(gateway: Stack) -> Iterator[httpx.Client]:
    """An HTTP client of the gateway (no proxies from the environment)."""
    with httpx.Client(base_url=gateway.gateway_url, trust_env=False, timeout=10) as client:
        yield client


def _echo(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    echoed: dict[str, Any] = response.json()
    return echoed


def _assert_json_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["detail"]
    assert body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert "nginx" not in response.text
    return body


@pytest.mark.parametrize("service", ["registration", "notification", "content"])
def test_prefix_is_stripped_and_forwarded(client: httpx.Client, service: str) -> None:
    echoed = _echo(client.get(f"/api/{service}/healthz?verbose=1"))
    assert echoed["path"] == "/healthz?verbose=1"
    assert echoed["headers"]["X-Forwarded-Prefix"] == f"/api/{service}"
    assert echoed["headers"]["X-Forwarded-Proto"] == "http"
    assert echoed["headers"]["Host"] == client.base_url.netloc.decode()


def test_upstream_down_answers_502_json_and_recovers(
    gateway: Stack, client: httpx.Client, echo_server: Callable[[int], None]
) -> None:
    body = _assert_json_error(client.get("/api/reporting/healthz"), 502)
    assert body["detail"] == "Service unavailable"
    echo_server(gateway.ports.reporting)  # stopped again after this test
    assert _echo(client.get("/api/reporting/docs"))["path"] == "/docs"


def test_client_forwarding_headers_are_ignored(client: httpx.Client) -> None:
    spoofed = {
        "X-Forwarded-For": "6.6.6.6",
        "X-Real-IP": "6.6.6.6",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Prefix": "/evil",
        "Forwarded": "for=6.6.6.6",
    }
    headers = _echo(client.get("/api/registration/whoami", headers=spoofed))["headers"]
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Real-IP"] == "127.0.0.1"
    assert headers["X-Forwarded-Prefix"] == "/api/registration"
    assert "X-Forwarded-Host" not in headers
    assert "Forwarded" not in headers


def test_request_id_is_generated_when_absent(client: httpx.Client) -> None:
    response = client.get("/api/content/x")
    generated = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert _echo(response)["headers"]["X-Request-ID"] == generated


def test_valid_request_id_is_kept(client: httpx.Client) -> None:
    response = client.get("/api/content/x", headers={"X-Request-ID": "client-id_1.2-abc"})
    assert response.headers["x-request-id"] == "client-id_1.2-abc"
    assert _echo(response)["headers"]["X-Request-ID"] == "client-id_1.2-abc"
    assert response.headers.get_list("x-request-id") == ["client-id_1.2-abc"]


@pytest.mark.parametrize("bad_id", ["short", "has space in it", "x" * 129, 'id"injected'])
def test_invalid_request_id_is_replaced(client: httpx.Client, bad_id: str) -> None:
    response = client.get("/api/content/x", headers={"X-Request-ID": bad_id})
    replaced = response.headers["x-request-id"]
    assert replaced != bad_id
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    assert _echo(response)["headers"]["X-Request-ID"] == replaced


def test_request_id_is_in_the_json_access_log(gateway: Stack, client: httpx.Client) -> None:
    client.get("/api/registration/logged", headers={"X-Request-ID": "find-me-in-the-log"})
    client.get("/healthz")  # healthz is not logged; the line above is written by now
    lines = gateway.log_path("gateway").read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    entry = next(entry for entry in entries if entry["request_id"] == "find-me-in-the-log")
    assert entry["path"] == "/api/registration/logged"
    assert entry["status"] == 200


def test_body_over_one_megabyte_is_refused_with_json(client: httpx.Client) -> None:
    response = client.post("/api/registration/people", content=b"x" * (1024 * 1024 + 1))
    body = _assert_json_error(response, 413)
    assert body["detail"] == "Request body too large"


def test_content_accepts_uploads_over_one_megabyte(client: httpx.Client) -> None:
    echoed = _echo(client.post("/api/content/files", content=b"x" * (3 * 1024 * 1024)))
    assert echoed["body_bytes"] == 3 * 1024 * 1024


def test_unknown_api_path_is_json_404(client: httpx.Client) -> None:
    _assert_json_error(client.get("/api/unknown/thing"), 404)


def test_portal_and_spa_paths_serve_index_html(client: httpx.Client) -> None:
    for path in ("/", "/events/42/registration"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.text == PORTAL
        assert response.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
    script = client.get("/app.js")
    assert script.text == "console.log('portal');\n"
    assert "javascript" in script.headers["content-type"]


def test_npm_files_beside_the_web_apps_are_not_served(client: httpx.Client) -> None:
    for path in ("/package.json", "/package-lock.json", "/node_modules/jsqr/package.json"):
        assert client.get(path).status_code == 404, path


def test_gateway_health_and_no_version_disclosure(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["server"] == "nginx"


def test_rate_limit_answers_429_json(tmp_path: Path, echo_server: Callable[[int], None]) -> None:
    options = GatewayOptions(web_root=_web_root(tmp_path), rate_api="2r/s", rate_api_burst=3)
    with Stack.for_tests(tmp_path / "run", gateway_options=options) as stack:
        for name in SERVICE_NAMES:
            echo_server(stack.ports.service(name))
        stack.start_gateway()
        with httpx.Client(base_url=stack.gateway_url, trust_env=False, timeout=10) as client:
            statuses = [client.get("/api/registration/x").status_code for _ in range(15)]
            limited = client.get("/api/registration/x")
            portal = client.get("/")
    assert statuses.count(200) >= 4  # the first request and the burst of 3
    assert 429 in statuses
    _assert_json_error(limited, 429)
    assert portal.status_code == 200  # static files are not limited


def test_sign_in_paths_have_a_stricter_limit(
    tmp_path: Path, echo_server: Callable[[int], None]
) -> None:
    options = GatewayOptions(
        web_root=_web_root(tmp_path), rate_auth="1r/m", rate_auth_burst=2, rate_api_burst=100
    )
    with Stack.for_tests(tmp_path / "run", gateway_options=options) as stack:
        echo_server(stack.ports.registration)
        stack.start_gateway()
        with httpx.Client(base_url=stack.gateway_url, trust_env=False, timeout=10) as client:
            sign_in = [client.post("/api/registration/auth/token").status_code for _ in range(5)]
            other = [client.get("/api/registration/events").status_code for _ in range(5)]
    assert sign_in[:3] == [200, 200, 200]
    assert sign_in[3:] == [429, 429]
    assert other == [200] * 5


@pytest.mark.parametrize("path", ["/api/registration/metrics", "/api/reporting/readyz"])
def test_metrics_and_readiness_are_not_public(client: httpx.Client, path: str) -> None:
    _assert_json_error(client.get(path), 404)
