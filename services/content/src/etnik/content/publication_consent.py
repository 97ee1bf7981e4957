"""The publication consent withdrawn on its own (PublicationConsentWithdrawn): content stops
showing the person's name where that consent was its basis.

Content names people in one place: as credited authors of materials (`authors[].person_id`),
in every version of a material, in the search terms and in the compiled collection PDFs that
print the authors. It keeps no photographs of people, and media mentions and strategies name
no person. So a withdrawal removes the person's name from the materials exactly as an erasure
does (`MaterialService.forget_author`): a name cannot be half-hidden in a PDF already compiled,
and an editor credits the person again if they agree again. The withdrawal itself is kept
(by pseudonymous id only), so that a repeated event changes nothing and the content can tell
whose name it must not print.
"""

from __future__ import annotations

import logging

from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.erasure import is_erased
from etnik.common.mongo import Document
from etnik.content.inbound import PublicationConsentWithdrawn
from etnik.content.repository import now_utc
from etnik.content.service import MaterialService

log = logging.getLogger(__name__)

WITHDRAWALS = "publication_withdrawals"


class PublicationConsent:
    """Withdrawals of the publication consent, as content acts on them."""

    def __init__(self, db: AsyncDatabase[Document], materials: MaterialService) -> None:
        self._db = db
        self.withdrawals = db[WITHDRAWALS]
        self._materials = materials

    async def withdrawn(self, event: PublicationConsentWithdrawn) -> int:
        """Stop naming the person in materials; how many materials changed (0 on a repeat)."""
        # Recorded first: if the rewrite fails half way the event is retried, and the rewrite
        # (found again by person_id) finishes.
        await self.withdrawals.update_one(
            {"_id": event.person_id},
            {
                "$set": {"withdrawn_at": event.withdrawn_at, "by": event.by},
                "$setOnInsert": {"recorded_at": now_utc()},
            },
            upsert=True,
        )
        changed = await self._materials.forget_author(event.person_id)
        await self.withdrawals.update_one(
            {"_id": event.person_id}, {"$set": {"materials_changed_at": now_utc()}}
        )
        # A withdrawal that arrives after the person's erasure keeps no id of theirs: checked
        # after the write, so that an erasure running meanwhile cannot miss it.
        if await is_erased(self._db, event.person_id):
            await self.withdrawals.delete_one({"_id": event.person_id})
        if changed:
            log.info("publication consent withdrawn: %d materials no longer name them", changed)
        return changed

    async def is_withdrawn(self, person_id: str) -> bool:
        """Whether the person withdrew their publication consent (a look-up by id)."""
        return await self.withdrawals.find_one({"_id": person_id}, {"_id": 1}) is not None
