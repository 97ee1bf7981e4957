"""The stack's TCP ports: defaults, their environment variables, checks and free-port picking."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

SERVICE_NAMES: tuple[str, ...] = ("registration", "notification", "content", "reporting")
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class PortSpec:
    """What a port is for, the variable that changes it and its `make run` default."""

    label: str
    variable: str
    default: int


PORT_SPECS: dict[str, PortSpec] = {
    "kafka": PortSpec("Kafka", "ETNIK_KAFKA_PORT", 9092),
    "kafka_controller": PortSpec("Kafka controller", "ETNIK_KAFKA_CONTROLLER_PORT", 9093),
    "mongo": PortSpec("FerretDB", "ETNIK_MONGO_PORT", 27017),
    "postgres": PortSpec("PostgreSQL (FerretDB's store)", "ETNIK_POSTGRES_PORT", 55432),
    "smtp": PortSpec("Mailpit SMTP", "ETNIK_SMTP_PORT", 1025),
    "mailpit_http": PortSpec("Mailpit UI and API", "ETNIK_MAILPIT_PORT", 8025),
    "gateway": PortSpec("gateway", "ETNIK_GATEWAY_PORT", 8080),
    "registration": PortSpec("registration service", "ETNIK_REGISTRATION_PORT", 8001),
    "notification": PortSpec("notification service", "ETNIK_NOTIFICATION_PORT", 8002),
    "content": PortSpec("content service", "ETNIK_CONTENT_PORT", 8003),
    "reporting": PortSpec("reporting service", "ETNIK_REPORTING_PORT", 8004),
}


class PortInUseError(RuntimeError):
    """One or more of the stack's ports cannot be listened on (taken, or privileged)."""

    def __init__(
        self, taken: Mapping[str, int], forbidden: Mapping[str, int] | None = None
    ) -> None:
        self.taken = dict(taken)
        self.forbidden = dict(forbidden or {})
        lines = [
            f"port {port} ({PORT_SPECS[name].label}) is already in use; "
            f"set {PORT_SPECS[name].variable} to another port"
            for name, port in self.taken.items()
        ]
        lines += [
            f"port {port} ({PORT_SPECS[name].label}) needs root to listen on; "
            f"set {PORT_SPECS[name].variable} to a port above 1023"
            for name, port in self.forbidden.items()
        ]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Ports:
    """Every port of one stack, all on 127.0.0.1."""

    kafka: int
    kafka_controller: int
    mongo: int
    postgres: int
    smtp: int
    mailpit_http: int
    gateway: int
    registration: int
    notification: int
    content: int
    reporting: int

    def __post_init__(self) -> None:
        by_port: dict[int, str] = {}
        for name, port in self.as_dict().items():
            if not 0 < port < 65536:
                raise ValueError(f"{PORT_SPECS[name].variable}={port} is not a TCP port")
            if port in by_port:
                first, second = PORT_SPECS[by_port[port]], PORT_SPECS[name]
                raise ValueError(
                    f"port {port} is set for both the {first.label} ({first.variable}) "
                    f"and the {second.label} ({second.variable})"
                )
            by_port[port] = name

    def as_dict(self) -> dict[str, int]:
        """Port by name, in declaration order."""
        return {field.name: getattr(self, field.name) for field in fields(self)}

    def service(self, name: str) -> int:
        """The HTTP port of one service."""
        if name not in SERVICE_NAMES:
            raise ValueError(f"unknown service {name!r}; known: {', '.join(SERVICE_NAMES)}")
        port: int = getattr(self, name)
        return port

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Ports:
        """The `make run` defaults, each replaced by its ETNIK_*_PORT variable when set."""
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for name, spec in PORT_SPECS.items():
            raw = environ.get(spec.variable, "").strip()
            try:
                values[name] = int(raw) if raw else spec.default
            except ValueError:
                raise ValueError(f"{spec.variable}={raw!r} is not a port number") from None
        return cls(**values)

    @classmethod
    def free(cls) -> Ports:
        """Ports that are free right now, picked by the kernel (for tests running side by side)."""
        return cls(**dict(zip(PORT_SPECS, pick_free_ports(len(PORT_SPECS)), strict=True)))


def pick_free_ports(count: int) -> list[int]:
    """`count` distinct free ports on 127.0.0.1 (all sockets are held until all are picked)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True if a server could listen on host:port now (PermissionError for a privileged port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR too, so a closed connection in TIME_WAIT does not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def check_ports_free(ports: Ports, names: Iterable[str]) -> None:
    """Raise PortInUseError naming every unusable port of `names` and the variable that moves it."""
    wanted = ports.as_dict()
    taken: dict[str, int] = {}
    forbidden: dict[str, int] = {}
    for name in names:
        try:
            if not port_is_free(wanted[name]):
                taken[name] = wanted[name]
        except PermissionError:
            forbidden[name] = wanted[name]
    if taken or forbidden:
        raise PortInUseError(taken, forbidden)
