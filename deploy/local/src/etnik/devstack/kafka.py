"""Configuration, storage formatting and command line of a single-node KRaft Kafka."""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

from etnik.devstack.console import say
from etnik.devstack.ports import LOOPBACK

NODE_ID = 1
_JVM_OPTIONS = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)

# log4j2 in its properties syntax (the YAML one would need jackson-dataformat-yaml on the path).
_LOG4J2_PROPERTIES = """\
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
# Every component prints its whole configuration at start: a thousand lines per start.
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
"""


def server_properties(
    *,
    port: int,
    controller_port: int,
    data_dir: Path,
    auto_create_topics: bool,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Broker and controller in one process, listening on 127.0.0.1 only."""
    properties = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        # A static quorum: the voter's address comes from this file on every start,
        # so a changed controller port needs no re-format of the data directory.
        "controller.quorum.voters": f"{NODE_ID}@{LOOPBACK}:{controller_port}",
        "listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        # 50 partitions (the default) make the first consumer group slow to start on 2 cores.
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # The services create their topics; a typo in a topic name should fail, not create one.
        "auto.create.topics.enable": "true" if auto_create_topics else "false",
    }
    properties.update(overrides or {})
    return properties


def write_config(config_dir: Path, properties: Mapping[str, str]) -> tuple[Path, Path]:
    """Write server.properties and the log4j2 config; returns both paths."""
    config_dir.mkdir(parents=True, exist_ok=True)
    server = config_dir / "kafka-server.properties"
    lines = ["# Written by etnik-dev at every start; edits are lost."]
    lines += [f"{key}={value}" for key, value in properties.items()]
    server.write_text("\n".join(lines) + "\n")
    log4j = config_dir / "kafka-log4j2.properties"
    log4j.write_text(_LOG4J2_PROPERTIES)
    return server, log4j


def _java_command(java: str, libs: Path, log4j: Path, main_class: str) -> list[str]:
    return [
        java,
        *_JVM_OPTIONS,
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{libs}/*",
        main_class,
    ]


def new_cluster_id() -> str:
    """A random cluster id in Kafka's form: 16 bytes, URL-safe base64 without padding."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):  # Kafka avoids these too: they look like options
            return cluster_id


def is_formatted(data_dir: Path) -> bool:
    """True if the data directory holds a formatted KRaft log."""
    return (data_dir / "meta.properties").is_file()


def format_storage(java: str, libs: Path, server: Path, log4j: Path, data_dir: Path) -> None:
    """Format the data directory with a new cluster id, unless it is formatted already."""
    if is_formatted(data_dir):
        return
    say(f"formatting Kafka storage in {data_dir}")
    data_dir.mkdir(parents=True, exist_ok=True)
    command = _java_command(java, libs, log4j, "kafka.tools.StorageTool")
    command += ["format", "--cluster-id", new_cluster_id(), "--config", str(server)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")


def broker_command(java: str, libs: Path, server: Path, log4j: Path) -> list[str]:
    """The command line of the broker."""
    return [*_java_command(java, libs, log4j, "kafka.Kafka"), str(server)]
