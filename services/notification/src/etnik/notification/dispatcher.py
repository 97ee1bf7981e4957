"""The dispatcher: claims due messages in batches, sends them side by side, and writes each
outcome to its message together with its event.

A batch goes through these steps:

1. Claim: one `insert_many` of lease documents (etnik.notification.leases); two replicas never
   hold the same message at once, and a crashed replica's claims are taken over once their
   lease has run out. A claim that takes over first closes the expired generation on the
   message (messages.fence): the old holder's outcome, should it still come, is refused.
2. Check: the claimed messages are read in one query (each may have been sent, dropped or
   postponed since it was queued), their recipients and events in one query each.
3. Send: up to `smtp_connections` at once, invitations paced by `invitation_rate_per_s`,
   quiet hours (22:00-08:00 in the recipient's zone) respected. A message about a
   registration first reads from registration what it must carry (the owner's link, and
   for a confirmed participant the session link and check-in code, and for one of an
   in-person or hybrid event the QR code shown inline and, in a confirmation, the PDF
   ticket; see etnik.notification.registration_client): it waits while registration cannot
   be reached, and is never sent without them. No send starts unless the lease outlasts it
   by a margin.
4. Record: each outcome (sent, failed, dropped, or a new due time: postponed, retried,
   waiting for SMTP or registration) is written to the message itself, its `sent`/`failed`
   event staged in the message's outbox, in one atomic single-document update that lands only
   while no later claim has written to the message (messages.outcome_write); the batch's
   writes go in one `bulk_write`. The events are then published and pulled out of the
   outboxes (etnik.common.outbox); the outbox relay republishes what a crash left there.

So a message's outcome and its event are recorded exactly once. The email itself goes out
at least once: if its holder dies (or stalls past its lease) after the SMTP server accepted
it and before step 4, a successor sends it again once the lease has run out (the holder's
late write is then refused). Nothing else sends a message twice.

Messages are found without polling: those this replica queues, postpones or retries are
remembered in memory (MessageStore.hint). A sweep every `dispatch_sweep_interval_s` (or
less often, see SWEEP_SHARE) asks MongoDB for the rest: due reminders, other replicas'
expired claims, resends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from prometheus_client import CollectorRegistry, Counter
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError
from pymongo.results import BulkWriteResult

from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, StagedEvent
from etnik.notification.channels import Channel, DeliveryError
from etnik.notification.composer import Composer
from etnik.notification.domain import (
    INVITATION,
    KINDS_WITHOUT_EVENT,
    OPTIONAL_KINDS,
    DeliveryDetails,
    DeliveryPolicy,
    Outcome,
    needs_delivery_details,
    needs_ticket_pdf,
    no_longer_due,
    survey_closed,
)
from etnik.notification.leases import Claim, LeaseStore
from etnik.notification.messages import HINT_HORIZON, MessageStore
from etnik.notification.projections import Projections
from etnik.notification.registration_client import (
    DeliveryLookup,
    RegistrationUnavailable,
    RegistrationUnknown,
    TicketWithheld,
)
from etnik.notification.rendering import TemplateProblem, TemplateRenderer
from etnik.notification.settings import NotificationSettings
from etnik.notification.unsubscribe import UnsubscribeLinks
from etnik.notification.upgrade import LegacyOutcomes

log = logging.getLogger(__name__)

# A send is not started unless the lease outlasts it by this much besides the SMTP timeout.
LEASE_MARGIN_S = 5.0
# Leases that ran out this long ago are removed (see leases.py); checked this often.
LEASE_RETENTION = timedelta(days=1)
LEASE_CLEANUP_INTERVAL_S = 3600.0
# Sweeps are spaced so that they take at most about this share of the dispatcher's time.
SWEEP_SHARE = 0.05
SWEEP_INTERVAL_MAX_S = 60.0
# A batch's outcomes are written again after this long while MongoDB refuses them (until the
# lease runs out: after that a successor may send the messages again).
WRITE_RETRY_S = 0.5


@dataclass
class _Batch:
    """The claims of one round and what the round learned about them."""

    claims: list[Claim]
    outcomes: list[Outcome] = field(default_factory=list)
    released: list[Claim] = field(default_factory=list)


class Dispatcher:
    """The loop: claims due messages, asks the delivery policy what becomes of each, sends
    those that go through the channel, and has the message store record every outcome."""

    def __init__(
        self,
        *,
        store: MessageStore,
        projections: Projections,
        renderer: TemplateRenderer,
        channel: Channel,
        outbox: Outbox,
        unsubscribe_links: UnsubscribeLinks,
        registrations: DeliveryLookup,
        settings: NotificationSettings,
        registry: CollectorRegistry,
        db: AsyncDatabase[Document] | None = None,
    ) -> None:
        self._store = store
        self._registrations = registrations
        self._projections = projections
        self._composer = Composer(renderer, unsubscribe_links)
        self._channel = channel
        self._outbox = outbox
        self._settings = settings
        self._policy = DeliveryPolicy(
            max_send_attempts=settings.max_send_attempts,
            retry_base_delay_s=settings.retry_base_delay_s,
            smtp_outage_max_delay_s=settings.smtp_outage_max_delay_s,
            registration_outage_max_delay_s=settings.registration_outage_max_delay_s,
            wait_for_context_s=settings.wait_for_context_s,
        )
        database = db if db is not None else store.collection.database
        self.leases = LeaseStore(database)
        self.legacy = LegacyOutcomes(database, outbox)
        self._invitation_pace = AsyncLimiter(settings.invitation_rate_per_s, time_period=1.0)
        self._senders = asyncio.Semaphore(max(1, int(getattr(channel, "connections", 1))))
        self.owner = f"dispatcher-{secrets.token_hex(6)}"
        self._in_flight: set[str] = set()
        self._publishing: asyncio.Task[None] | None = None
        self._last_sweep = float("-inf")
        self._sweep_took_s = 0.0
        self._last_cleanup = float("-inf")
        self._outcomes = Counter(
            "etnik_notifications_total",
            "Messages by kind, channel and outcome",
            ["kind", "channel", "outcome"],
            registry=registry,
        )

    # --- The loop ---------------------------------------------------------------------

    async def run(self) -> None:
        """Dispatch until cancelled; sleeps when nothing is due or MongoDB is away."""
        try:
            while True:
                try:
                    worked = await self.dispatch_once()
                except PyMongoError as error:
                    log.warning("dispatcher waiting for MongoDB: %s", error)
                    worked = False
                if not worked:
                    await self._idle()
        finally:
            await self.drain()

    async def dispatch_once(self) -> bool:
        """Sweep when it is time, then handle one batch; False when nothing was due."""
        interval = max(
            self._settings.dispatch_sweep_interval_s,
            min(self._sweep_took_s / SWEEP_SHARE, SWEEP_INTERVAL_MAX_S),
        )
        if time.monotonic() - self._last_sweep >= interval:
            began = time.monotonic()
            await self.sweep()
            self._last_sweep = time.monotonic()
            self._sweep_took_s = self._last_sweep - began
        limit = self.batch_size
        due = self._store.take_due(datetime.now(UTC), limit)
        if due and len(due) < limit and self._settings.dispatch_linger_s > 0:
            await asyncio.sleep(self._settings.dispatch_linger_s)
            due += self._store.take_due(datetime.now(UTC), limit - len(due))
        due = [(message_id, gen) for message_id, gen in due if message_id not in self._in_flight]
        if not due:
            return False
        await self.dispatch(due)
        return True

    @property
    def _send_margin_s(self) -> float:
        """A send starts only if the lease outlasts it by this much."""
        settings = self._settings
        return min(settings.smtp_timeout_s * 2 + LEASE_MARGIN_S, settings.dispatch_lease_s / 2)

    @property
    def batch_size(self) -> int:
        """Messages per claim: no more than the pace lets out within half a lease."""
        settings = self._settings
        usable_s = settings.dispatch_lease_s - self._send_margin_s
        paced = int(settings.invitation_rate_per_s * usable_s / 2)
        return max(1, min(settings.dispatch_batch_size, paced))

    async def _idle(self) -> None:
        self._store.new_work.clear()
        timeout = self._settings.dispatch_idle_interval_s
        next_due = self._store.next_due()
        if next_due is not None:
            timeout = min(timeout, max(0.0, (next_due - datetime.now(UTC)).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._store.new_work.wait(), timeout=timeout)

    async def drain(self) -> None:
        """Wait until the last batch's events are published (or left to the relay)."""
        if self._publishing is not None:
            with contextlib.suppress(Exception):
                await self._publishing
            self._publishing = None

    # --- Finding work that is not in memory -------------------------------------------

    async def sweep(self) -> int:
        """Remember due messages found in MongoDB; take over what an older version left."""
        await self.legacy.apply()
        now = datetime.now(UTC)
        found = 0
        for message_id, due_at, generation in await self._store.due_in_store(
            now, self._settings.dispatch_batch_size * 10
        ):
            if message_id not in self._in_flight:
                # again: the sweep is the safety net, nothing due is left out
                self._store.hint(message_id, due_at, generation, again=True)
                found += 1
        if time.monotonic() - self._last_cleanup >= LEASE_CLEANUP_INTERVAL_S:
            self._last_cleanup = time.monotonic()
            await self.leases.cleanup(now - LEASE_RETENTION)
        return found

    # --- One batch --------------------------------------------------------------------

    async def dispatch(self, due: list[tuple[str, int]]) -> None:
        """Claim, check, send and record; the events are published in the background while
        the next batch is handled."""
        batch = _Batch(
            claims=await self.leases.claim(
                due,
                owner=self.owner,
                lease_s=self._settings.dispatch_lease_s,
                now=datetime.now(UTC),
            )
        )
        held = {claim.message_id for claim in batch.claims}
        self._in_flight |= held
        try:
            await self._handle(batch)
            written = await self._record(batch)
        finally:
            self._in_flight -= held
        await self.drain()  # the previous batch's events first
        if written:
            self._publishing = asyncio.create_task(self._publish(written), name="dispatch-publish")

    async def _handle(self, batch: _Batch) -> None:
        """Check each claimed message, then send those that are to go now."""
        if not batch.claims:
            return
        took_over = [claim for claim in batch.claims if claim.took_over]
        if took_over:
            await self.legacy.apply()  # the expired holder may have been an older version
            await self._store.fence_generations(
                [(claim.message_id, claim.generation - 1) for claim in took_over]
            )
        messages = await self._store.claimed([claim.message_id for claim in batch.claims])
        now = datetime.now(UTC)
        current: list[tuple[Claim, Document]] = []
        for claim in batch.claims:
            message = messages.get(claim.message_id)
            if (
                message is None
                or message.get("status") != "pending"
                or message["due_at"] > now
                or int(message.get("claim_gen") or 0) >= claim.generation
            ):
                batch.released.append(claim)
                if message is not None and message.get("status") == "pending":
                    generation = max(int(message.get("claim_gen") or 0), claim.generation)
                    self._remember(message["_id"], message["due_at"], generation)
                continue
            current.append((claim, message))
        recipients = await self._projections.recipients_by_id(
            {message["person_id"] for _, message in current}
        )
        events = await self._projections.events_by_id(
            {
                str(message["context"].get("event_id", ""))
                for _, message in current
                if message["kind"] not in KINDS_WITHOUT_EVENT
            }
        )
        sendable: list[tuple[Claim, Document, dict[str, Any], dict[str, Any] | None]] = []
        for claim, message in current:
            recipient = recipients.get(message["person_id"])
            if recipient is None:
                recipient = await self._projections.addressed_recipient(
                    message["person_id"], message["context"]
                )
            event = None
            if message["kind"] not in KINDS_WITHOUT_EVENT:
                event = events.get(str(message["context"].get("event_id", "")))
            awaited = self._policy.awaited(message, recipient, event, now)
            if awaited is not None:
                # Usually the consumer here stores it first and wakes the message
                # (MessageStore.known); the timed retry is for a person or event another
                # replica consumes. Nothing is written: the message stays pending, and the
                # claim is kept until then (taken over as usual if this replica dies).
                self._store.wait_for(awaited[0], message["_id"], claim.generation, awaited[1])
                continue
            if message["kind"] == INVITATION:
                self._store.note_campaign(message["context"].get("campaign_id"))
            outcome = self._policy.before_sending(message, claim.generation, recipient, event, now)
            if outcome is not None:
                batch.outcomes.append(outcome)
            else:
                assert recipient is not None
                sendable.append((claim, message, recipient, event))
        if sendable:
            outage, registration_away = asyncio.Event(), asyncio.Event()
            results = await asyncio.gather(
                *(
                    self._send(claim, m, r, e, outage, registration_away)
                    for claim, m, r, e in sendable
                )
            )
            for claim, result in zip((item[0] for item in sendable), results, strict=True):
                if result is None:
                    batch.released.append(claim)
                    self._remember(claim.message_id, datetime.now(UTC), claim.generation)
                else:
                    batch.outcomes.append(result)

    async def _record(self, batch: _Batch) -> list[tuple[str, list[StagedEvent]]]:
        """Write every outcome to its message with its event, in one round trip; the staged
        events of the writes that landed, by message."""
        staged = {
            outcome.message["_id"]: self._outbox.stage(outcome.event)
            for outcome in batch.outcomes
            if outcome.event is not None
        }
        if batch.outcomes:
            result = await self._write(batch.outcomes, staged, until=batch.claims[0].until)
            if result.matched_count < len(batch.outcomes):
                staged = await self._store.landed(staged)
            for outcome in batch.outcomes:
                message = outcome.message
                if outcome.result in {"retried", "failed"}:
                    log.warning(
                        "message %s %s: %s",
                        message["_id"],
                        outcome.result,
                        outcome.fields.get("last_error"),
                    )
                if "due_at" in outcome.fields:  # still pending: due again later
                    self._remember(message["_id"], outcome.fields["due_at"], outcome.generation)
                if outcome.result != "postponed":  # quiet hours are no news
                    self._outcomes.labels(message["kind"], message["channel"], outcome.result).inc()
        if batch.released:
            await self.leases.release(batch.released, datetime.now(UTC))
        return list(staged.items())

    async def _write(
        self,
        outcomes: list[Outcome],
        staged: dict[str, list[StagedEvent]],
        *,
        until: datetime,
    ) -> BulkWriteResult:
        """The batch's writes; tried again while MongoDB refuses them and the lease lasts."""
        while True:
            try:
                return await self._store.record_outcomes(outcomes, staged)
            except PyMongoError as error:
                if datetime.now(UTC) + timedelta(seconds=WRITE_RETRY_S) >= until:
                    log.error("outcomes of %d sent messages not recorded: %s", len(outcomes), error)
                    raise
                log.warning("outcomes not written yet, trying again: %s", error)
                await asyncio.sleep(WRITE_RETRY_S)

    async def _publish(self, written: list[tuple[str, list[StagedEvent]]]) -> None:
        """Publish the recorded events, side by side, and pull them out of their messages;
        what Kafka does not take now the relay publishes later."""
        await self._store.publish_recorded(self._outbox, written)

    async def _send(
        self,
        claim: Claim,
        message: Document,
        recipient: dict[str, Any],
        event: dict[str, Any] | None,
        outage: asyncio.Event,
        registration_away: asyncio.Event,
    ) -> Outcome | None:
        """Send one message; its outcome, or None when the lease is too short to start."""
        details: DeliveryDetails | None = None
        ticket: bytes | None = None
        if needs_delivery_details(message["kind"], message["context"]):
            if registration_away.is_set():
                return self._policy.waiting_for_registration(
                    message, claim.generation, "registration unreachable", datetime.now(UTC)
                )
            registration_id = message["context"]["registration_id"]
            try:
                details = await self._registrations.delivery(registration_id)
                reason = no_longer_due(message["kind"], details.status) or survey_closed(
                    message["kind"], details
                )
                if reason is not None:
                    return self._policy.dropped(message, claim.generation, reason)
                if needs_ticket_pdf(message["kind"], details):
                    ticket = await self._registrations.ticket_pdf(registration_id)
            except RegistrationUnavailable as error:
                registration_away.set()  # the rest of the batch waits without asking
                return self._policy.waiting_for_registration(
                    message, claim.generation, str(error), datetime.now(UTC)
                )
            except RegistrationUnknown as error:
                return self._failed(message, claim, str(error), permanent=True)
            except TicketWithheld as error:
                # It changed since its details were read: the next try reads them afresh.
                return self._failed(message, claim, str(error), permanent=False)
        async with self._senders:
            if outage.is_set():
                return self._policy.waiting_for_channel(
                    message, claim.generation, "SMTP unreachable", datetime.now(UTC)
                )
            if message["kind"] in OPTIONAL_KINDS:
                await self._invitation_pace.acquire()
            if datetime.now(UTC) + timedelta(seconds=self._send_margin_s) > claim.until:
                return None  # another replica may take it soon: do not risk sending twice
            try:
                outgoing = self._composer.compose(message, recipient, event, details, ticket)
            except TemplateProblem as problem:
                return self._failed(message, claim, str(problem), permanent=True)
            try:
                await self._channel.send(outgoing)
            except DeliveryError as error:
                if error.outage:
                    outage.set()
                    return self._policy.waiting_for_channel(
                        message, claim.generation, str(error), datetime.now(UTC)
                    )
                return self._failed(message, claim, str(error), permanent=error.permanent)
            except Exception as error:  # a channel's bug must not lose the batch's other outcomes
                log.exception("channel %s failed unexpectedly", self._channel.name)
                return self._failed(message, claim, repr(error), permanent=False)
            return self._policy.sent(message, claim.generation, datetime.now(UTC))

    def _failed(self, message: Document, claim: Claim, reason: str, *, permanent: bool) -> Outcome:
        return self._policy.failure(
            message, claim.generation, reason, datetime.now(UTC), permanent=permanent
        )

    def _remember(self, message_id: str, due_at: datetime, generation: int) -> None:
        if due_at <= datetime.now(UTC) + HINT_HORIZON:
            self._store.hint(message_id, due_at, generation)
