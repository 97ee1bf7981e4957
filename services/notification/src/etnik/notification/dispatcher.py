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

from etnik.common.calendar import event_ics
from etnik.common.contracts.notification import NotificationFailed, NotificationSent
from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.outbox import OUTBOX_FIELD, Outbox, StagedEvent
from etnik.notification.channels import Attachment, Channel, DeliveryError, OutgoingMessage
from etnik.notification.domain import (
    DeliveryDetails,
    delivery_values,
    needs_delivery_details,
    needs_ticket_pdf,
    no_longer_due,
    outside_quiet_hours,
    survey_closed,
    ticket_qr_value,
)
from etnik.notification.leases import Claim, LeaseStore
from etnik.notification.messages import (
    HINT_HORIZON,
    INVITATION,
    KINDS_WITHOUT_EVENT,
    OPTIONAL_KINDS,
    REMINDER,
    MessageStore,
    fence,
    outcome_write,
)
from etnik.notification.projections import Projections
from etnik.notification.registration_client import (
    DeliveryLookup,
    RegistrationUnavailable,
    RegistrationUnknown,
    TicketWithheld,
)
from etnik.notification.rendering import (
    TemplateProblem,
    TemplateRenderer,
    event_context,
    moment,
    qr_png,
)
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
# The names a participant's ticket and its QR image are attached under.
TICKET_FILENAME = "ticket.pdf"
QR_FILENAME = "qr.png"


@dataclass
class Outcome:
    """What became of one claimed message, as it is written to the message."""

    message: Document
    generation: int
    result: str  # sent, failed, retried, dropped, postponed, deferred
    fields: dict[str, Any]
    unset_secrets: bool = False
    attempts: int = 0  # added to the message's count
    event: IntegrationEvent | None = None


@dataclass
class _Batch:
    """The claims of one round and what the round learned about them."""

    claims: list[Claim]
    outcomes: list[Outcome] = field(default_factory=list)
    released: list[Claim] = field(default_factory=list)


class Dispatcher:
    """Sends due messages through their channel and records the outcome with its event."""

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
        self._renderer = renderer
        self._channel = channel
        self._outbox = outbox
        self._unsubscribe_links = unsubscribe_links
        self._settings = settings
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
        limit = self._settings.dispatch_batch_size * 10
        cursor = self._store.collection.find(
            {"status": "pending", "due_at": {"$lte": now}}, {"due_at": 1, "claim_gen": 1}
        ).limit(limit)
        found = 0
        async for document in cursor:
            if document["_id"] not in self._in_flight:
                self._store.hint(
                    document["_id"],
                    document["due_at"],
                    int(document.get("claim_gen") or 0),
                    again=True,  # the sweep is the safety net: nothing due is left out
                )
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
        collection = self._store.collection
        took_over = [claim for claim in batch.claims if claim.took_over]
        if took_over:
            await self.legacy.apply()  # the expired holder may have been an older version
            fences = [fence(claim.message_id, claim.generation - 1) for claim in took_over]
            await collection.bulk_write(fences, ordered=False)
        ids = [claim.message_id for claim in batch.claims]
        messages = {
            document["_id"]: document
            async for document in collection.find({"_id": {"$in": ids}}, {OUTBOX_FIELD: 0})
        }
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
            if self._wait_for_context(message, claim, recipient, event, now):
                continue
            outcome = self._decide(message, claim, recipient, event, now)
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
        staged: dict[str, list[StagedEvent]] = {}
        writes = []
        for outcome in batch.outcomes:
            message_id = outcome.message["_id"]
            if outcome.event is not None:
                staged[message_id] = self._outbox.stage(outcome.event)
            writes.append(
                outcome_write(
                    message_id,
                    outcome.generation,
                    outcome.fields,
                    unset_secrets=outcome.unset_secrets,
                    attempts=outcome.attempts,
                    staged=staged.get(message_id),
                )
            )
        if writes:
            result = await self._write(writes, until=batch.claims[0].until)
            if result.matched_count < len(writes):
                staged = await self._landed(staged)
            for outcome in batch.outcomes:
                message = outcome.message
                if "due_at" in outcome.fields:  # still pending: due again later
                    self._remember(message["_id"], outcome.fields["due_at"], outcome.generation)
                if outcome.result != "postponed":  # quiet hours are no news
                    self._outcomes.labels(message["kind"], message["channel"], outcome.result).inc()
        if batch.released:
            await self.leases.release(batch.released, datetime.now(UTC))
        return list(staged.items())

    async def _write(self, writes: list[Any], *, until: datetime) -> BulkWriteResult:
        """The batch's writes; tried again while MongoDB refuses them and the lease lasts."""
        while True:
            try:
                return await self._store.collection.bulk_write(writes, ordered=False)
            except PyMongoError as error:
                if datetime.now(UTC) + timedelta(seconds=WRITE_RETRY_S) >= until:
                    log.error("outcomes of %d sent messages not recorded: %s", len(writes), error)
                    raise
                log.warning("outcomes not written yet, trying again: %s", error)
                await asyncio.sleep(WRITE_RETRY_S)

    async def _landed(self, staged: dict[str, list[StagedEvent]]) -> dict[str, list[StagedEvent]]:
        """Of the events staged, those that are in their message's outbox: some writes were
        refused (a later claim wrote first), or landed already in an earlier try."""
        if not staged:
            return {}
        landed: dict[str, list[StagedEvent]] = {}
        cursor = self._store.collection.find({"_id": {"$in": list(staged)}}, {OUTBOX_FIELD: 1})
        async for document in cursor:
            ids = {entry.get("id") for entry in document.get(OUTBOX_FIELD) or []}
            mine = [entry for entry in staged[document["_id"]] if entry["id"] in ids]
            if mine:
                landed[document["_id"]] = mine
        return landed

    async def _publish(self, written: list[tuple[str, list[StagedEvent]]]) -> None:
        """Publish the recorded events, side by side, and pull them out of their messages;
        what Kafka does not take now the relay publishes later."""
        collection = self._store.collection
        await asyncio.gather(
            *(self._outbox.flush(collection, message_id, events) for message_id, events in written)
        )

    def _wait_for_context(
        self,
        message: Document,
        claim: Claim,
        recipient: dict[str, Any] | None,
        event: dict[str, Any] | None,
        now: datetime,
    ) -> bool:
        """The trigger came before the person or event it names: try again a little later,
        or as soon as the consumer stores it here. Nothing is written: the message stays
        pending, and the claim is kept until then (taken over as usual if this replica dies).
        A message still waiting after `wait_for_context_s` fails (in _decide)."""
        kind = message["kind"]
        if recipient is not None and (event is not None or kind in KINDS_WITHOUT_EVENT):
            return False
        age_s = (now - message["created_at"]).total_seconds()
        if age_s > self._settings.wait_for_context_s:
            return False
        if recipient is None:
            what = f"person:{message['person_id']}"
        else:
            what = f"event:{message['context'].get('event_id', '')}"
        # Usually the consumer here stores it first and wakes the message (MessageStore.known);
        # the timed retry is for a person or event that another replica consumes.
        retry_at = now + timedelta(seconds=min(120.0, max(30.0, age_s * 2)))
        self._store.wait_for(what, message["_id"], claim.generation, retry_at)
        return True

    def _decide(
        self,
        message: Document,
        claim: Claim,
        recipient: dict[str, Any] | None,
        event: dict[str, Any] | None,
        now: datetime,
    ) -> Outcome | None:
        """The outcome of a message that is not to be sent now; None to send it."""
        kind = message["kind"]
        if kind == INVITATION:
            self._store.note_campaign(message["context"].get("campaign_id"))
        if recipient is None or (event is None and kind not in KINDS_WITHOUT_EVENT):
            missing = "recipient" if recipient is None else "event"
            return self._failure(message, claim, f"{missing} unknown", permanent=True)
        if kind == REMINDER and event is not None and event["starts_at"] <= now:
            return self._dropped(message, claim, "the event has started")
        if kind in OPTIONAL_KINDS:
            if recipient.get("unsubscribed_at") is not None:
                return self._dropped(message, claim, "the recipient unsubscribed from invitations")
            allowed = outside_quiet_hours(now, recipient.get("timezone") or "Europe/Moscow")
            if allowed > now:
                return self._postpone(
                    message, claim, allowed, "quiet hours in the recipient's zone"
                )
        return None

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
                return self._wait_for_registration(message, claim, "registration unreachable")
            registration_id = message["context"]["registration_id"]
            try:
                details = await self._registrations.delivery(registration_id)
                reason = no_longer_due(message["kind"], details.status) or survey_closed(
                    message["kind"], details
                )
                if reason is not None:
                    return self._dropped(message, claim, reason)
                if needs_ticket_pdf(message["kind"], details):
                    ticket = await self._registrations.ticket_pdf(registration_id)
            except RegistrationUnavailable as error:
                registration_away.set()  # the rest of the batch waits without asking
                return self._wait_for_registration(message, claim, str(error))
            except RegistrationUnknown as error:
                return self._failure(message, claim, str(error), permanent=True)
            except TicketWithheld as error:
                # It changed since its details were read: the next try reads them afresh.
                return self._failure(message, claim, str(error), permanent=False)
        async with self._senders:
            if outage.is_set():
                return self._wait_for_channel(message, claim, "SMTP unreachable")
            if message["kind"] in OPTIONAL_KINDS:
                await self._invitation_pace.acquire()
            if datetime.now(UTC) + timedelta(seconds=self._send_margin_s) > claim.until:
                return None  # another replica may take it soon: do not risk sending twice
            try:
                outgoing = self._compose(message, recipient, event, details, ticket)
            except TemplateProblem as problem:
                return self._failure(message, claim, str(problem), permanent=True)
            try:
                await self._channel.send(outgoing)
            except DeliveryError as error:
                if error.outage:
                    outage.set()
                    return self._wait_for_channel(message, claim, str(error))
                return self._failure(message, claim, str(error), permanent=error.permanent)
            except Exception as error:  # a channel's bug must not lose the batch's other outcomes
                log.exception("channel %s failed unexpectedly", self._channel.name)
                return self._failure(message, claim, repr(error), permanent=False)
            now = datetime.now(UTC)
            return Outcome(
                message,
                claim.generation,
                "sent",
                {"status": "sent", "sent_at": now},
                unset_secrets=True,
                attempts=1,
                event=NotificationSent(**_facts(message), sent_at=now),
            )

    # --- Outcomes ---------------------------------------------------------------------

    def _postpone(self, message: Document, claim: Claim, until: datetime, note: str) -> Outcome:
        return Outcome(message, claim.generation, "postponed", {"due_at": until, "note": note})

    def _dropped(self, message: Document, claim: Claim, reason: str) -> Outcome:
        return Outcome(
            message,
            claim.generation,
            "dropped",
            {"status": "dropped", "last_error": reason},
            unset_secrets=True,
        )

    def _wait_for_channel(self, message: Document, claim: Claim, reason: str) -> Outcome:
        """The channel is down: try again later without using up an attempt."""
        return self._wait_for(
            message, claim, reason, "SMTP", "outage_waits", self._settings.smtp_outage_max_delay_s
        )

    def _wait_for_registration(self, message: Document, claim: Claim, reason: str) -> Outcome:
        """Registration cannot say what the message must carry: try again later, without
        using up an attempt (as for an SMTP outage), and never send it without."""
        return self._wait_for(
            message,
            claim,
            reason,
            "registration",
            "registration_waits",
            self._settings.registration_outage_max_delay_s,
        )

    def _wait_for(
        self,
        message: Document,
        claim: Claim,
        reason: str,
        what: str,
        counter: str,
        max_delay_s: float,
    ) -> Outcome:
        """Due again after a backoff that doubles with each wait for `what`, up to a bound."""
        waits = int(message.get(counter) or 0) + 1
        delay = min(self._settings.retry_base_delay_s * 2 ** min(waits - 1, 16), max_delay_s)
        return Outcome(
            message,
            claim.generation,
            "deferred",
            {
                "due_at": datetime.now(UTC) + timedelta(seconds=delay),
                "note": f"waiting for {what}",
                "last_error": reason,
                counter: waits,
            },
        )

    def _failure(self, message: Document, claim: Claim, reason: str, *, permanent: bool) -> Outcome:
        attempts = int(message.get("attempts", 0)) + 1
        now = datetime.now(UTC)
        if not permanent and attempts < self._settings.max_send_attempts:
            delay = self._settings.retry_base_delay_s * 2 ** (attempts - 1)
            log.warning("send failed (attempt %d), retrying in %.0fs: %s", attempts, delay, reason)
            return Outcome(
                message,
                claim.generation,
                "retried",
                {"due_at": now + timedelta(seconds=delay), "last_error": reason},
                attempts=1,
            )
        log.error("message %s failed: %s", message["_id"], reason)
        return Outcome(
            message,
            claim.generation,
            "failed",
            {"status": "failed", "failed_at": now, "last_error": reason},
            unset_secrets=True,
            attempts=1,
            event=NotificationFailed(**_facts(message), reason=reason, failed_at=now),
        )

    def _remember(self, message_id: str, due_at: datetime, generation: int) -> None:
        if due_at <= datetime.now(UTC) + HINT_HORIZON:
            self._store.hint(message_id, due_at, generation)

    # --- Composing --------------------------------------------------------------------

    def _compose(
        self,
        message: Document,
        recipient: dict[str, Any],
        event: dict[str, Any] | None,
        details: DeliveryDetails | None = None,
        ticket: bytes | None = None,
    ) -> OutgoingMessage:
        """The message as it goes out: rendered, with its calendar file, and for a ticket
        holder their QR code shown inline and the PDF ticket (`ticket`) attached."""
        locale = recipient.get("locale") or "ru"
        zone = recipient.get("timezone") or "Europe/Moscow"
        context = message["context"]
        values: dict[str, Any] = {"recipient": recipient}
        if event is not None:
            values["event"] = event_context(event, locale=locale, recipient_zone=zone)
        values["reason"] = context.get("reason")
        for name in ("link", "accept_url"):
            values[name] = context.get(name)
        # Read from registration just now, for this message only: never stored in its context.
        values |= delivery_values(message["kind"], details)
        qr_value = ticket_qr_value(message["kind"], details)
        qr_id = f"ticket-qr.{message['_id']}@etnik.local" if qr_value else None
        values["ticket_qr_src"] = f"cid:{qr_id}" if qr_id else None
        values["ticket_attached"] = ticket is not None
        # What an event_changed message tells (one queued before this was known: the time).
        values["moved"] = bool(context.get("moved", True))
        values["link_changed"] = bool(context.get("link_changed", False))
        for source, target in (
            ("offer_expires_at", "offer_expires"),
            ("link_expires_at", "link_expires"),
        ):
            if context.get(source):
                values[target] = moment(
                    datetime.fromisoformat(context[source]), locale=locale, recipient_zone=zone
                )
        headers: dict[str, str] = {}
        if message["kind"] in OPTIONAL_KINDS:
            url = self._unsubscribe_links.url(message["person_id"])
            values["unsubscribe_url"] = url
            headers["List-Unsubscribe"] = f"<{url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        rendered = self._renderer.render(message["kind"], locale, values)
        attachments: list[Attachment] = []
        if message["kind"] == "registration_confirmed" and event is not None:
            ics = event_ics(
                event_id=context["event_id"],
                title=event["title"],
                starts_at=event["starts_at"],
                ends_at=event["ends_at"],
                venue=event.get("venue"),
                online_link=values["online_link"],
            )
            attachments.append(Attachment("event.ics", ics, "text", "calendar"))
        if ticket is not None:
            attachments.append(Attachment(TICKET_FILENAME, ticket, "application", "pdf"))
        # An operator's version of the template may leave the image out: then it is not sent.
        if qr_value is not None and f"cid:{qr_id}" in rendered.html:
            image = qr_png(qr_value)
            attachments.append(Attachment(QR_FILENAME, image, "image", "png", content_id=qr_id))
        return OutgoingMessage(
            message_id=message["_id"],
            to_address=recipient["email"],
            to_name=recipient.get("full_name") or "",
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            headers=headers,
            attachments=tuple(attachments),
        )


def _facts(message: Document) -> dict[str, Any]:
    """What every notification event says of its message."""
    return {
        "message_id": message["_id"],
        "kind": message["kind"],
        "channel": message["channel"],
        "person_id": message["person_id"],
        "trigger_event_id": message["trigger"],
    }
