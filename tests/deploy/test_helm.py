"""Offline checks of the Kubernetes deployment (deploy/helm/etnik) and its monitoring.

The chart is linted and rendered with helm (built from the Go module proxy into .local/bin by
deploy/helm/install-tools.sh) in several configurations; every core resource is validated
against the Kubernetes JSON schemas that kubernetes-validate ships; the operators' resources
(Strimzi, MongoDB, KEDA, Gateway API, Prometheus Operator) are checked for the fields they
need. The alert rules go through `promtool check rules` and `promtool test rules`.
No cluster and no network are needed.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from etnik.common.topics import SERVICES

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "etnik"
PRODUCTION_VALUES = CHART / "values-production.yaml"
MONITORING = ROOT / "deploy" / "monitoring"
ALERTS_FILE = MONITORING / "alerts.yml"
ALERTS_TEST_FILE = MONITORING / "alerts.test.yml"
DASHBOARD_FILE = MONITORING / "grafana-dashboard.json"
GATEWAY_TEMPLATE = ROOT / "deploy" / "gateway" / "templates" / "default.conf.template"
GATEWAY_ENV = ROOT / "deploy" / "gateway" / "gateway.env"
COMPOSE_FILE = ROOT / "docker-compose.yml"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"
CONTRACTS = ROOT / "services" / "common" / "src" / "etnik" / "common" / "contracts"

RELEASE = "etnik"
NAMESPACE = "etnik"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion, Strimzi 1.x's minimum):
# rendering and validating against it proves nothing newer is used.
KUBE_VERSION = "1.30.0"
COMPONENTS = (*SERVICES, "gateway")
LAG_SCALED = ("notification", "reporting")
SERVICE_PORT = 8000
SERVICE_UID = 10001
# Inside the containers: the only writable place besides declared volumes.
SCRATCH = "/tmp"  # noqa: S108

# Besides the topics the event contracts name, every service has a dead-letter topic.
DEAD_LETTER_TOPICS = {f"etnik.{name}.deadletter.v1" for name in SERVICES}

# Variables the chart sets that docker-compose.yml leaves at the services' defaults: on one
# broker the defaults (3 partitions, replication 1) are right; on Strimzi, topics a service
# creates by itself must match the cluster's.
# KAFKA_MANAGE_TOPIC_CONFIGS: there the Topic Operator owns the topics' settings.
KUBERNETES_ONLY_ENV = {
    "KAFKA_TOPIC_PARTITIONS",
    "KAFKA_REPLICATION_FACTOR",
    "KAFKA_MANAGE_TOPIC_CONFIGS",
}

# Kinds validated against the Kubernetes schemas; each must appear in some render below.
CORE_KINDS = {
    "ConfigMap",
    "CronJob",
    "Deployment",
    "HorizontalPodAutoscaler",
    "Ingress",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "PodDisruptionBudget",
    "Secret",
    "Service",
    "ServiceAccount",
}

# --- rendering ------------------------------------------------------------------------------------

SECRET_VALUES = {
    "secrets.create": "true",
    "secrets.values.jwtPrivateKeyPem": "test-only-not-a-key",
    "secrets.values.adminEmail": "admin@etnik.test",
    "secrets.values.adminPassword": "test-only",
    "secrets.values.smtpUsername": "test-only",
    "secrets.values.smtpPassword": "test-only",
    "secrets.values.unsubscribeSecret": "test-only",
    "secrets.values.notificationClientSecret": "test-only",
    "secrets.values.contentPseudonymKey": "test-only",
    "secrets.values.reportingPseudonymKey": "test-only",
    **{f"secrets.values.mongodbPasswords.{user}": "test-only" for user in (*SERVICES, "backup")},
}

# name -> (values files, --set-string pairs)
SCENARIOS: dict[str, tuple[tuple[Path, ...], dict[str, str]]] = {
    "default": ((), {}),
    "production": ((PRODUCTION_VALUES,), {}),
    # Every optional part on: the Ingress, Secrets made by the chart, backups, monitoring.
    "everything": (
        (),
        {
            "ingress.enabled": "true",
            "ingress.tlsSecretName": "etnik-tls",
            "backup.enabled": "true",
            "monitoring.serviceMonitor.enabled": "true",
            "monitoring.prometheusRule.enabled": "true",
            "monitoring.grafanaDashboard.enabled": "true",
            "gateway.web.image": "registry.example.org/etnik/etnik-web:0.1.0",
            "gateway.trustedProxyCIDRs[0]": "10.0.0.0/8",
            **SECRET_VALUES,
        },
    ),
    # Existing Kafka and MongoDB instead of the operators' clusters; no KEDA.
    "external": (
        (),
        {
            "kafka.create": "false",
            "kafka.bootstrapServers": "kafka-0.kafka:9092,kafka-1.kafka:9092",
            "mongodb.create": "false",
            **{f"mongodb.externalUrlSecrets.{name}.name": f"mongo-url-{name}" for name in SERVICES},
            **{f"services.{name}.lagScaling.enabled": "false" for name in LAG_SCALED},
        },
    ),
}


def helm_binary() -> str | None:
    local = ROOT / ".local" / "bin" / "helm"
    if local.is_file():
        return str(local)
    return shutil.which("helm")


def helm() -> str:
    binary = helm_binary()
    if binary is None:
        pytest.skip(
            "helm is not installed: run deploy/helm/install-tools.sh (builds it into .local/bin)"
        )
    return binary


def run_helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm(), *args], capture_output=True, text=True, check=False, timeout=120)


def template_args(files: tuple[Path, ...], values: dict[str, str]) -> list[str]:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    args += ["--kube-version", KUBE_VERSION]
    for path in files:
        args += ["--values", str(path)]
    for key, value in values.items():
        flag = "--set" if value in ("true", "false") else "--set-string"
        # helm splits --set on commas unless they are escaped.
        escaped = value.replace(",", "\\,")
        args += [flag, f"{key}={escaped}"]
    return args


@cache
def render(scenario: str) -> tuple[dict[str, Any], ...]:
    files, values = SCENARIOS[scenario]
    result = run_helm(*template_args(files, values))
    assert result.returncode == 0, f"helm template ({scenario}) failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def by_name(docs: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in of_kind(docs, kind)}


def component(doc: dict[str, Any]) -> str | None:
    labels = doc["metadata"].get("labels", {})
    return labels.get("app.kubernetes.io/component")


def workload(docs: tuple[dict[str, Any], ...], name: str) -> dict[str, Any]:
    deployments = [d for d in of_kind(docs, "Deployment") if component(d) == name]
    assert len(deployments) == 1, f"expected one Deployment for {name}"
    return deployments[0]


def pod_specs(docs: tuple[dict[str, Any], ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] == "Deployment":
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]
        elif doc["kind"] == "CronJob":
            yield doc["metadata"]["name"], doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def env_names(docs: tuple[dict[str, Any], ...], name: str) -> set[str]:
    """Variables a component's main container gets: env entries and envFrom ConfigMaps."""
    configmaps = by_name(docs, "ConfigMap")
    container = workload(docs, name)["spec"]["template"]["spec"]["containers"][0]
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        names |= set(configmaps[source["configMapRef"]["name"]]["data"])
    return names


def topics_in_contracts() -> set[str]:
    """Topic names declared in the event contracts (etnik.common.contracts)."""
    found: set[str] = set()
    for path in CONTRACTS.glob("*.py"):
        found |= set(re.findall(r'_TOPIC\s*=\s*"([^"]+)"', path.read_text(encoding="utf-8")))
    return found


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


# --- helm lint and template -----------------------------------------------------------------------


@pytest.mark.parametrize("files", [(), (PRODUCTION_VALUES,)], ids=["default", "production"])
def test_helm_lint(files: tuple[Path, ...]) -> None:
    args = ["lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION]
    for path in files:
        args += ["--values", str(path)]
    result = run_helm(*args)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_chart_renders(scenario: str) -> None:
    docs = render(scenario)
    for name in COMPONENTS:
        workload(docs, name)
    names = [(doc["kind"], doc["metadata"]["name"]) for doc in docs]
    assert len(names) == len(set(names)), "two resources share a kind and name"


def test_chart_links_its_shared_files_instead_of_copying_them() -> None:
    # One source: the alert rules, the dashboard and the gateway's template live outside the
    # chart and are linked into files/, which helm follows.
    links = {
        CHART / "files" / "alerts.yml": ALERTS_FILE,
        CHART / "files" / "grafana-dashboard.json": DASHBOARD_FILE,
        CHART / "files" / "gateway" / "default.conf.template": GATEWAY_TEMPLATE,
        CHART / "files" / "gateway" / "gateway.env": GATEWAY_ENV,
    }
    for link, target in links.items():
        assert link.is_symlink(), f"{link.relative_to(ROOT)} must be a link, not a copy"
        assert link.resolve() == target.resolve()
        assert target.is_file(), f"{target.relative_to(ROOT)} is missing"


def test_render_fails_without_required_values() -> None:
    bad = {
        "secrets.create=true": "secrets.values.jwtPrivateKeyPem",
        "kafka.create=false": "kafka.bootstrapServers",
        "services.notification.autoscaling.minReplicas=7": "minReplicas",
    }
    for setting, message in bad.items():
        result = run_helm(*template_args((), {}), "--set", setting)
        assert result.returncode != 0, f"{setting} rendered"
        assert message in result.stderr


def test_previous_signing_keys_are_mounted_and_named_to_registration() -> None:
    values = {
        **SECRET_VALUES,
        "secrets.jwtSigningKey.previousKeys[0]": "previous-key.pem",
        "secrets.values.jwtPreviousKeyPems.previous-key\\.pem": "test-only-old-key",
    }
    result = run_helm(*template_args((), values))
    assert result.returncode == 0, result.stderr
    docs = tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)
    pod = workload(docs, "registration")["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "jwt-signing-key"]
    assert {"key": "previous-key.pem", "path": "jwt-previous-0.pem"} in volume["secret"]["items"]
    container = pod["containers"][0]
    [config] = [
        by_name(docs, "ConfigMap")[source["configMapRef"]["name"]]["data"]
        for source in container.get("envFrom", [])
        if "JWT_PRIVATE_KEY_FILE"
        in by_name(docs, "ConfigMap")[source["configMapRef"]["name"]]["data"]
    ]
    assert json.loads(config["JWT_PREVIOUS_KEY_FILES"]) == ["/run/secrets/etnik/jwt-previous-0.pem"]
    secret = by_name(docs, "Secret")[volume["secret"]["secretName"]]
    assert base64.b64decode(secret["data"]["previous-key.pem"]) == b"test-only-old-key"
    # Without previous keys the setting is absent, and a listed key needs its PEM.
    assert "JWT_PREVIOUS_KEY_FILES" not in env_names(render("everything"), "registration")
    missing = run_helm(
        *template_args((), {**SECRET_VALUES, "secrets.jwtSigningKey.previousKeys[0]": "old.pem"})
    )
    assert missing.returncode != 0
    assert "secrets.values.jwtPreviousKeyPems.old.pem" in missing.stderr


# --- Kubernetes schemas ---------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_core_resources_match_the_kubernetes_schemas(scenario: str) -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate",
        reason="kubernetes-validate is not installed: it is a dev dependency",
    )
    for doc in render(scenario):
        if doc["kind"] not in CORE_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {error.message}")


def test_every_core_kind_is_rendered_and_nothing_unknown_is() -> None:
    rendered = {doc["kind"] for scenario in SCENARIOS for doc in render(scenario)}
    assert rendered >= CORE_KINDS, f"never rendered: {sorted(CORE_KINDS - rendered)}"
    unchecked = rendered - CORE_KINDS - set(CUSTOM_RESOURCE_CHECKS)
    assert not unchecked, f"no check for {sorted(unchecked)}"


# --- the operators' resources ---------------------------------------------------------------------


def check_kafka(doc: dict[str, Any], docs: tuple[dict[str, Any], ...]) -> None:
    assert doc["apiVersion"] == "kafka.strimzi.io/v1"
    kafka = doc["spec"]["kafka"]
    assert re.fullmatch(r"4\.\d+\.\d+", kafka["version"])
    # KRaft with node pools: no ZooKeeper, no replicas or storage on the Kafka resource.
    assert "zookeeper" not in doc["spec"]
    assert "replicas" not in kafka
    assert "storage" not in kafka
    listeners = kafka["listeners"]
    assert listeners
    for listener in listeners:
        assert {"name", "port", "type", "tls"} <= set(listener)
    assert any(listener["port"] == 9092 for listener in listeners)
    config = kafka["config"]
    assert config["default.replication.factor"] == 3
    assert config["min.insync.replicas"] == 2
    assert config["offsets.topic.replication.factor"] == 3
    assert config["auto.create.topics.enable"] is False
    assert "topicOperator" in doc["spec"]["entityOperator"]
    pools = [
        p
        for p in of_kind(docs, "KafkaNodePool")
        if p["metadata"]["labels"]["strimzi.io/cluster"] == doc["metadata"]["name"]
    ]
    assert pools, "a KRaft cluster needs node pools"
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    controllers = sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"])
    assert brokers >= 3
    assert controllers >= 3
    assert controllers % 2 == 1, "a KRaft quorum needs an odd majority"


def check_kafka_node_pool(doc: dict[str, Any], docs: tuple[dict[str, Any], ...]) -> None:
    assert doc["apiVersion"] == "kafka.strimzi.io/v1"
    assert doc["metadata"]["labels"]["strimzi.io/cluster"] in by_name(docs, "Kafka")
    spec = doc["spec"]
    assert spec["replicas"] >= 1
    assert set(spec["roles"]) <= {"broker", "controller"}
    assert spec["roles"]
    storage = spec["storage"]
    assert storage["type"] in {"jbod", "persistent-claim"}
    for volume in storage.get("volumes", [storage]):
        assert volume["type"] == "persistent-claim"
        assert volume["size"]
        assert volume.get("deleteClaim") is False, "an uninstall must not delete Kafka's data"


def check_kafka_topic(doc: dict[str, Any], docs: tuple[dict[str, Any], ...]) -> None:
    assert doc["apiVersion"] == "kafka.strimzi.io/v1"
    assert doc["metadata"]["labels"]["strimzi.io/cluster"] in by_name(docs, "Kafka")
    spec = doc["spec"]
    assert spec["topicName"].startswith("etnik.")
    assert isinstance(spec["partitions"], int)
    assert spec["partitions"] >= 1
    assert spec["replicas"] == 3
    config = spec["config"]
    assert config["cleanup.policy"] in {"compact", "delete", "compact,delete"}
    assert config["min.insync.replicas"] == "2"
    if "delete" in config["cleanup.policy"]:
        assert int(config["retention.ms"]) > 0, "a deleting topic needs a bounded retention"


def check_mongodb(doc: dict[str, Any], docs: tuple[dict[str, Any], ...]) -> None:
    assert doc["apiVersion"] == "mongodbcommunity.mongodb.com/v1"
    spec = doc["spec"]
    assert spec["type"] == "ReplicaSet"
    assert spec["members"] == 3
    assert re.fullmatch(r"\d+\.\d+\.\d+", spec["version"])
    assert spec["security"]["authentication"]["modes"] == ["SCRAM"]
    users = {user["name"]: user for user in spec["users"]}
    for name in SERVICES:
        user = users[f"etnik-{name}"]
        assert user["db"] == "admin"
        assert user["passwordSecretRef"]["name"]
        assert user["scramCredentialsSecretName"]
        # Each service may use its own database and no other.
        assert user["roles"] == [{"name": "readWrite", "db": f"etnik_{name}"}]
    for user in users.values():
        assert "password" not in user, "passwords are referenced, never written"


def check_scaled_object(doc: dict[str, Any], docs: tuple[dict[str, Any], ...]) -> None:
    assert doc["apiVersion"] == "keda.sh/v1alpha1"
    spec = doc["spec"]
    assert spec["scaleTargetRef"]["name"] in by_name(docs, "Deployment")
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    assert spec["triggers"]
    for trigger in spec["triggers"]:
        assert trigger["type"] in {"kafka", "cpu"}
        if trigger["type"] == "kafka":
            metadata = trigger["metadata"]
            assert {"bootstrapServers", "consumerGroup", "lagThreshold"} <= set(metadata)
            assert metadata["allowIdleConsumers"] == "false"


def check_http_route(doc: dict[str, Any], docs: tuple[dict[str, Any], ...]) -> None:
    assert doc["apiVersion"] == "gateway.networking.k8s.io/v1"
    spec = doc["spec"]
    assert spec["parentRefs"]
    assert all(ref["name"] for ref in spec["parentRefs"])
    assert spec["hostnames"]
    services = by_name(docs, "Service")
    for rule in spec["rules"]:
        for backend in rule["backendRefs"]:
            ports = {p["port"] for p in services[backend["name"]]["spec"]["ports"]}
            assert backend["port"] in ports


def check_service_monitor(doc: dict[str, Any], docs: tuple[dict[str, Any], ...]) -> None:
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    spec = doc["spec"]
    assert spec["endpoints"]
    selected = [
        s
        for s in of_kind(docs, "Service")
        if all(
            s["metadata"]["labels"].get(e["key"]) in e["values"]
            for e in spec["selector"]["matchExpressions"]
        )
    ]
    assert {component(s) for s in selected} == set(SERVICES)
    for endpoint in spec["endpoints"]:
        assert endpoint["path"] == "/metrics"
        for service in selected:
            assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}


def check_pod_monitor(doc: dict[str, Any], docs: tuple[dict[str, Any], ...]) -> None:
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    assert doc["spec"]["selector"]["matchLabels"]
    assert all(e["port"] for e in doc["spec"]["podMetricsEndpoints"])


def check_prometheus_rule(doc: dict[str, Any], docs: tuple[dict[str, Any], ...]) -> None:
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    rules = yaml.safe_load(ALERTS_FILE.read_text(encoding="utf-8"))
    assert doc["spec"]["groups"] == rules["groups"], "the chart's rules drifted from alerts.yml"


CUSTOM_RESOURCE_CHECKS = {
    "Kafka": check_kafka,
    "KafkaNodePool": check_kafka_node_pool,
    "KafkaTopic": check_kafka_topic,
    "MongoDBCommunity": check_mongodb,
    "ScaledObject": check_scaled_object,
    "HTTPRoute": check_http_route,
    "ServiceMonitor": check_service_monitor,
    "PodMonitor": check_pod_monitor,
    "PrometheusRule": check_prometheus_rule,
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_custom_resources_have_what_their_operators_need(scenario: str) -> None:
    docs = render(scenario)
    for doc in docs:
        check = CUSTOM_RESOURCE_CHECKS.get(doc["kind"])
        if check is not None:
            check(doc, docs)


def test_operator_resources_are_optional() -> None:
    kinds = {doc["kind"] for doc in render("external")}
    assert not kinds & {"Kafka", "KafkaNodePool", "KafkaTopic", "MongoDBCommunity", "ScaledObject"}
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "MongoDBCommunity"} <= {
        doc["kind"] for doc in render("default")
    }


# --- topics, partitions and replicas --------------------------------------------------------------


def topics(docs: tuple[dict[str, Any], ...]) -> dict[str, dict[str, Any]]:
    return {doc["spec"]["topicName"]: doc["spec"] for doc in of_kind(docs, "KafkaTopic")}


def test_every_topic_has_a_kafka_topic_resource() -> None:
    declared = set(topics(render("default")))
    in_code = topics_in_contracts()
    assert in_code, "no topic found in the event contracts"
    # Every topic a service publishes or reads, and every dead-letter topic; the chart may
    # declare a topic before the code that uses it lands, never after.
    missing = (in_code | DEAD_LETTER_TOPICS) - declared
    assert not missing, f"no KafkaTopic for {sorted(missing)}"
    assert all(re.fullmatch(r"etnik\.[a-z]+\.[a-z_]+\.v\d+", name) for name in declared)


def test_kafka_topics_are_the_kernels_definition() -> None:
    """The chart's topics and settings are etnik.common.topics', which the services apply
    themselves under compose and the local stack: one definition for every deployment."""
    from etnik.common.topics import platform_topics

    declared = topics(render("default"))
    defined = {spec.name: spec for spec in platform_topics()}
    assert set(declared) == set(defined)
    for name, spec in defined.items():
        config = dict(declared[name]["config"])
        assert config.pop("min.insync.replicas") == "2"
        assert config == dict(spec.config), name
        assert declared[name]["partitions"] == (spec.partitions or 6), name


def test_the_chart_overrides_a_profile_or_a_topic_on_top_of_the_definition(
    tmp_path: Path,
) -> None:
    override = tmp_path / "retention.yaml"
    override.write_text(
        yaml.safe_dump(
            {
                "kafka": {
                    "retention": {"history": {"retention.ms": "63072000000"}},
                    "topics": {"etnik.registration.people.v1": {"config": {"segment.ms": "1"}}},
                }
            }
        )
    )
    result = run_helm(*template_args((override,), {}))
    assert result.returncode == 0, result.stderr
    declared = topics(tuple(d for d in yaml.safe_load_all(result.stdout) if d))
    assert declared["etnik.registration.events.v1"]["config"]["retention.ms"] == "63072000000"
    people = declared["etnik.registration.people.v1"]["config"]
    assert people["segment.ms"] == "1"
    assert people["cleanup.policy"] == "compact"
    assert declared["etnik.registration.organisations.v1"]["config"]["segment.ms"] == "86400000"


def test_services_leave_topic_settings_to_the_topic_operator_only_when_it_runs() -> None:
    for scenario, managed in (("default", "false"), ("external", "true")):
        configs = by_name(render(scenario), "ConfigMap")
        for name in SERVICES:
            assert configs[f"{RELEASE}-{name}"]["data"]["KAFKA_MANAGE_TOPIC_CONFIGS"] == managed


def test_topic_retention_fits_what_the_topics_carry() -> None:
    declared = topics(render("default"))
    # Personal data (names, e-mail addresses), keyed by person: compaction keeps only the
    # latest record per person, so an erasure event replaces what came before, and within a
    # bounded time.
    people = declared["etnik.registration.people.v1"]["config"]
    assert people["cleanup.policy"] == "compact"
    assert int(people["max.compaction.lag.ms"]) <= 7 * 24 * 3600 * 1000
    assert int(people["segment.ms"]) <= int(people["max.compaction.lag.ms"])
    # Dead letters hold copies of any event, personal data included: kept two weeks at most.
    for name in DEAD_LETTER_TOPICS:
        config = declared[name]["config"]
        assert config["cleanup.policy"] == "delete"
        assert int(config["retention.ms"]) <= 14 * 24 * 3600 * 1000


def consumable(declared: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Partitions of every topic a service may consume: all but the dead-letter topics."""
    return {
        name: spec["partitions"]
        for name, spec in declared.items()
        if not name.endswith(".deadletter.v1")
    }


@pytest.mark.parametrize(
    ("scenario", "files"), [("default", ()), ("production", (PRODUCTION_VALUES,))]
)
def test_lag_scaling_is_capped_at_the_partitions(scenario: str, files: tuple[Path, ...]) -> None:
    docs = render(scenario)
    values: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    for path in files:
        values["kafka"].update(yaml.safe_load(path.read_text(encoding="utf-8"))["kafka"])
    partitions = values["kafka"]["partitions"]
    # Every topic a group may read has that many partitions, so the cap holds whatever
    # topics the services subscribe to.
    assert set(consumable(topics(docs)).values()) == {partitions}
    scaled = {component(d): d for d in of_kind(docs, "ScaledObject")}
    assert set(scaled) == set(LAG_SCALED)
    for name, doc in scaled.items():
        spec = doc["spec"]
        lag_triggers = [t["metadata"] for t in spec["triggers"] if t["type"] == "kafka"]
        assert len(lag_triggers) == 1, f"{name}: one lag trigger for its consumer group"
        assert lag_triggers[0]["consumerGroup"] == f"etnik.{name}"
        # No topic: the lag of every topic the group reads counts.
        assert "topic" not in lag_triggers[0]
        assert any(t["type"] == "cpu" for t in spec["triggers"]), f"{name}: HTTP side unscaled"
        # Capped exactly at the partition count: the one value in both places.
        assert spec["maxReplicaCount"] == partitions
        assert spec["minReplicaCount"] <= partitions


def test_fewer_partitions_on_a_consumed_topic_fails_the_render(tmp_path: Path) -> None:
    override = tmp_path / "fewer-partitions.yaml"
    override.write_text(
        yaml.safe_dump({"kafka": {"topics": {"etnik.registration.people.v1": {"partitions": 2}}}})
    )
    result = run_helm(*template_args((override,), {}))
    assert result.returncode != 0
    assert "fewer than kafka.partitions" in result.stderr


def test_consumer_services_without_keda_are_still_capped() -> None:
    docs = render("external")
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    hpas = {component(d): d["spec"] for d in of_kind(docs, "HorizontalPodAutoscaler")}
    for name in LAG_SCALED:
        assert hpas[name]["maxReplicas"] == values["kafka"]["partitions"]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_deployment_has_exactly_one_autoscaler(scenario: str) -> None:
    docs = render(scenario)
    targets = [
        d["spec"]["scaleTargetRef"]["name"] for d in of_kind(docs, "HorizontalPodAutoscaler")
    ]
    targets += [d["spec"]["scaleTargetRef"]["name"] for d in of_kind(docs, "ScaledObject")]
    deployments = sorted(by_name(docs, "Deployment"))
    assert sorted(targets) == deployments, "two autoscalers on one Deployment fight each other"
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        metric = hpa["spec"]["metrics"][0]["resource"]
        assert metric["name"] == "cpu"
    for deployment in of_kind(docs, "Deployment"):
        assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"


def test_services_create_missing_topics_as_the_cluster_would() -> None:
    docs = render("default")
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    for name in SERVICES:
        config = by_name(docs, "ConfigMap")[f"{RELEASE}-{name}"]["data"]
        assert config["KAFKA_TOPIC_PARTITIONS"] == str(values["kafka"]["partitions"])
        assert config["KAFKA_REPLICATION_FACTOR"] == "3"


# --- pods: security, probes, resources ------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_pod_runs_locked_down(scenario: str) -> None:
    docs = render(scenario)
    specs = list(pod_specs(docs))
    assert len(specs) >= len(COMPONENTS)
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] == SERVICE_UID, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        assert "hostNetwork" not in spec, name
        assert "hostPID" not in spec, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["runAsNonRoot"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in context["capabilities"], where
            assert context["seccompProfile"]["type"] == "RuntimeDefault", where
            assert not context.get("privileged", False), where
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert {"cpu", "memory"} <= set(resources["limits"]), where
            assert ":" in container["image"]
            assert not container["image"].endswith(":latest")
        main = spec["containers"][0]
        mounts = {m["mountPath"]: m["name"] for m in main.get("volumeMounts", [])}
        assert SCRATCH in mounts, f"{name}: a read-only root needs an emptyDir at /tmp"
        assert "emptyDir" in volumes[mounts[SCRATCH]], name
    for account in of_kind(docs, "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False


def test_services_probe_health_and_readiness() -> None:
    docs = render("default")
    for name in SERVICES:
        container = workload(docs, name)["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["ports"] == [
            {"name": "http", "containerPort": SERVICE_PORT, "protocol": "TCP"}
        ]
    gateway = workload(docs, "gateway")["spec"]["template"]["spec"]["containers"][0]
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_component_has_a_disruption_budget(scenario: str) -> None:
    docs = render(scenario)
    budgets = {component(d): d["spec"] for d in of_kind(docs, "PodDisruptionBudget")}
    assert set(budgets) == set(COMPONENTS)
    for name, spec in budgets.items():
        template_labels = workload(docs, name)["spec"]["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= template_labels.items()
        assert spec["minAvailable"] >= 1


def test_registration_reads_its_signing_key_from_a_mounted_secret() -> None:
    docs = render("default")
    spec = workload(docs, "registration")["spec"]["template"]["spec"]
    config = by_name(docs, "ConfigMap")[f"{RELEASE}-registration"]["data"]
    key_file = Path(config["JWT_PRIVATE_KEY_FILE"])
    mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
    mount = mounts[str(key_file.parent)]
    assert mount["readOnly"] is True
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["items"][0]["path"] == key_file.name
    # Readable by the service's group (fsGroup), by no one else.
    assert volume["secret"]["defaultMode"] == 0o440


# --- secrets --------------------------------------------------------------------------------------


def test_no_secret_value_is_committed() -> None:
    for path in (CHART / "values.yaml", PRODUCTION_VALUES):
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
        given = values.get("secrets", {}).get("values", {})

        def leaves(node: Any) -> Iterator[Any]:
            if isinstance(node, dict):
                for child in node.values():
                    yield from leaves(child)
            else:
                yield node

        assert all(value in ("", None) for value in leaves(given)), f"{path.name} holds a secret"
    for path in CHART.rglob("*"):
        if path.is_file() and not path.is_symlink():
            text = path.read_text(encoding="utf-8")
            assert "PRIVATE KEY-----" not in text, path
    # By default nothing secret is rendered at all: Secrets are only referenced.
    assert not of_kind(render("default"), "Secret")
    assert not of_kind(render("production"), "Secret")


def test_secrets_come_from_secret_references() -> None:
    docs = render("default")
    for name in SERVICES:
        container = workload(docs, name)["spec"]["template"]["spec"]["containers"][0]
        env = {entry["name"]: entry for entry in container["env"]}
        assert "secretKeyRef" in env["MONGODB_URL"]["valueFrom"]
        for entry in env.values():
            assert "value" not in entry, f"{name}: {entry['name']} is written in the manifest"
    notification = workload(docs, "notification")["spec"]["template"]["spec"]["containers"][0]
    smtp = {e["name"]: e for e in notification["env"]}
    assert "secretKeyRef" in smtp["SMTP_PASSWORD"]["valueFrom"]
    registration = workload(docs, "registration")["spec"]["template"]["spec"]["containers"][0]
    admin = {e["name"]: e for e in registration["env"]}
    assert "secretKeyRef" in admin["ADMIN_PASSWORD"]["valueFrom"]
    assert "secretKeyRef" in admin["ADMIN_EMAIL"]["valueFrom"]
    for configmap in of_kind(docs, "ConfigMap"):
        for key in configmap["data"]:
            assert not re.search(r"PASSWORD|SECRET|TOKEN", key), f"{key} in a ConfigMap"


def test_mongodb_users_reference_the_secrets_the_chart_can_make() -> None:
    docs = render("everything")
    secrets = set(by_name(docs, "Secret"))
    mongodb = of_kind(docs, "MongoDBCommunity")[0]
    for user in mongodb["spec"]["users"]:
        assert user["passwordSecretRef"]["name"] in secrets
    backup = of_kind(docs, "CronJob")[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    url = backup["containers"][0]["env"][0]
    assert url["name"] == "MONGODB_URL"
    connection_secrets = {user["connectionStringSecretName"] for user in mongodb["spec"]["users"]}
    assert url["valueFrom"]["secretKeyRef"]["name"] in connection_secrets


# --- network policies -----------------------------------------------------------------------------


def policies_for(docs: tuple[dict[str, Any], ...], name: str) -> list[dict[str, Any]]:
    labels = workload(docs, name)["spec"]["template"]["metadata"]["labels"]
    return [
        p["spec"]
        for p in of_kind(docs, "NetworkPolicy")
        if p["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    ]


def allowed_ports(rules: list[dict[str, Any]]) -> set[int]:
    return {port["port"] for rule in rules for port in rule.get("ports", [])}


def peers(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [peer for rule in rules for peer in rule.get("from", rule.get("to", []))]


def peer_components(rules: list[dict[str, Any]]) -> set[str]:
    return {
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for peer in peers(rules)
        if "app.kubernetes.io/component" in peer.get("podSelector", {}).get("matchLabels", {})
    }


@pytest.mark.parametrize("scenario", ["default", "production"])
def test_network_policies_allow_only_what_the_architecture_needs(scenario: str) -> None:
    docs = render(scenario)
    for name in COMPONENTS:
        specs = policies_for(docs, name)
        # Default deny: a policy with both types and no rules selects every pod.
        assert any(
            set(s["policyTypes"]) == {"Ingress", "Egress"}
            and "ingress" not in s
            and "egress" not in s
            for s in specs
        ), f"{name} is not covered by the default deny"
        ingress = [rule for s in specs for rule in s.get("ingress", [])]
        egress = [rule for s in specs for rule in s.get("egress", [])]
        # DNS for everyone.
        assert {53} <= allowed_ports(egress)
        if name == "gateway":
            assert peer_components(egress) == set(SERVICES)
            assert allowed_ports(egress) == {53, SERVICE_PORT}
            continue
        callers = peer_components(ingress)
        expected_callers = {"gateway"} | (
            {"notification", "content", "reporting"} if name == "registration" else {"registration"}
        )
        assert callers == expected_callers, name
        assert allowed_ports(ingress) == {SERVICE_PORT}
        # Prometheus, from its own namespace.
        assert any("namespaceSelector" in peer for peer in peers(ingress)), name
        ports = allowed_ports(egress)
        assert {9092, 27017} <= ports, name
        if name == "registration":
            assert "registration" not in peer_components(egress)
            # A person's export reads the other services' parts.
            assert peer_components(egress) == {"notification", "content", "reporting"}
        else:
            assert "registration" in peer_components(egress), f"{name} cannot fetch the JWKS"
        values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
        smtp_port = values["smtp"]["port"]
        if name == "notification":
            assert smtp_port in ports
            assert any("ipBlock" in peer for peer in peers(egress))
        else:
            assert smtp_port not in ports
            assert not any("ipBlock" in p for p in peers(egress))


def test_kafka_listener_admits_only_the_platform_and_keda() -> None:
    docs = render("default")
    listener = of_kind(docs, "Kafka")[0]["spec"]["kafka"]["listeners"][0]
    allowed = listener["networkPolicyPeers"]
    service_labels = workload(docs, "notification")["spec"]["template"]["metadata"]["labels"]
    assert any(
        p["podSelector"]["matchLabels"].items() <= service_labels.items()
        for p in allowed
        if "podSelector" in p
    )
    assert any(
        p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        == "keda"
        for p in allowed
    )
    gateway_labels = workload(docs, "gateway")["spec"]["template"]["metadata"]["labels"]
    assert not any(
        p["podSelector"]["matchLabels"].items() <= gateway_labels.items()
        for p in allowed
        if "podSelector" in p
    ), "the gateway has no business with Kafka"


# --- the same platform as docker-compose.yml ------------------------------------------------------


def test_chart_and_compose_name_the_same_images() -> None:
    project = compose()["name"]
    docs = render("default")
    for name in SERVICES:
        container = workload(docs, name)["spec"]["template"]["spec"]["containers"][0]
        repository = container["image"].rsplit(":", 1)[0].rsplit("/", 1)[-1]
        # Compose names a built image <project>-<service>.
        built = compose()["services"][name].get("image", f"{project}-{name}").split(":")[0]
        assert repository == built == f"etnik-{name}"
    gateway = workload(docs, "gateway")["spec"]["template"]["spec"]["containers"][0]
    assert gateway["image"] == compose()["services"]["gateway"]["image"]


def test_chart_and_compose_use_the_same_ports_and_commands() -> None:
    docs = render("default")
    for name in SERVICES:
        container = workload(docs, name)["spec"]["template"]["spec"]["containers"][0]
        compose_ports = {
            int(entry.split(":")[-1]) for entry in compose()["services"][name].get("ports", [])
        }
        assert {p["containerPort"] for p in container["ports"]} == compose_ports == {SERVICE_PORT}
        # The Dockerfile's ENTRYPOINT and CMD, as tests/deploy/test_compose.py pins them.
        assert container["command"] + container["args"] == [
            "python",
            "-m",
            f"etnik.{name}",
            "--host",
            "0.0.0.0",  # noqa: S104
            "--port",
            str(SERVICE_PORT),
        ]
        service = by_name(docs, "Service")[f"{RELEASE}-{name}"]
        assert service["spec"]["ports"][0]["port"] == SERVICE_PORT


@pytest.mark.parametrize("name", SERVICES)
def test_chart_and_compose_set_the_same_variables(name: str) -> None:
    in_compose = set(compose()["services"][name]["environment"])
    in_chart = env_names(render("default"), name)
    assert in_chart - KUBERNETES_ONLY_ENV == in_compose, (
        f"only in the chart: {sorted(in_chart - KUBERNETES_ONLY_ENV - in_compose)}, "
        f"only in compose: {sorted(in_compose - in_chart)}"
    )


def test_gateway_gets_the_compose_variables_and_the_same_template() -> None:
    docs = render("default")
    gateway = compose()["services"]["gateway"]
    in_compose = set(gateway["environment"])
    for line in GATEWAY_ENV.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            in_compose.add(line.split("=", 1)[0].strip())
    config = by_name(docs, "ConfigMap")[f"{RELEASE}-gateway"]["data"]
    assert set(config) == in_compose
    files = by_name(docs, "ConfigMap")[f"{RELEASE}-gateway-files"]["data"]
    template = GATEWAY_TEMPLATE.read_text(encoding="utf-8")
    assert files["default.conf.template"] == template
    used = set(re.findall(r"\$\{?(ETNIK_[A-Z0-9_]+)\}?", template))
    assert used <= set(config), f"unset in the chart: {sorted(used - set(config))}"
    for name in SERVICES:
        assert config[f"ETNIK_{name.upper()}_UPSTREAM"] == f"{RELEASE}-{name}:{SERVICE_PORT}"
    container = workload(docs, "gateway")["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == int(config["ETNIK_GATEWAY_PORT"])
    # The image's entrypoint renders templates into conf.d, which nginx.conf includes.
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/etc/nginx/templates/default.conf.template", "/etc/nginx/conf.d"} <= mounts
    main = files["nginx.conf"]
    assert "include /etc/nginx/conf.d/*.conf;" in main
    assert "pid /tmp/" in main
    assert not re.search(r"^\s*user\s", main, re.MULTILINE), "nginx runs unprivileged"


def test_gateway_trusts_forwarded_addresses_only_from_its_proxies() -> None:
    default = by_name(render("default"), "ConfigMap")[f"{RELEASE}-gateway-files"]["data"]
    assert "set_real_ip_from" not in default["nginx.conf"]
    everything = by_name(render("everything"), "ConfigMap")[f"{RELEASE}-gateway-files"]["data"]
    assert "set_real_ip_from 10.0.0.0/8;" in everything["nginx.conf"]


def test_exposure_routes_everything_to_the_gateway() -> None:
    docs = render("everything")
    gateway_service = f"{RELEASE}-gateway"
    route = of_kind(docs, "HTTPRoute")[0]["spec"]
    assert [b["name"] for r in route["rules"] for b in r["backendRefs"]] == [gateway_service]
    ingress = of_kind(docs, "Ingress")[0]["spec"]
    backends = [
        p["backend"]["service"]["name"] for r in ingress["rules"] for p in r["http"]["paths"]
    ]
    assert backends == [gateway_service]
    assert not of_kind(render("default"), "Ingress"), (
        "the Ingress is the alternative, off by default"
    )


# --- monitoring -----------------------------------------------------------------------------------


def promtool() -> str:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip(
            "promtool is not installed: run deploy/helm/install-tools.sh (Debian's prometheus)"
        )
    return binary


def test_promtool_checks_the_alert_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(ALERTS_FILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_fire_every_alert() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", str(ALERTS_TEST_FILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=MONITORING,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tests = yaml.safe_load(ALERTS_TEST_FILE.read_text(encoding="utf-8"))["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert fired == set(alert_names())


def alert_names() -> list[str]:
    rules = yaml.safe_load(ALERTS_FILE.read_text(encoding="utf-8"))
    return [
        rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule
    ]


def test_alerts_cover_the_failures_operators_must_see() -> None:
    rules = yaml.safe_load(ALERTS_FILE.read_text(encoding="utf-8"))
    expressions = " ".join(
        rule["expr"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule
    )
    for needle in (
        "kafka_consumergroup_lag",
        'etnik_events_consumed_total{outcome="dead_lettered"}',
        "kube_deployment_status_replicas_unavailable",
        'etnik_notifications_total{outcome="failed"}',
        'http_requests_total{status=~"5.."}',
        "etnik_outbox_pending_documents",
        "etnik_kafka_connected == 0",
    ):
        assert needle in expressions, f"no alert on {needle}"
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"warning", "critical"}
            assert rule["annotations"]["summary"]


def test_every_alert_has_a_runbook() -> None:
    doc = OPERATIONS_DOC.read_text(encoding="utf-8")
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in doc.splitlines()
        if line.startswith("#")
    }
    rules = yaml.safe_load(ALERTS_FILE.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            anchor = rule["annotations"]["runbook"].split("#", 1)[1]
            assert anchor == rule["alert"].lower()
            assert anchor in headings, f"docs/operations.md has no section {rule['alert']}"


def test_grafana_dashboard_shows_what_operators_need() -> None:
    dashboard = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    assert dashboard["uid"]
    assert dashboard["title"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    expressions = " ".join(t["expr"] for p in panels for t in p["targets"])
    for metric in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "etnik_events_consumed_total",
        "kafka_consumergroup_lag",
        "etnik_outbox_pending_documents",
        "etnik_notifications_total",
        "etnik_kafka_connected",
    ):
        assert metric in expressions, f"no panel shows {metric}"
    for panel in panels:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", "the data source is a variable"


def test_services_get_the_keys_they_need_in_production() -> None:
    rendered = render("default")
    wanted = [
        ("notification", "UNSUBSCRIBE_SECRET"),
        ("content", "PSEUDONYM_KEY"),
        ("reporting", "REPORTING_PSEUDONYM_KEY"),
        # Registration checks the secret that notification proves itself with: one key.
        ("registration", "NOTIFICATION_CLIENT_SECRET"),
        ("notification", "NOTIFICATION_CLIENT_SECRET"),
    ]
    for service, variable in wanted:
        [deployment] = [
            r
            for r in rendered
            if r["kind"] == "Deployment" and r["metadata"]["name"].endswith(f"-{service}")
        ]
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env[variable]["valueFrom"]["secretKeyRef"]["name"].endswith("-service-keys")
    reference = env["NOTIFICATION_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
    assert reference["key"] == "notification-client-secret"
