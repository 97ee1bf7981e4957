"""Shared helpers of the devstack tests: stand-in upstreams that echo what they receive."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture(autouse=True)
def _devstack_starts_its_own_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests check what the stack starts: a MONGODB_URL meant for the services is ignored."""
    monkeypatch.delenv("MONGODB_URL", raising=False)


class EchoHandler(BaseHTTPRequestHandler):
    """Answers any GET or POST with the path and headers it received, as JSON."""

    protocol_version = "HTTP/1.1"

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = len(self.rfile.read(length)) if length else 0
        body = json.dumps(
            {"path": self.path, "headers": dict(self.headers.items()), "body_bytes": received}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _echo
    do_POST = _echo

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class EchoServers:
    """Stand-in HTTP upstreams on chosen ports, each in a thread."""

    def __init__(self) -> None:
        self._servers: list[ThreadingHTTPServer] = []

    def start(self, port: int) -> None:
        """Serve EchoHandler on 127.0.0.1:port until close()."""
        server = ThreadingHTTPServer(("127.0.0.1", port), EchoHandler)
        server.daemon_threads = True
        server.block_on_close = False  # nginx keeps idle upstream connections open
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self._servers.append(server)

    def close(self) -> None:
        """Stop every server."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()


@pytest.fixture
def echo_server() -> Iterator[Callable[[int], None]]:
    """Start stand-in HTTP upstreams on given ports; all are shut down after the test."""
    servers = EchoServers()
    yield servers.start
    servers.close()


@pytest.fixture(scope="module")
def module_echo_server() -> Iterator[Callable[[int], None]]:
    """Like echo_server, for module-scoped fixtures."""
    servers = EchoServers()
    yield servers.start
    servers.close()


def _process_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def process_alive() -> Callable[[int], bool]:
    """A check: does a process with this pid exist (zombies do not count)?"""
    return _process_alive


@pytest.fixture
def no_inherited_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove ETNIK_* and MONGODB_URL variables of the caller's shell from the test's view."""
    for name in list(os.environ):
        if name.startswith("ETNIK_") and name not in {"ETNIK_LOCAL_DIR", "ETNIK_REPO_ROOT"}:
            monkeypatch.delenv(name)
    monkeypatch.delenv("MONGODB_URL", raising=False)
