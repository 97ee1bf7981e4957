"""`etnik-dev`: fetch, start and stop the local stack from a shell."""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

from etnik.devstack.fetch import FetchError
from etnik.devstack.paths import CheckoutNotFoundError
from etnik.devstack.ports import SERVICE_NAMES, PortInUseError
from etnik.devstack.process import ProcessFailedError
from etnik.devstack.stack import RunDirBusyError, Stack, stop_run_dir
from etnik.devstack.tools import MissingToolError

# Errors that are explained by their message; anything else keeps its traceback.
_EXPLAINED_ERRORS = (
    CheckoutNotFoundError,
    FetchError,
    MissingToolError,
    PortInUseError,
    ProcessFailedError,
    RunDirBusyError,
    ValueError,
)


class _StopRequested(Exception):
    """SIGTERM or SIGHUP arrived: stop like after Ctrl-C."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def _print(line: str = "") -> None:
    print(line, flush=True)


def _fetch(_args: argparse.Namespace) -> int:
    started = time.monotonic()
    Stack.from_env().fetch()
    _print(f"everything is fetched ({time.monotonic() - started:.0f} s)")
    return 0


def _wait_until_interrupted(stack: Stack) -> None:
    """Sleep until Ctrl-C or SIGTERM, telling once about every process that ends by itself."""
    reported: set[str] = set()
    while True:
        time.sleep(1)
        for name, code in stack.exited().items():
            if name not in reported:
                reported.add(name)
                _print(f"{name} exited with code {code}; its log: {stack.log_path(name)}")


def _serve(start: Callable[[Stack], None], describe: Callable[[Stack], None]) -> int:
    """Start part of the stack, describe it, wait for Ctrl-C, and always stop what started."""
    stack = Stack.from_env()
    # Ctrl-C must work even where SIGINT came in ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)
    try:
        start(stack)
        describe(stack)
        _print("Press Ctrl-C to stop.")
        _wait_until_interrupted(stack)
    except (KeyboardInterrupt, _StopRequested):
        _print()
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if stack.started_names:
            stack.stop()
            _print(f"stopped everything; logs are in {stack.logs_dir}")
    return 0


def _start_infra(stack: Stack) -> None:
    stack.check_ports(stack.infra_port_names())
    stack.fetch()
    stack.start_infra()


def _describe_infra(stack: Stack) -> None:
    _print("\nThe infrastructure is running. For a service or a test started by hand:")
    for name, value in stack.infra_env().items():
        _print(f"export {name}={shlex.quote(value)}")
    _print(f"Mailpit API: {stack.mailpit_api}/api/v1/messages")


DEVELOPMENT_ADMIN_EMAIL = "admin@etnik.local"


def _development_admin(stack: Stack) -> tuple[str, str]:
    """The first administrator of a local run: from ADMIN_EMAIL/ADMIN_PASSWORD, or a password
    made once and kept in the run directory (the account is created once, so it must stay)."""
    email = os.environ.get("ADMIN_EMAIL", DEVELOPMENT_ADMIN_EMAIL)
    password = os.environ.get("ADMIN_PASSWORD")
    if not password:
        kept = stack.run_dir / "admin-password"
        if not kept.exists():
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.touch(mode=0o600)
            kept.write_text(secrets.token_urlsafe(12), encoding="utf-8")
        password = kept.read_text(encoding="utf-8").strip()
    stack.env_overrides.update({"ADMIN_EMAIL": email, "ADMIN_PASSWORD": password})
    return email, password


def _start_everything(stack: Stack) -> None:
    stack.check_ports(stack.all_port_names())
    _development_admin(stack)
    stack.fetch()
    stack.start_infra()
    stack.start_services()
    stack.start_gateway()


def _describe_everything(stack: Stack) -> None:
    _print("\nEtNik is running:")
    _print(f"  portal (gateway)      {stack.gateway_url}/")
    for name in SERVICE_NAMES:
        _print(
            f"  {name + ' docs':<21} {stack.gateway_url}/api/{name}/docs"
            f"   (direct: {stack.service_url(name)}/docs)"
        )
    _print(f"  Mailpit API           {stack.mailpit_api}/api/v1/messages")
    _print(f"  Kafka                 {stack.kafka_bootstrap}")
    _print(f"  MongoDB               {stack.mongodb_url}")
    _print(f"  logs                  {stack.logs_dir}/")
    email = stack.env_overrides.get("ADMIN_EMAIL", "")
    password = stack.env_overrides.get("ADMIN_PASSWORD", "")
    _print(f"\nOperator sign-in (development only): {email} / {password}")
    _print(f"  POST {stack.gateway_url}/api/registration/auth/token")


def _infra(_args: argparse.Namespace) -> int:
    return _serve(_start_infra, _describe_infra)


def _run(_args: argparse.Namespace) -> int:
    return _serve(_start_everything, _describe_everything)


def _stop(_args: argparse.Namespace) -> int:
    _print(stop_run_dir(Stack.from_env().run_dir))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="etnik-dev",
        description=(
            "Fetch, start and stop the EtNik local stack (Kafka, FerretDB, Mailpit, nginx and "
            "the services) without Docker. Ports and folders: see deploy/local/README.md."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "fetch", help="fetch and build Kafka, FerretDB and Mailpit into the cache; check nginx"
    ).set_defaults(handler=_fetch)
    commands.add_parser(
        "infra", help="start Kafka, FerretDB and Mailpit, print their settings, wait for Ctrl-C"
    ).set_defaults(handler=_infra)
    commands.add_parser(
        "run", help="start the infrastructure, the four services and the gateway; Ctrl-C stops"
    ).set_defaults(handler=_run)
    commands.add_parser(
        "stop",
        help="stop a running `etnik-dev run` or `infra` (from another shell), or end the "
        "processes that a killed one left behind",
    ).set_defaults(handler=_stop)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `etnik-dev`."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except _EXPLAINED_ERRORS as error:
        print(f"etnik-dev: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
