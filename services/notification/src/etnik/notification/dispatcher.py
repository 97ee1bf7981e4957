"""The dispatcher: claims due messages in batches, sends them side by side, and records each
batch's outcomes with their events in one write.

A batch goes through these steps; every MongoDB access in them is by `_id`, because
FerretDB v1 scans the whole collection for any other filter:

1. Claim: one `insert_many` of lease documents (etnik.notification.leases), which FerretDB
   keeps exclusive by `_id`; two replicas never hold the same message at once, and the
   claims of a replica that crashed are taken over once their lease has run out.
2. Check: each claimed message is read back by `_id` (it may have been sent, dropped or
   postponed since it was queued), its recipient and event looked up by `_id` (once per
   batch each).
3. Send: up to `smtp_connections` at once, invitations paced by `invitation_rate_per_s`,
   quiet hours (22:00-08:00 in the recipient's zone) respected. A message about a
   registration first reads from registration what it must carry (the owner's link, and
   for a confirmed participant the session link and check-in code; see
   etnik.notification.registration_client): it waits while registration cannot be reached,
   and is never sent without them.
4. Commit: one document in `dispatches` holds every outcome of the batch together with the
   `sent`/`failed` events, written in one insert: the atomic record of the batch. Its
   events go out through the service's outbox (the relay republishes them if Kafka is away).
5. Apply: each message gets its outcome by `_id`; then the dispatch document is removed.
   A dispatcher that dies between 4 and 5 leaves it behind: whoever next claims one of its
   messages, or the sweep, applies it, so a message sent once is not sent again.

Messages are found without searching in the common case: those this replica queues, postpones
or retries are remembered in memory (MessageStore.hint). A sweep every
`dispatch_sweep_interval_s` searches MongoDB for the rest (due reminders, other replicas'
expired claims, resends) and looks after dispatch documents left behind.
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
from pymongo.errors import DuplicateKeyError, PyMongoError

from etnik.common.contracts.notification import NotificationFailed, NotificationSent
from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, with_outbox
from etnik.notification.calendar import event_ics
from etnik.notification.channels import Attachment, Channel, DeliveryError, OutgoingMessage
from etnik.notification.domain import (
    DeliveryDetails,
    delivery_values,
    needs_delivery_details,
    no_longer_due,
    outside_quiet_hours,
)
from etnik.notification.leases import Claim, LeaseStore
from etnik.notification.messages import (
    DISPATCHES,
    FINAL_RESULTS,
    HINT_HORIZON,
    INVITATION,
    KINDS_WITHOUT_EVENT,
    OPTIONAL_KINDS,
    OUTCOME_BATCHES,
    REMINDER,
    SECRET_FIELDS,
    MessageStore,
)
from etnik.notification.projections import Projections
from etnik.notification.registration_client import (
    DeliveryLookup,
    RegistrationUnavailable,
    RegistrationUnknown,
)
from etnik.notification.rendering import TemplateProblem, TemplateRenderer, event_context, moment
from etnik.notification.settings import NotificationSettings
from etnik.notification.unsubscribe import UnsubscribeLinks

log = logging.getLogger(__name__)

# A send is not started unless the lease outlasts it by this much besides the SMTP timeout.
LEASE_MARGIN_S = 5.0
# Leases that ran out this long ago are removed (see leases.py); checked this often.
LEASE_RETENTION = timedelta(days=1)
LEASE_CLEANUP_INTERVAL_S = 3600.0
# Final outcomes are written to the messages once nothing was queued for this long: during a
# campaign FerretDB's time goes to queueing and sending (see FINAL_RESULTS).
BACKLOG_QUIET_S = 2.0
# A sweep scans the messages on FerretDB, so its time grows with the collection: sweeps are
# spaced so that they take at most about this share of the dispatcher's time.
SWEEP_SHARE = 0.05
SWEEP_INTERVAL_MAX_S = 60.0


@dataclass
class Outcome:
    """What became of one claimed message, as it is written to the message."""

    message: Document
    generation: int
    result: str  # sent, failed, retried, dropped, postponed
    fields: dict[str, Any]
    unset_secrets: bool = False
    attempts: int = 0  # added to the message's count
    event: IntegrationEvent | None = None

    def record(self) -> Document:
        """The outcome as kept in a dispatch document."""
        return {
            "message_id": self.message["_id"],
            "generation": self.generation,
            "result": self.result,
            "kind": self.message.get("kind"),
            "campaign_id": (self.message.get("context") or {}).get("campaign_id"),
            "fields": self.fields,
            "unset_secrets": self.unset_secrets,
            "attempts": self.attempts,
        }


@dataclass
class _Batch:
    """The claims of one round and what the round learned about them."""

    token: str
    claims: list[Claim]
    outcomes: list[Outcome] = field(default_factory=list)
    released: list[Claim] = field(default_factory=list)
    staged: list[dict[str, Any]] = field(default_factory=list)


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
        self.dispatches = database[DISPATCHES]
        self.outcome_batches = database[OUTCOME_BATCHES]
        self._invitation_pace = AsyncLimiter(settings.invitation_rate_per_s, time_period=1.0)
        self._senders = asyncio.Semaphore(max(1, int(getattr(channel, "connections", 1))))
        self.owner = f"dispatcher-{secrets.token_hex(6)}"
        self._in_flight: set[str] = set()
        # Messages whose final outcome is committed here but not yet written to them, and
        # the outcome batches (ids) that hold them.
        self._unapplied: set[str] = set()
        self._backlog: list[str] = []
        self._finishing: asyncio.Task[None] | None = None
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
                if not worked and not await self.apply_backlog():
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
        busy = self._in_flight | self._unapplied
        due = [(message_id, gen) for message_id, gen in due if message_id not in busy]
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
        """Wait until the last batch's outcomes are applied."""
        if self._finishing is not None:
            with contextlib.suppress(Exception):
                await self._finishing
            self._finishing = None

    # --- Finding work that is not in memory -------------------------------------------

    async def sweep(self) -> int:
        """Finish dispatch documents left behind, then remember due messages found in MongoDB."""
        await self.recover_dispatches()
        now = datetime.now(UTC)
        limit = self._settings.dispatch_batch_size * 10
        cursor = self._store.collection.find(
            {"status": "pending", "due_at": {"$lte": now}}, {"due_at": 1, "claim_gen": 1}
        ).limit(limit)
        found = 0
        async for document in cursor:
            if document["_id"] not in self._in_flight and document["_id"] not in self._unapplied:
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

    async def recover_dispatches(self) -> None:
        """Apply the outcomes of dispatch documents whose writer did not; remove finished ones.

        A document is removed once its outcomes are applied and the relay has published its
        events (or it had none)."""
        now = datetime.now(UTC)
        stale = now - timedelta(seconds=self._settings.dispatch_lease_s)
        async for document in self.dispatches.find({}):
            if document.get("applied"):
                if not document.get("outbox"):  # its events are published
                    await self.dispatches.delete_one({"_id": document["_id"]})
                continue
            if document["created_at"] > stale:
                continue  # its writer may still be applying it
            await self._apply_records(document.get("outcomes", []), guarded=True)
            await self.dispatches.update_one({"_id": document["_id"]}, {"$set": {"applied": True}})
        async for document in self.outcome_batches.find({"created_at": {"$lte": stale}}):
            if document["_id"] in self._backlog:
                continue  # this dispatcher applies its own (apply_backlog)
            await self._apply_records(document.get("outcomes", []), guarded=True)
            await self.outcome_batches.delete_one({"_id": document["_id"]})

    # --- One batch --------------------------------------------------------------------

    async def dispatch(self, due: list[tuple[str, int]]) -> None:
        """Claim, check, send, commit; the outcomes are applied in the background."""
        now = datetime.now(UTC)
        batch = _Batch(token=secrets.token_hex(12), claims=[])
        batch.claims = await self.leases.claim(
            due,
            owner=self.owner,
            batch=batch.token,
            lease_s=self._settings.dispatch_lease_s,
            now=now,
        )
        held = {claim.message_id for claim in batch.claims}
        self._in_flight |= held
        try:
            await self._handle(batch)
            await self.drain()  # one batch's outcomes are applied while the next is sent
        except BaseException:
            self._in_flight -= held
            raise
        self._finishing = asyncio.create_task(self._finish(batch, held), name="dispatch-finish")

    async def _handle(self, batch: _Batch) -> None:
        recipients: dict[str, dict[str, Any] | None] = {}
        events: dict[str, dict[str, Any] | None] = {}
        sendable: list[tuple[Claim, Document, dict[str, Any], dict[str, Any] | None]] = []
        for claim in batch.claims:
            if claim.passed:
                await self._recover_message(claim)
            message = await self._store.collection.find_one({"_id": claim.message_id})
            now = datetime.now(UTC)
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
            person_id = message["person_id"]
            if person_id not in recipients:
                recipients[person_id] = await self._recipient(message)
            recipient = recipients[person_id]
            event = None
            if message["kind"] not in KINDS_WITHOUT_EVENT:
                event_id = str(message["context"].get("event_id", ""))
                if event_id not in events:
                    events[event_id] = await self._projections.event(event_id)
                event = events[event_id]
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
        if batch.outcomes:
            await self._commit(batch)
        if batch.released:
            await self.leases.release(batch.released, datetime.now(UTC))

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
        if needs_delivery_details(message["kind"], message["context"]):
            if registration_away.is_set():
                return self._wait_for_registration(message, claim, "registration unreachable")
            try:
                details = await self._registrations.delivery(message["context"]["registration_id"])
            except RegistrationUnavailable as error:
                registration_away.set()  # the rest of the batch waits without asking
                return self._wait_for_registration(message, claim, str(error))
            except RegistrationUnknown as error:
                return self._failure(message, claim, str(error), permanent=True)
            reason = no_longer_due(message["kind"], details.status)
            if reason is not None:
                return self._dropped(message, claim, reason)
        async with self._senders:
            if outage.is_set():
                return self._wait_for_channel(message, claim, "SMTP unreachable")
            if message["kind"] in OPTIONAL_KINDS:
                await self._invitation_pace.acquire()
            if datetime.now(UTC) + timedelta(seconds=self._send_margin_s) > claim.until:
                return None  # another replica may take it soon: do not risk sending twice
            try:
                outgoing = self._compose(message, recipient, event, details)
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
        waits = int(message.get("outage_waits") or 0) + 1
        delay = min(
            self._settings.retry_base_delay_s * 2 ** min(waits - 1, 16),
            self._settings.smtp_outage_max_delay_s,
        )
        return Outcome(
            message,
            claim.generation,
            "deferred",
            {
                "due_at": datetime.now(UTC) + timedelta(seconds=delay),
                "note": "waiting for SMTP",
                "last_error": reason,
                "outage_waits": waits,
            },
        )

    def _wait_for_registration(self, message: Document, claim: Claim, reason: str) -> Outcome:
        """Registration cannot say what the message must carry: try again later, without
        using up an attempt (as for an SMTP outage), and never send it without."""
        waits = int(message.get("registration_waits") or 0) + 1
        delay = min(
            self._settings.retry_base_delay_s * 2 ** min(waits - 1, 16),
            self._settings.registration_outage_max_delay_s,
        )
        return Outcome(
            message,
            claim.generation,
            "deferred",
            {
                "due_at": datetime.now(UTC) + timedelta(seconds=delay),
                "note": "waiting for registration",
                "last_error": reason,
                "registration_waits": waits,
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

    async def _commit(self, batch: _Batch) -> None:
        """Write every outcome of the batch and its events in one document."""
        staged = self._outbox.stage(*(o.event for o in batch.outcomes if o.event is not None))
        batch.staged = staged
        document: Document = {
            "_id": batch.token,
            "owner": self.owner,
            "created_at": datetime.now(UTC),
            "applied": False,
            "outcomes": [outcome.record() for outcome in batch.outcomes],
        }
        await self.dispatches.insert_one(with_outbox(document, staged) if staged else document)
        for outcome in batch.outcomes:
            message = outcome.message
            if outcome.result != "postponed":  # waiting for quiet hours or context is not news
                self._outcomes.labels(message["kind"], message["channel"], outcome.result).inc()

    async def _finish(self, batch: _Batch, held: set[str]) -> None:
        """Publish the events; apply the outcomes that reschedule a message now, and leave
        final ones to apply_backlog. A dispatch document is removed once both are done."""
        try:
            if not batch.outcomes:
                return
            later = [o for o in batch.outcomes if o.result not in FINAL_RESULTS]
            await self._apply_records([o.record() for o in later], guarded=False)
            for outcome in later:
                self._remember(outcome.message["_id"], outcome.fields["due_at"], outcome.generation)
            final = [o.record() for o in batch.outcomes if o.result in FINAL_RESULTS]
            self._unapplied.update(record["message_id"] for record in final)
            published = await self._outbox.flush(self.dispatches, batch.token, batch.staged)
            if not published:
                return  # the relay publishes them; the sweep then applies and removes it
            if final:
                # Out of the dispatches, which the relay searches every second, before removal.
                with contextlib.suppress(DuplicateKeyError):
                    await self.outcome_batches.insert_one(
                        {"_id": batch.token, "owner": self.owner, "created_at": datetime.now(UTC),
                         "outcomes": final}
                    )  # fmt: skip
                self._backlog.append(batch.token)
            await self.dispatches.delete_one({"_id": batch.token})
        except PyMongoError as error:
            # The dispatch document stays; the sweep applies it once its lease has run out.
            log.warning("outcomes of batch %s left to the sweep: %s", batch.token, error)
        finally:
            self._in_flight -= held

    async def apply_backlog(self, quiet_s: float = BACKLOG_QUIET_S) -> bool:
        """Write final outcomes committed here to their messages while nothing is being queued
        or is due; False when there was nothing to write. Stops as soon as work comes in."""
        if not self._backlog or not self._store.quiet_for(quiet_s):
            return False
        while self._backlog:
            token = self._backlog[0]
            document = await self.outcome_batches.find_one({"_id": token})
            for record in (document or {}).get("outcomes", []):
                now = datetime.now(UTC)
                if self._store.has_due(now) or not self._store.quiet_for(min(quiet_s, 1.0)):
                    return True  # sending and queueing come first; the rest is applied later
                await self._apply_records([record], guarded=True)  # skips what is applied
            await self.outcome_batches.delete_one({"_id": token})
            self._backlog.pop(0)
        return True

    async def _apply_records(self, records: list[Document], *, guarded: bool) -> None:
        """Write outcomes to their messages by `_id`; guarded: skip those superseded since."""
        for record in records:
            message_id = record["message_id"]
            generation = int(record["generation"])
            if guarded:
                current = await self._store.collection.find_one(
                    {"_id": message_id}, {"claim_gen": 1}
                )
                if current is None or int(current.get("claim_gen") or 0) >= generation:
                    continue
            update: dict[str, Any] = {"$set": {**record["fields"], "claim_gen": generation}}
            if record.get("unset_secrets"):
                update["$unset"] = {f"context.{name}": "" for name in SECRET_FIELDS}
            if record.get("attempts"):
                update["$inc"] = {"attempts": int(record["attempts"])}
            await self._store.collection.update_one({"_id": message_id}, update)
        for record in records:
            self._unapplied.discard(record["message_id"])

    async def _recover_message(self, claim: Claim) -> None:
        """Apply an outcome an earlier holder committed for this message but did not apply."""
        for token in claim.passed:
            document = await self.dispatches.find_one({"_id": token}, {"outbox": 0})
            if document is None:  # published already: kept apart until applied
                document = await self.outcome_batches.find_one({"_id": token})
            if document is None:
                continue
            records = [
                record
                for record in document.get("outcomes", [])
                if record["message_id"] == claim.message_id
            ]
            await self._apply_records(records, guarded=True)

    def _remember(self, message_id: str, due_at: datetime, generation: int) -> None:
        if due_at <= datetime.now(UTC) + HINT_HORIZON:
            self._store.hint(message_id, due_at, generation)

    # --- Composing --------------------------------------------------------------------

    async def _recipient(self, message: Document) -> dict[str, Any] | None:
        recipient = await self._projections.recipient(message["person_id"])
        if recipient is None:
            return await self._projections.addressed_recipient(
                message["person_id"], message["context"]
            )
        return recipient

    def _compose(
        self,
        message: Document,
        recipient: dict[str, Any],
        event: dict[str, Any] | None,
        details: DeliveryDetails | None = None,
    ) -> OutgoingMessage:
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
        attachments: tuple[Attachment, ...] = ()
        if message["kind"] == "registration_confirmed" and event is not None:
            ics = event_ics(event, event_id=context["event_id"], online_link=values["online_link"])
            attachments = (Attachment("event.ics", ics, "text", "calendar"),)
        return OutgoingMessage(
            message_id=message["_id"],
            to_address=recipient["email"],
            to_name=recipient.get("full_name") or "",
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            headers=headers,
            attachments=attachments,
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
