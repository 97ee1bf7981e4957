"""The shape every service shares: one process with a FastAPI app and a FastStream broker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_fastapi_instrumentator import Instrumentator
from pymongo.errors import ConnectionFailure, PyMongoError

from etnik.common.auth import JwtVerifier, KeyLoader, jwks_from_url
from etnik.common.consumer import EventConsumer, ensure_processed_index, prune_processed
from etnik.common.errors import Refused
from etnik.common.events import IntegrationEvent
from etnik.common.idempotency import IdempotencyStore
from etnik.common.kafka import KafkaConnection, create_broker, dead_letter_topic
from etnik.common.logging import configure_logging
from etnik.common.middleware import RequestContextMiddleware
from etnik.common.mongo import create_mongo_client, mongo_is_reachable, service_database
from etnik.common.outbox import Outbox, OutboxRelay, ensure_outbox_index
from etnik.common.publisher import EventPublisher
from etnik.common.settings import ServiceSettings

log = logging.getLogger(__name__)

StartupHook = Callable[[], Awaitable[None]]
BackgroundTask = Callable[[], Awaitable[None]]
C = TypeVar("C")


class ServiceRuntime:
    """What one service process holds: settings, clients, broker, outbox and consumers."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        publishes: Sequence[type[IntegrationEvent]] = (),
        outbox_collections: Sequence[str] = (),
        jwks_loader: KeyLoader | None = None,
    ) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self.mongo = create_mongo_client(settings)
        self.db = service_database(self.mongo, settings)
        self.broker = create_broker(settings, self.registry)
        self._topics: set[str] = {dead_letter_topic(settings.service_name)}
        self._topics.update(contract.topic for contract in publishes)
        self.kafka = KafkaConnection(self.broker, settings, self.registry)
        self.publisher = EventPublisher(
            self.broker,
            self.kafka,
            source=f"/etnik/{settings.service_name}",
            timeout_s=settings.kafka_publish_timeout_s,
        )
        self.publisher.declare(publishes)
        self.outbox = Outbox(self.publisher, self.registry)
        self._outbox_collections = list(outbox_collections)
        self.relay = OutboxRelay(
            self.outbox,
            [self.db[name] for name in outbox_collections],
            interval_s=settings.outbox_relay_interval_s,
            grace_s=settings.outbox_relay_grace_s,
        )
        self.idempotency = IdempotencyStore(self.db["idempotency_keys"])
        self.consumers: list[EventConsumer] = []
        self.jwt_verifier = JwtVerifier(
            jwks_loader or jwks_from_url(f"{settings.registration_url.rstrip('/')}/auth/jwks"),
            issuers=[settings.jwt_issuer],
            audience=settings.jwt_audience,
        )
        self._database_setup: list[StartupHook] = [self.idempotency.ensure_indexes]
        self._database_setup.extend(_bind_index(self.db[name]) for name in self._outbox_collections)
        self._background: list[BackgroundTask] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.database_initialised = asyncio.Event()

    def consumer(self, group_suffix: str = "") -> EventConsumer:
        """A consumer group of this service; register handlers on it with @consumer.on(...)."""
        name = self.settings.service_name
        consumer = EventConsumer(
            group_id=f"etnik.{name}{'.' + group_suffix if group_suffix else ''}",
            database=self.db,
            publisher=self.publisher,
            dead_letter_topic=dead_letter_topic(name),
            registry=self.registry,
            max_attempts=self.settings.consumer_max_attempts,
            retry_backoff_s=self.settings.consumer_retry_backoff_s,
            batch_max=self.settings.consumer_batch_max,
        )
        if not self.consumers:
            self._database_setup.append(lambda: ensure_processed_index(self.db))
        self.consumers.append(consumer)
        return consumer

    def on_database_ready(self, hook: StartupHook) -> None:
        """Run a setup step (indexes, seed data) once MongoDB answers; retried until it does."""
        self._database_setup.append(hook)

    def run_in_background(self, task: BackgroundTask) -> None:
        """Run a long-lived loop (a scheduler, a dispatcher) for the life of the process."""
        self._background.append(task)

    def asyncapi(self) -> AsyncAPI:
        """The AsyncAPI document of what this service publishes and consumes."""
        for consumer in self.consumers:
            consumer.subscribe(self.broker)
        return AsyncAPI(
            self.broker,
            title=f"EtNik {self.settings.service_name} service",
            version="1.0.0",
            description=f"Kafka topics of the EtNik {self.settings.service_name} service",
            schema_version="3.0.0",
        )

    async def start(self) -> None:
        """Begin everything in the background; the HTTP side serves at once."""
        for consumer in self.consumers:
            consumer.subscribe(self.broker)
            self._topics.update(consumer.topics)
        self.kafka.start(self._topics)
        self._tasks.append(asyncio.create_task(self._initialise_database(), name="db-setup"))
        if self._outbox_collections:
            self.relay.start()
        for task in self._background:
            self._tasks.append(asyncio.create_task(_forever(task), name=task.__name__))
        if self.consumers:
            prune = asyncio.create_task(
                _forever(self.prune_processed_forever), name="prune-processed"
            )
            self._tasks.append(prune)

    async def prune_processed_forever(self) -> None:
        """Forget, now and then, the handled events older than the retention."""
        while True:
            await self.database_initialised.wait()
            retention = timedelta(seconds=self.settings.processed_events_retention_s)
            try:
                pruned = await prune_processed(self.db, datetime.now(UTC) - retention)
                if pruned:
                    log.info("forgot %d handled events older than %s", pruned, retention)
            except PyMongoError as error:
                log.warning("handled events not pruned (%s); trying again later", error)
            await asyncio.sleep(self.settings.processed_events_prune_interval_s)

    async def _initialise_database(self) -> None:
        delay = 0.5
        pending = list(self._database_setup)
        while pending:
            try:
                await pending[0]()
                pending.pop(0)
            except PyMongoError as error:
                log.warning("MongoDB setup waiting (%s); retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.database_initialised.set()

    async def stop(self) -> None:
        """Stop background work, the broker and the database client."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.relay.stop()
        await self.outbox.close()
        await self.kafka.stop()
        await self.mongo.close()

    async def readiness(self) -> dict[str, bool]:
        """Which dependencies answer now."""
        kafka, mongodb = await asyncio.gather(
            self.kafka.is_ready(within_s=2.0), mongo_is_reachable(self.mongo)
        )
        return {
            "kafka": kafka,
            "mongodb": mongodb,
            "initialised": self.database_initialised.is_set(),
        }


def _bind_index(collection: Any) -> StartupHook:
    async def create() -> None:
        await ensure_outbox_index(collection)

    return create


async def _forever(task: BackgroundTask) -> None:
    """Keep a background loop alive: a crash is logged and the loop starts again."""
    while True:
        try:
            await task()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task %s crashed; restarting", task.__name__)
            await asyncio.sleep(1.0)


def answer_refusals(app: FastAPI) -> None:
    """Answer every `Refused` as the HTTP error it names: the one place this is done."""

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        headers = dict(error.headers)
        if error.status_code == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        return JSONResponse(
            {"detail": error.reason}, status_code=error.status_code, headers=headers or None
        )


def container_dependency(kind: type[C]) -> Callable[[Request], C]:
    """A FastAPI dependency giving the container the app was built with, typed as `kind`."""

    def container(request: Request) -> C:
        found = request.app.state.container
        if not isinstance(found, kind):
            raise TypeError(f"the app holds {type(found).__name__}, not {kind.__name__}")
        return found

    container.__name__ = f"{kind.__name__.lower()}_of_request"
    return container


def create_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    container: object,
    routers: Iterable[APIRouter] = (),
    max_body_bytes: int = 1024 * 1024,
) -> FastAPI:
    """A FastAPI app with health, readiness, metrics, request ids and clean error responses.

    `container` is what the service's `build(settings)` returned; routes reach it through the
    service's `Annotated` dependency (see `container_dependency`).
    """
    settings = runtime.settings
    configure_logging(settings.service_name, settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    # Swagger UI and ReDoc served from the package, not a CDN: the platform may run offline.
    app = FastAPIOffline(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.container = container
    app.state.jwt_verifier = runtime.jwt_verifier
    app.add_middleware(RequestContextMiddleware, max_body_bytes=max_body_bytes)
    Instrumentator(
        registry=runtime.registry,
        excluded_handlers=["/metrics", "/healthz", "/readyz"],
        should_group_status_codes=False,
    ).instrument(app)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @app.get("/readyz", tags=["operations"], summary="Kafka and MongoDB answer")
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {
                "field": ".".join(str(part) for part in item.get("loc", ()) if part != "body"),
                "reason": item.get("msg", "invalid"),
                "type": item.get("type", "value_error"),
            }
            for item in error.errors()
        ]
        return JSONResponse({"detail": "invalid request", "errors": details}, status_code=422)

    answer_refusals(app)

    @app.exception_handler(ConnectionFailure)
    async def storage_unavailable(request: Request, error: ConnectionFailure) -> JSONResponse:
        log.warning("MongoDB unavailable: %s", error)
        return JSONResponse(
            {"detail": "storage is temporarily unavailable; nothing was saved, retry shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(PyMongoError)
    async def storage_failed(request: Request, error: PyMongoError) -> JSONResponse:
        """A storage error that is not an outage (a busy server, a write conflict): 503.

        Writes are safe to repeat with the same Idempotency-Key, so the client is told to retry.
        """
        log.warning("storage error: %s", error)
        return JSONResponse(
            {"detail": "storage did not finish; retry with the same Idempotency-Key"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    for router in routers:
        app.include_router(router)
    return app


def serve(app_path: str, default_port: int) -> None:
    """Command line of every service: python -m etnik.<name> --host H --port P."""
    parser = argparse.ArgumentParser(description=f"Run {app_path}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    args = parser.parse_args()
    # log_config=None keeps the JSON logging the app configures; access logs come from metrics.
    uvicorn.run(
        app_path, host=args.host, port=args.port, log_config=None, access_log=False, factory=True
    )
