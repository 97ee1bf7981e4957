"""The local stack: Kafka, FerretDB (on PostgreSQL or SQLite), Mailpit, the four services and
the nginx gateway; or any MongoDB server named by MONGODB_URL in FerretDB's place."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

from etnik.devstack import fetch as fetching
from etnik.devstack import gateway, kafka, paths, postgres, probes, tools, versions
from etnik.devstack.console import say
from etnik.devstack.gateway import GatewayOptions
from etnik.devstack.paths import CacheLayout
from etnik.devstack.ports import LOOPBACK, SERVICE_NAMES, Ports, check_ports_free
from etnik.devstack.process import ManagedProcess, kill_group_if_matches

KAFKA = "kafka"
FERRETDB = "ferretdb"
POSTGRESQL = "postgresql"
MAILPIT = "mailpit"
GATEWAY = "gateway"

_READY_TIMEOUT = {KAFKA: 120.0, FERRETDB: 30.0, POSTGRESQL: 60.0, MAILPIT: 30.0, GATEWAY: 15.0}
# FerretDB's stores (`--handler`); the default was measured the faster (docs/benchmarks.md).
FERRETDB_HANDLERS = ("postgresql", "sqlite")
DEFAULT_FERRETDB_HANDLER = "postgresql"
DATABASE_PREFIX = "etnik"
# A test stack's log cleaner looks for work every second (the default is 15 s), so that a test
# sees compaction (the services in ENVIRONMENT=test give compacted topics short lags).
TEST_BROKER_CONFIG = {"log.cleaner.backoff.ms": "1000"}
SERVICE_READY_TIMEOUT = 60.0
_STOP_TIMEOUT = {KAFKA: 30.0}
_DEFAULT_STOP_TIMEOUT = 10.0


def ferretdb_handler_from(environ: Mapping[str, str]) -> str:
    """FerretDB's store named by ETNIK_FERRETDB_HANDLER, or the default."""
    handler = (environ.get("ETNIK_FERRETDB_HANDLER") or DEFAULT_FERRETDB_HANDLER).strip().lower()
    if handler not in FERRETDB_HANDLERS:
        raise ValueError(
            f"ETNIK_FERRETDB_HANDLER={handler!r}: choose one of {', '.join(FERRETDB_HANDLERS)}"
        )
    return handler


class RunDirBusyError(RuntimeError):
    """Another live etnik-dev process uses the same run directory."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


class Stack:
    """One local stack in one run directory; every process it starts, it stops."""

    def __init__(
        self,
        run_dir: Path,
        ports: Ports,
        *,
        mongodb_url: str | None = None,
        ferretdb_handler: str = DEFAULT_FERRETDB_HANDLER,
        database_prefix: str = DATABASE_PREFIX,
        environment: str = "development",
        local_dir: Path | None = None,
        env_overrides: Mapping[str, str] | None = None,
        kafka_auto_create_topics: bool = False,
        kafka_overrides: Mapping[str, str] | None = None,
        gateway_options: GatewayOptions | None = None,
    ) -> None:
        self.run_dir = run_dir.resolve()
        self.ports = ports
        self.environment = environment
        self.cache = CacheLayout(local_dir if local_dir is not None else paths.local_dir())
        self.env_overrides = dict(env_overrides or {})
        self.kafka_auto_create_topics = kafka_auto_create_topics
        self.kafka_overrides = dict(kafka_overrides or {})
        self.gateway_options = gateway_options or GatewayOptions()
        self._external_mongodb_url = mongodb_url or None
        if ferretdb_handler not in FERRETDB_HANDLERS:
            raise ValueError(f"unknown FerretDB handler {ferretdb_handler!r}")
        self.ferretdb_handler = ferretdb_handler
        self.database_prefix = database_prefix
        self._processes: dict[str, ManagedProcess] = {}  # in start order
        self._service_extra_env: dict[str, dict[str, str]] = {}  # reused by a restart
        self._lock_file: IO[str] | None = None

    @classmethod
    def for_tests(
        cls,
        run_dir: Path,
        *,
        mongodb_url: str | None = None,
        local_dir: Path | None = None,
        env_overrides: Mapping[str, str] | None = None,
        kafka_auto_create_topics: bool = False,
        kafka_overrides: Mapping[str, str] | None = None,
        gateway_options: GatewayOptions | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Stack:
        """A stack on ports that are free now, in ENVIRONMENT=test, with its data in run_dir.

        MONGODB_URL (or `mongodb_url`) puts another server in FerretDB's place; the databases
        then get a prefix of their own (`etnik_t<hex>_<service>`), so that runs side by side
        never meet, and are dropped when the stack stops."""
        environ = os.environ if environ is None else environ
        external = mongodb_url if mongodb_url is not None else environ.get("MONGODB_URL")
        return cls(
            run_dir,
            Ports.free(),
            mongodb_url=external or None,
            ferretdb_handler=ferretdb_handler_from(environ),
            database_prefix=f"{DATABASE_PREFIX}_t{uuid.uuid4().hex[:8]}"
            if external
            else DATABASE_PREFIX,
            environment="test",
            local_dir=local_dir,
            env_overrides=env_overrides,
            kafka_auto_create_topics=kafka_auto_create_topics,
            kafka_overrides={**TEST_BROKER_CONFIG, **(kafka_overrides or {})},
            gateway_options=gateway_options,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Stack:
        """The `make run` stack: default ports and folders, each overridable by a variable."""
        environ = os.environ if environ is None else environ
        cache = CacheLayout(paths.local_dir(environ))
        run_dir = environ.get("ETNIK_RUN_DIR") or cache.default_run_dir
        web_root = environ.get("ETNIK_WEB_ROOT")
        return cls(
            Path(run_dir),
            Ports.from_env(environ),
            mongodb_url=environ.get("MONGODB_URL") or None,
            ferretdb_handler=ferretdb_handler_from(environ),
            environment="development",
            local_dir=cache.root,
            kafka_auto_create_topics=_truthy(environ.get("ETNIK_KAFKA_AUTO_CREATE_TOPICS")),
            gateway_options=GatewayOptions(web_root=Path(web_root) if web_root else None),
        )

    # --- Addresses -----------------------------------------------------------------------

    @property
    def kafka_bootstrap(self) -> str:
        """Kafka's bootstrap servers for clients."""
        return f"{LOOPBACK}:{self.ports.kafka}"

    @property
    def uses_ferretdb(self) -> bool:
        """False when MONGODB_URL points at another MongoDB server."""
        return self._external_mongodb_url is None

    @property
    def uses_postgresql(self) -> bool:
        """True when this stack runs FerretDB over a PostgreSQL cluster of its own."""
        return self.uses_ferretdb and self.ferretdb_handler == "postgresql"

    @property
    def mongodb_label(self) -> str:
        """What serves MongoDB here, for benchmark and test reports."""
        if not self.uses_ferretdb:
            return "MongoDB server at MONGODB_URL"
        return f"FerretDB {versions.FERRETDB_VERSION} ({self.ferretdb_handler})"

    def database_name(self, service: str) -> str:
        """The database a service of this stack keeps its data in."""
        return f"{self.database_prefix}_{service}"

    @property
    def mongodb_url(self) -> str:
        """The MongoDB connection URL the services get."""
        return self._external_mongodb_url or f"mongodb://{LOOPBACK}:{self.ports.mongo}/"

    @property
    def smtp(self) -> tuple[str, int]:
        """Mailpit's SMTP host and port."""
        return LOOPBACK, self.ports.smtp

    @property
    def mailpit_api(self) -> str:
        """Base URL of Mailpit's UI and HTTP API (messages: /api/v1/messages)."""
        return f"http://{LOOPBACK}:{self.ports.mailpit_http}"

    @property
    def gateway_url(self) -> str:
        """Base URL of the gateway (portal at /, services at /api/<name>/)."""
        return f"http://{LOOPBACK}:{self.ports.gateway}"

    def service_url(self, name: str) -> str:
        """Base URL of one service, directly (not through the gateway)."""
        return f"http://{LOOPBACK}:{self.ports.service(name)}"

    @property
    def urls(self) -> dict[str, str]:
        """Every URL worth printing, by label."""
        urls = {"gateway": f"{self.gateway_url}/"}
        for name in SERVICE_NAMES:
            urls[f"{name} docs"] = f"{self.gateway_url}/api/{name}/docs"
            urls[f"{name} docs (direct)"] = f"{self.service_url(name)}/docs"
        urls["Mailpit API"] = f"{self.mailpit_api}/api/v1/messages"
        urls["Kafka"] = self.kafka_bootstrap
        urls["MongoDB"] = self.mongodb_url
        return urls

    def infra_env(self) -> dict[str, str]:
        """Variables that point a service or a test run by hand at this stack's infrastructure."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "MONGODB_URL": self.mongodb_url,
            "SMTP_HOST": LOOPBACK,
            "SMTP_PORT": str(self.ports.smtp),
            "MAILPIT_URL": self.mailpit_api,
        }

    def service_env(self, name: str) -> dict[str, str]:
        """The environment one service is started with (the caller's overrides win)."""
        self.ports.service(name)  # rejects unknown names
        env = {
            "ENVIRONMENT": self.environment,
            "SERVICE_NAME": name,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "MONGODB_URL": self.mongodb_url,
            "MONGODB_DATABASE": self.database_name(name),
            "SMTP_HOST": LOOPBACK,
            "SMTP_PORT": str(self.ports.smtp),
            "REGISTRATION_URL": self.service_url("registration"),
            # Where registration reads the other services' parts of a person's export.
            "NOTIFICATION_URL": self.service_url("notification"),
            "CONTENT_URL": self.service_url("content"),
            "REPORTING_URL": self.service_url("reporting"),
            "PUBLIC_BASE_URL": self.gateway_url,
            "LOG_LEVEL": "INFO",
        }
        env.update(self.env_overrides)
        return env

    # --- Folders -------------------------------------------------------------------------

    @property
    def logs_dir(self) -> Path:
        """Each process's output: <run_dir>/logs/<name>.log."""
        return self.run_dir / "logs"

    @property
    def data_dir(self) -> Path:
        """Data of Kafka, FerretDB and Mailpit."""
        return self.run_dir / "data"

    def log_path(self, name: str) -> Path:
        """The log file of one process."""
        return self.logs_dir / f"{name}.log"

    # --- Fetch and checks ----------------------------------------------------------------

    def fetch(self) -> None:
        """Fetch or build every component once (later calls find them in the cache)."""
        fetching.fetch_all(self.cache, ferretdb=self.uses_ferretdb)
        if self.uses_postgresql:
            postgres.bin_dir()  # Debian's server, installed when missing

    def infra_port_names(self) -> list[str]:
        """Names (as in Ports) of the infrastructure's ports."""
        names = ["kafka", "kafka_controller", "smtp", "mailpit_http"]
        if self.uses_ferretdb:
            names.append("mongo")
        if self.uses_postgresql:
            names.append("postgres")
        return names

    def all_port_names(self) -> list[str]:
        """Names of every port `etnik-dev run` listens on."""
        return [*self.infra_port_names(), *SERVICE_NAMES, "gateway"]

    def check_ports(self, names: Iterable[str]) -> None:
        """Raise PortInUseError if any of these ports is taken (names as in Ports)."""
        check_ports_free(self.ports, names)

    def is_running(self, name: str) -> bool:
        """True if this stack started `name` and it still runs."""
        process = self._processes.get(name)
        return process is not None and process.is_running()

    def pid(self, name: str) -> int | None:
        """Process id of `name` if this stack started it and has not stopped it."""
        process = self._processes.get(name)
        return process.pid if process else None

    @property
    def started_names(self) -> list[str]:
        """Names of the processes this stack started and has not stopped, in start order."""
        return list(self._processes)

    def exited(self) -> dict[str, int]:
        """Processes that ended by themselves, with their exit codes."""
        return {
            name: code
            for name, process in self._processes.items()
            if (code := process.exit_code()) is not None
        }

    # --- Infrastructure ------------------------------------------------------------------

    def start_infra(self) -> None:
        """Start Kafka, FerretDB (unless MONGODB_URL is set) and Mailpit; wait until they answer."""
        wanted = [KAFKA, MAILPIT] + ([FERRETDB] if self.uses_ferretdb else [])
        wanted += [POSTGRESQL] if self.uses_postgresql else []
        port_names = {
            KAFKA: ["kafka", "kafka_controller"],
            FERRETDB: ["mongo"],
            POSTGRESQL: ["postgres"],
            MAILPIT: ["smtp", "mailpit_http"],
        }
        self.check_ports(
            name for part in wanted if not self.is_running(part) for name in port_names[part]
        )
        self.start_kafka()
        if self.uses_ferretdb:
            self.start_ferretdb()
        self.start_mailpit()

    def start_kafka(self) -> None:
        """Start the broker (formatting its data dir the first time) and wait until it answers."""
        if self.is_running(KAFKA):
            return
        self.check_ports(["kafka", "kafka_controller"])
        libs = fetching.fetch_kafka(self.cache)
        java = tools.java()
        data = self.data_dir / "kafka"
        server, log4j = kafka.write_config(
            self.run_dir / "conf",
            kafka.server_properties(
                port=self.ports.kafka,
                controller_port=self.ports.kafka_controller,
                data_dir=data,
                auto_create_topics=self.kafka_auto_create_topics,
                overrides=self.kafka_overrides,
            ),
        )
        kafka.format_storage(java, libs, server, log4j, data)
        self._start(
            KAFKA,
            kafka.broker_command(java, libs, server, log4j),
            ready=lambda: probes.kafka_ready(LOOPBACK, self.ports.kafka),
            where=self.kafka_bootstrap,
        )

    def stop_kafka(self) -> None:
        """Stop the broker; its data stays, so start_kafka() brings the same cluster back."""
        self._stop(KAFKA)

    @property
    def postgresql_data_dir(self) -> Path:
        """The cluster of FerretDB's PostgreSQL store."""
        return postgres.data_dir_for(self.data_dir / "postgresql", postgres.server_account())

    def start_postgresql(self) -> None:
        """Start the stack's PostgreSQL cluster (initialised on first use) and wait for it."""
        if self.is_running(POSTGRESQL):
            return
        self.check_ports(["postgres"])
        binaries = postgres.bin_dir()
        account = postgres.server_account()
        data_dir = self.postgresql_data_dir
        postgres.ensure_cluster(binaries, data_dir, account)
        command = postgres.server_command(
            binaries, data_dir, self.ports.postgres, durable=self.environment != "test"
        )
        self._spawn(POSTGRESQL, command, env=None, user=account)
        self._await(
            POSTGRESQL,
            lambda: postgres.is_ready(binaries, self.ports.postgres),
            timeout=_READY_TIMEOUT[POSTGRESQL],
            where=f"{LOOPBACK}:{self.ports.postgres}",
        )

    def start_ferretdb(self) -> None:
        """Start FerretDB on its store (PostgreSQL started first) and wait until it answers."""
        if self.is_running(FERRETDB):
            return
        if not self.uses_ferretdb:
            raise RuntimeError(f"MONGODB_URL is set ({self.mongodb_url}): FerretDB is not used")
        self.check_ports(["mongo"])
        binary = fetching.fetch_ferretdb(self.cache)
        state_dir = self.data_dir / "ferretdb" / "state"
        state_dir.mkdir(parents=True, exist_ok=True)
        if self.uses_postgresql:
            self.start_postgresql()
            store = [
                "--handler=postgresql",
                f"--postgresql-url={postgres.ferretdb_url(self.ports.postgres)}",
            ]
        else:
            sqlite_dir = self.data_dir / "ferretdb" / "sqlite"
            sqlite_dir.mkdir(parents=True, exist_ok=True)
            store = ["--handler=sqlite", f"--sqlite-url=file:{sqlite_dir}/"]
        command = [
            str(binary),
            *store,
            f"--listen-addr={LOOPBACK}:{self.ports.mongo}",
            f"--state-dir={state_dir}",
            "--debug-addr=-",  # its debug HTTP listener would take 127.0.0.1:8088
            "--telemetry=disable",  # no internet here, and the data is personal
        ]
        self._start(
            FERRETDB,
            command,
            ready=lambda: probes.mongo_ping(LOOPBACK, self.ports.mongo),
            where=self.mongodb_url,
        )

    def stop_ferretdb(self) -> None:
        """Stop FerretDB and its PostgreSQL cluster; their data stays."""
        self._stop(FERRETDB)
        self._stop(POSTGRESQL)

    def start_mailpit(self) -> None:
        """Start Mailpit and wait until both its SMTP server and its HTTP API answer."""
        if self.is_running(MAILPIT):
            return
        self.check_ports(["smtp", "mailpit_http"])
        binary = fetching.fetch_mailpit(self.cache)
        database = self.data_dir / "mailpit" / "mailpit.db"
        database.parent.mkdir(parents=True, exist_ok=True)
        command = [
            str(binary),
            f"--smtp={LOOPBACK}:{self.ports.smtp}",
            f"--listen={LOOPBACK}:{self.ports.mailpit_http}",
            f"--database={database}",
            # Services may be configured with SMTP credentials: accept any, without TLS.
            "--smtp-auth-accept-any",
            "--smtp-auth-allow-insecure",
            "--smtp-disable-rdns",  # no DNS here: reverse lookups would only slow each mail
            "--disable-version-check",
            "--max=10000",
        ]

        def ready() -> bool:
            return probes.smtp_ready(*self.smtp) and probes.http_ok(
                LOOPBACK, self.ports.mailpit_http, "/readyz"
            )

        self._start(MAILPIT, command, ready=ready, where=f"SMTP {LOOPBACK}:{self.ports.smtp}")

    def stop_mailpit(self) -> None:
        """Stop Mailpit; its database file stays."""
        self._stop(MAILPIT)

    # --- Services and gateway ------------------------------------------------------------

    def service_command(self, name: str) -> list[str]:
        """The command line of one service."""
        port = self.ports.service(name)
        return [sys.executable, "-m", f"etnik.{name}", "--host", LOOPBACK, "--port", str(port)]

    def start_service(self, name: str, env: Mapping[str, str] | None = None) -> None:
        """Start one service and wait until its /healthz answers 200.

        `env` adds to service_env(name); without it, a restart reuses the previous start's.
        """
        self.start_services([name], env=env)

    def start_services(
        self, names: Iterable[str] = SERVICE_NAMES, env: Mapping[str, str] | None = None
    ) -> None:
        """Start services side by side, then wait until each /healthz answers 200."""
        pending = [name for name in names if not self.is_running(name)]
        self.check_ports(pending)
        started: list[str] = []
        for name in pending:
            if env is not None:
                self._service_extra_env[name] = dict(env)
            process_env = {
                **os.environ,
                **self.service_env(name),
                **self._service_extra_env.get(name, {}),
                "PYTHONUNBUFFERED": "1",  # so a failure's last lines are in the log
            }
            self._spawn(name, self.service_command(name), env=process_env)
            started.append(name)
        for name in started:
            self._await(
                name,
                functools.partial(probes.http_ok, LOOPBACK, self.ports.service(name), "/healthz"),
                timeout=SERVICE_READY_TIMEOUT,
                where=self.service_url(name),
            )

    def stop_service(self, name: str) -> None:
        """Stop one service."""
        self.ports.service(name)
        self._stop(name)

    def start_gateway(self) -> None:
        """Render the gateway config for this stack's ports and start nginx."""
        if self.is_running(GATEWAY):
            return
        self.check_ports(["gateway"])
        nginx = tools.nginx()
        prefix = self.run_dir / "gateway"
        conf = gateway.write_config(
            nginx,
            prefix,
            listen=f"{LOOPBACK}:{self.ports.gateway}",
            upstreams={name: f"{LOOPBACK}:{self.ports.service(name)}" for name in SERVICE_NAMES},
            options=self.gateway_options,
        )
        self._start(
            GATEWAY,
            gateway.command(nginx, prefix, conf),
            ready=lambda: probes.http_ok(LOOPBACK, self.ports.gateway, "/healthz"),
            where=self.gateway_url,
        )

    def stop_gateway(self) -> None:
        """Stop nginx."""
        self._stop(GATEWAY)

    def stop(self) -> None:
        """Stop everything this stack started, last started first; a test stack also drops
        the databases it made on another server and removes a cluster kept outside run_dir."""
        for name in reversed(list(self._processes)):
            self._stop(name)
        if self.environment == "test":
            self._drop_test_databases()
            if self.uses_postgresql and not self.postgresql_data_dir.is_relative_to(self.run_dir):
                postgres.remove_cluster(self.postgresql_data_dir)
        self._release_run_dir()

    def _drop_test_databases(self) -> None:
        """Drop the databases named with this test stack's own prefix on an external server."""
        if self.uses_ferretdb or self.database_prefix == DATABASE_PREFIX:
            return
        # The workspace has PyMongo; the stack itself needs it only here.
        from pymongo import MongoClient
        from pymongo.errors import PyMongoError

        try:
            client: MongoClient[dict[str, object]]
            with MongoClient(self.mongodb_url, serverSelectionTimeoutMS=3000) as client:
                for name in client.list_database_names():
                    if name.startswith(f"{self.database_prefix}_"):
                        client.drop_database(name)
        except PyMongoError as error:
            say(f"could not drop the test databases {self.database_prefix}_*: {error}")

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- Process bookkeeping -------------------------------------------------------------

    def _start(
        self, name: str, command: list[str], *, ready: Callable[[], bool], where: str
    ) -> None:
        self._spawn(name, command, env=None)
        self._await(name, ready, timeout=_READY_TIMEOUT[name], where=where)

    def _spawn(
        self,
        name: str,
        command: list[str],
        *,
        env: Mapping[str, str] | None,
        user: str | None = None,
    ) -> None:
        self._claim_run_dir()
        say(f"starting {name}…")
        process = ManagedProcess(
            name,
            command,
            log_path=self.log_path(name),
            env=env,
            # Another account may not be allowed into run_dir; the server moves to its data dir.
            cwd=self.run_dir if user is None else Path("/"),
            user=user,
        )
        self._processes[name] = process
        process.start()
        self._write_registry()

    def _await(self, name: str, ready: Callable[[], bool], *, timeout: float, where: str) -> None:
        started = time.monotonic()
        try:
            self._processes[name].wait_until(ready, what="answering", timeout=timeout)
        except Exception:
            self._stop(name)
            raise
        say(f"{name} is ready at {where} ({time.monotonic() - started:.1f} s)")

    def _stop(self, name: str) -> None:
        process = self._processes.pop(name, None)
        if process is None:
            return
        if process.is_running():
            say(f"stopping {name}…")
        process.stop(_STOP_TIMEOUT.get(name, _DEFAULT_STOP_TIMEOUT))
        self._write_registry()

    @property
    def _registry_path(self) -> Path:
        return self.run_dir / "processes.json"

    def _write_registry(self) -> None:
        """Record what runs, so that a later run can end what a killed one left behind."""
        entries = {
            name: {"pid": process.pid, "argv": process.argv}
            for name, process in self._processes.items()
            if process.pid is not None
        }
        self._registry_path.write_text(json.dumps(entries, indent=2) + "\n")

    def _claim_run_dir(self) -> None:
        """Lock the run directory for this process and end leftovers of a dead earlier owner."""
        if self._lock_file is not None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        lock_file = (self.run_dir / "stack.lock").open("a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            owner = lock_file.read().strip() or "unknown"
            lock_file.close()
            raise RunDirBusyError(
                f"{self.run_dir} is in use by another etnik-dev (pid {owner}); "
                "stop it first, or set ETNIK_RUN_DIR to another folder"
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"{os.getpid()}\n")
        lock_file.flush()
        self._lock_file = lock_file
        end_leftovers(self.run_dir)
        _LIVE_STACKS.add(self)
        _install_exit_hooks()

    def _release_run_dir(self) -> None:
        _LIVE_STACKS.discard(self)
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                self._registry_path.unlink(missing_ok=True)
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None


def end_leftovers(run_dir: Path) -> list[str]:
    """End processes recorded in run_dir by an etnik-dev that died without stopping them."""
    registry = run_dir / "processes.json"
    try:
        entries = json.loads(registry.read_text())
    except (OSError, ValueError):
        return []
    ended = [
        name
        for name, entry in entries.items()
        if kill_group_if_matches(int(entry["pid"]), [str(part) for part in entry["argv"]])
    ]
    if ended:
        say(f"ended leftovers of an earlier run: {', '.join(ended)}")
    registry.unlink(missing_ok=True)
    return ended


def stop_run_dir(run_dir: Path, timeout: float = 60.0) -> str:
    """Stop whatever runs in run_dir: ask a live owner to stop, or end a dead owner's leftovers."""
    lock_path = run_dir / "stack.lock"
    if not lock_path.exists():
        ended = end_leftovers(run_dir)
        return f"ended {', '.join(ended)}" if ended else "nothing was running"
    with lock_path.open("a+") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            owner = int(lock_file.read().strip() or 0)
            if owner <= 0:
                return f"{run_dir} is locked by an unknown process; nothing was stopped"
            say(f"asking etnik-dev (pid {owner}) to stop…")
            os.kill(owner, signal.SIGTERM)
            # It stops its processes, then releases the lock.
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                time.sleep(0.2)
                try:
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                fcntl.flock(lock_file, fcntl.LOCK_UN)
                return f"etnik-dev (pid {owner}) stopped everything"
            return f"etnik-dev (pid {owner}) is still stopping after {timeout:.0f} s"
        try:
            ended = end_leftovers(run_dir)
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    return f"ended {', '.join(ended)}" if ended else "nothing was running"


# --- Nothing left behind: stop live stacks at exit and on SIGTERM ----------------------------

_LIVE_STACKS: set[Stack] = set()
_hooks_installed = False


def stop_all_stacks() -> None:
    """Stop every stack of this process that still has processes."""
    for stack in list(_LIVE_STACKS):
        stack.stop()


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    stop_all_stacks()
    # Then die of the same signal, as if there had been no handler.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_exit_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(stop_all_stacks)
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
