"""Port checks: a taken port is named together with the variable that moves it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from etnik.devstack import PortInUseError, Ports, Stack, check_ports_free
from etnik.devstack.ports import PORT_SPECS, pick_free_ports


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port that another socket is listening on during the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def _free_port_env() -> dict[str, str]:
    ports = pick_free_ports(len(PORT_SPECS))
    return {spec.variable: str(port) for spec, port in zip(PORT_SPECS.values(), ports, strict=True)}


def test_defaults_and_variables(no_inherited_ports: None) -> None:
    defaults = Ports.from_env({})
    assert (defaults.gateway, defaults.kafka, defaults.mongo) == (8080, 9092, 27017)
    assert (defaults.smtp, defaults.mailpit_http, defaults.registration) == (1025, 8025, 8001)
    moved = Ports.from_env({"ETNIK_KAFKA_PORT": "19092", "ETNIK_REPORTING_PORT": "18004"})
    assert (moved.kafka, moved.reporting, moved.content) == (19092, 18004, 8003)


def test_taken_port_names_port_and_variable(
    taken_port: int, monkeypatch: pytest.MonkeyPatch, no_inherited_ports: None
) -> None:
    for name, value in _free_port_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ETNIK_KAFKA_PORT", str(taken_port))
    stack = Stack.from_env()

    with pytest.raises(PortInUseError) as raised:
        stack.check_ports(stack.all_port_names())

    assert str(raised.value) == (
        f"port {taken_port} (Kafka) is already in use; set ETNIK_KAFKA_PORT to another port"
    )
    assert raised.value.taken == {"kafka": taken_port}


def test_run_exits_non_zero_before_starting_anything(taken_port: int, tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ETNIK_") or key in {"ETNIK_LOCAL_DIR", "ETNIK_REPO_ROOT"}
    }
    env.pop("MONGODB_URL", None)
    env.update(_free_port_env())
    env["ETNIK_GATEWAY_PORT"] = str(taken_port)
    env["ETNIK_RUN_DIR"] = str(tmp_path / "run")

    result = subprocess.run(
        [sys.executable, "-m", "etnik.devstack", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert (
        f"port {taken_port} (gateway) is already in use; set ETNIK_GATEWAY_PORT to another port"
        in result.stderr
    )
    assert not (tmp_path / "run" / "logs").exists()  # nothing was started


def test_same_port_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="ETNIK_CONTENT_PORT"):
        Ports.from_env({"ETNIK_CONTENT_PORT": "8001"})


def test_port_must_be_a_number() -> None:
    with pytest.raises(ValueError, match="ETNIK_SMTP_PORT='mail' is not a port number"):
        Ports.from_env({"ETNIK_SMTP_PORT": "mail"})


def test_free_ports_are_distinct_and_free() -> None:
    ports = Ports.free()
    assert len(set(ports.as_dict().values())) == len(PORT_SPECS)
    check_ports_free(ports, PORT_SPECS)
