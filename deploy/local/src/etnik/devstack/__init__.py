"""EtNik local stack: Kafka, FerretDB, Mailpit, the services and the nginx gateway, no Docker."""

from etnik.devstack.gateway import GatewayOptions
from etnik.devstack.ports import SERVICE_NAMES, PortInUseError, Ports, check_ports_free
from etnik.devstack.process import ProcessFailedError
from etnik.devstack.stack import RunDirBusyError, Stack, stop_run_dir
from etnik.devstack.tools import MissingToolError

__all__ = [
    "SERVICE_NAMES",
    "GatewayOptions",
    "MissingToolError",
    "PortInUseError",
    "Ports",
    "ProcessFailedError",
    "RunDirBusyError",
    "Stack",
    "check_ports_free",
    "stop_run_dir",
]
