"""The Stack's service processes, its environment, and clean-up when its owner is interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from etnik.devstack import ProcessFailedError, RunDirBusyError, Stack, stop_run_dir
from etnik.devstack.ports import PORT_SPECS, pick_free_ports, port_is_free

STAND_IN_SERVICE = """\
import argparse, json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--host")
parser.add_argument("--port", type=int)
args = parser.parse_args()
if os.environ.get("STAND_IN_FAIL"):
    print("stand-in service fails on purpose", flush=True)
    sys.exit(3)

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"argv": sys.argv[1:], "env": dict(os.environ)}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer((args.host, args.port), Handler).serve_forever()
"""


@pytest.fixture
def stand_in_path(tmp_path: Path) -> str:
    """A folder that provides a stand-in `etnik.registration` module, for PYTHONPATH."""
    package = tmp_path / "stand-in" / "etnik" / "registration"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(STAND_IN_SERVICE)
    return str(tmp_path / "stand-in")


@pytest.fixture
def stack(tmp_path: Path, stand_in_path: str) -> Iterator[Stack]:
    """A test stack whose registration service is the stand-in."""
    stack = Stack.for_tests(tmp_path / "run", env_overrides={"PYTHONPATH": stand_in_path})
    yield stack
    stack.stop()


def test_service_env(tmp_path: Path) -> None:
    stack = Stack.for_tests(tmp_path, env_overrides={"LOG_LEVEL": "DEBUG"})
    env = stack.service_env("notification")
    ports = stack.ports
    assert env == {
        "ENVIRONMENT": "test",
        "SERVICE_NAME": "notification",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports.kafka}",
        "MONGODB_URL": f"mongodb://127.0.0.1:{ports.mongo}/",
        "MONGODB_DATABASE": "etnik_notification",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(ports.smtp),
        "REGISTRATION_URL": f"http://127.0.0.1:{ports.registration}",
        "NOTIFICATION_URL": f"http://127.0.0.1:{ports.notification}",
        "CONTENT_URL": f"http://127.0.0.1:{ports.content}",
        "REPORTING_URL": f"http://127.0.0.1:{ports.reporting}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports.gateway}",
        "LOG_LEVEL": "DEBUG",
    }
    with pytest.raises(ValueError, match="unknown service"):
        stack.service_env("billing")


def test_external_mongodb_url_replaces_ferretdb(tmp_path: Path) -> None:
    url = "mongodb://db.example:27017/?replicaSet=rs0"
    stack = Stack.for_tests(tmp_path, mongodb_url=url)
    assert not stack.uses_ferretdb
    assert "mongo" not in stack.infra_port_names()
    assert stack.service_env("content")["MONGODB_URL"] == url


def test_an_external_server_gets_databases_of_the_test_run_alone(tmp_path: Path) -> None:
    stack = Stack.for_tests(tmp_path, environ={"MONGODB_URL": "mongodb://db.example:27017/"})
    other = Stack.for_tests(tmp_path / "other", environ={"MONGODB_URL": "mongodb://db.example/"})
    assert stack.mongodb_label == "MongoDB server at MONGODB_URL"
    name = stack.service_env("registration")["MONGODB_DATABASE"]
    assert name == stack.database_name("registration")
    assert name.startswith("etnik_t")
    assert name.endswith("_registration")
    assert other.database_name("registration") != name  # two runs on one server never meet
    own = Stack.for_tests(tmp_path, environ={})
    assert own.database_name("registration") == "etnik_registration"


def test_ferretdb_store_is_chosen_by_name(tmp_path: Path) -> None:
    chosen = Stack.for_tests(tmp_path, environ={"ETNIK_FERRETDB_HANDLER": " PostgreSQL "})
    assert chosen.uses_postgresql
    assert "postgres" in chosen.infra_port_names()
    assert chosen.mongodb_label.endswith("(postgresql)")
    sqlite = Stack.for_tests(tmp_path, environ={"ETNIK_FERRETDB_HANDLER": "sqlite"})
    assert not sqlite.uses_postgresql
    assert "postgres" not in sqlite.infra_port_names()
    with pytest.raises(ValueError, match="choose one of postgresql, sqlite"):
        Stack.for_tests(tmp_path, environ={"ETNIK_FERRETDB_HANDLER": "mysql"})
    # With another server, no store of FerretDB's is started at all.
    external = Stack.for_tests(
        tmp_path, environ={"MONGODB_URL": "mongodb://db/", "ETNIK_FERRETDB_HANDLER": "postgresql"}
    )
    assert not external.uses_postgresql
    assert "postgres" not in external.infra_port_names()


def test_from_env_reads_mongodb_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MONGODB_URL", "mongodb://127.0.0.1:27018/")
    monkeypatch.setenv("ETNIK_RUN_DIR", str(tmp_path))
    stack = Stack.from_env()
    assert stack.mongodb_url == "mongodb://127.0.0.1:27018/"
    assert stack.run_dir == tmp_path.resolve()
    assert stack.environment == "development"


def test_service_starts_with_its_command_and_env_and_stops(
    stack: Stack, process_alive: Callable[[int], bool]
) -> None:
    stack.start_service("registration", env={"EXTRA": "1"})
    pid = stack.pid("registration")
    assert pid is not None

    answer = httpx.get(f"{stack.service_url('registration')}/healthz", trust_env=False).json()
    assert answer["argv"] == ["--host", "127.0.0.1", "--port", str(stack.ports.registration)]
    assert answer["env"]["SERVICE_NAME"] == "registration"
    assert answer["env"]["MONGODB_DATABASE"] == "etnik_registration"
    assert answer["env"]["EXTRA"] == "1"

    stack.stop_service("registration")
    assert not process_alive(pid)
    assert port_is_free(stack.ports.registration)

    stack.start_service("registration")  # a restart keeps the extra variables
    again = httpx.get(f"{stack.service_url('registration')}/healthz", trust_env=False).json()
    assert again["env"]["EXTRA"] == "1"


def test_service_that_exits_fails_with_its_log(stack: Stack) -> None:
    with pytest.raises(ProcessFailedError) as raised:
        stack.start_service("registration", env={"STAND_IN_FAIL": "1"})
    assert "registration exited (code 3)" in str(raised.value)
    assert "stand-in service fails on purpose" in str(raised.value)
    assert stack.started_names == []


def test_one_run_dir_serves_one_owner(stack: Stack, stand_in_path: str) -> None:
    stack.start_service("registration")
    second = Stack(stack.run_dir, stack.ports, env_overrides={"PYTHONPATH": stand_in_path})
    # Another Stack object in this process: flock() locks are per open file, so it is refused.
    with pytest.raises(RunDirBusyError, match="in use by another etnik-dev"):
        second.start_service("notification")


DRIVER = """\
import sys, time
from pathlib import Path
from etnik.devstack import Stack

stack = Stack.for_tests(Path(sys.argv[1]))
stack.start_mailpit()
print(stack.pid("mailpit"), flush=True)
time.sleep(120)
"""


def _start_driver(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """A Python process that starts Mailpit through a Stack, then sleeps."""
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path / "run")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert driver.stdout is not None
    line = driver.stdout.readline()
    assert line.strip().isdigit(), f"driver failed: {line!r}"
    return driver, int(line)


def _wait_gone(pid: int, process_alive: Callable[[int], bool], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not process_alive(pid)


@pytest.mark.infra
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_owner_killed_leaves_nothing_behind(
    tmp_path: Path, signum: int, process_alive: Callable[[int], bool]
) -> None:
    driver, mailpit = _start_driver(tmp_path)
    driver.send_signal(signum)
    assert driver.wait(30) == -signum
    # SIGTERM: the Stack's handler stops its processes; SIGKILL: the kernel's parent-death signal.
    assert _wait_gone(mailpit, process_alive)


@pytest.mark.infra
def test_stop_run_dir_asks_the_owner_to_stop(
    tmp_path: Path, process_alive: Callable[[int], bool]
) -> None:
    driver, mailpit = _start_driver(tmp_path)
    message = stop_run_dir(tmp_path / "run")
    assert message == f"etnik-dev (pid {driver.pid}) stopped everything"
    assert driver.wait(30) == -signal.SIGTERM
    assert not process_alive(mailpit)
    assert stop_run_dir(tmp_path / "run") == "nothing was running"


def _cli_env(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ETNIK_") or key in {"ETNIK_LOCAL_DIR", "ETNIK_REPO_ROOT"}
    }
    env.pop("MONGODB_URL", None)
    ports = pick_free_ports(len(PORT_SPECS))
    env.update({spec.variable: str(p) for spec, p in zip(PORT_SPECS.values(), ports, strict=True)})
    env["ETNIK_RUN_DIR"] = str(tmp_path / "run")
    return env


def _start_cli_infra(env: dict[str, str]) -> tuple[subprocess.Popen[str], dict[str, str]]:
    cli = subprocess.Popen(
        [sys.executable, "-m", "etnik.devstack", "infra"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert cli.stdout is not None
    exports: dict[str, str] = {}
    output = []
    for line in cli.stdout:
        output.append(line)
        if line.startswith("export "):
            name, value = line.removeprefix("export ").strip().split("=", 1)
            exports[name] = value
        if line.startswith("Press Ctrl-C"):
            return cli, exports
    raise AssertionError("etnik-dev infra did not start:\n" + "".join(output))


@pytest.mark.infra
def test_cli_infra_prints_exports_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = _cli_env(tmp_path)
    cli, exports = _start_cli_infra(env)
    assert exports["KAFKA_BOOTSTRAP_SERVERS"] == f"127.0.0.1:{env['ETNIK_KAFKA_PORT']}"
    assert exports["MONGODB_URL"] == f"mongodb://127.0.0.1:{env['ETNIK_MONGO_PORT']}/"
    assert exports["SMTP_PORT"] == env["ETNIK_SMTP_PORT"]

    cli.send_signal(signal.SIGINT)
    rest, _ = cli.communicate(timeout=60)

    assert cli.returncode == 0, rest
    assert "stopped everything" in rest
    for variable in ("ETNIK_KAFKA_PORT", "ETNIK_MONGO_PORT", "ETNIK_SMTP_PORT"):
        assert port_is_free(int(env[variable]))
    assert not (tmp_path / "run" / "processes.json").exists()


@pytest.mark.infra
def test_cli_stop_stops_a_running_infra(tmp_path: Path) -> None:
    env = _cli_env(tmp_path)
    cli, _exports = _start_cli_infra(env)

    stop = subprocess.run(
        [sys.executable, "-m", "etnik.devstack", "stop"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    rest, _ = cli.communicate(timeout=30)

    assert stop.returncode == 0
    assert f"etnik-dev (pid {cli.pid}) stopped everything" in stop.stdout
    assert cli.returncode == 0
    assert "stopped everything" in rest
    assert port_is_free(int(env["ETNIK_KAFKA_PORT"]))


def wait_for_argv(pid: int, argv: list[str], timeout: float = 10.0) -> None:
    """Block until the process runs `argv` (what /proc/<pid>/cmdline says)."""
    deadline = time.monotonic() + timeout
    wanted = "\0".join(argv) + "\0"
    while Path(f"/proc/{pid}/cmdline").read_text() != wanted:
        assert time.monotonic() < deadline, f"process {pid} never ran {argv}"
        time.sleep(0.01)


def test_leftovers_of_a_dead_owner_are_ended(
    tmp_path: Path, process_alive: Callable[[int], bool]
) -> None:
    # What a run leaves when its owner died without the parent-death signal reaching a child.
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    leftover = subprocess.Popen(argv, start_new_session=True)
    unrelated = subprocess.Popen(argv, start_new_session=True)
    registry = {
        "kafka": {"pid": leftover.pid, "argv": argv},
        # A reused pid running something else is left alone.
        "mailpit": {"pid": unrelated.pid, "argv": ["/usr/bin/mailpit"]},
    }
    (tmp_path / "processes.json").write_text(json.dumps(registry))
    # Until the child has exec'd, /proc shows the parent's command line (seen on a busy machine).
    wait_for_argv(leftover.pid, argv)
    try:
        assert stop_run_dir(tmp_path) == "ended kafka"
        assert leftover.wait(15) == -signal.SIGTERM
        assert process_alive(unrelated.pid)
        assert not (tmp_path / "processes.json").exists()
    finally:
        for process in (leftover, unrelated):
            process.kill()
            process.wait()
