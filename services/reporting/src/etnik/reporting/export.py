"""What reporting holds about one person, for their export (152-FZ art. 14).

Reporting keeps no contacts and no names: a registration fact carries a keyed hash of the
person's id (`person_ref`), categories and places. The export finds those rows by computing
the same hash. Read by operators and by registration, never by participants.
"""

from __future__ import annotations

from typing import Any

from etnik.reporting import domain
from etnik.reporting.projections import Generations

STATEMENT = (
    "Сервис отчётности не хранит контактных данных, имён и адресов: только псевдоним "
    "(ключевой хеш идентификатора), категорию участника, регион и факты регистрации и "
    "посещения, из которых считаются обезличенные показатели для отчётов грантодателю."
)
# The fact fields shown; the pseudonym itself is shown once, at the top.
ROW_FIELDS = (
    "event_id",
    "category",
    "organisation_id",
    "region_code",
    "federal_district",
    "registered_at",
    "cancelled_at",
    "attendance",
    "person_erased",
)


class PersonExport:
    """The pseudonymous registration facts of a person, in the generation reads use."""

    def __init__(self, generations: Generations, pseudonym_key: bytes) -> None:
        self._generations = generations
        self._key = pseudonym_key

    async def of(self, person_id: str) -> dict[str, Any]:
        """The rows held under the person's pseudonym (served by the `person_ref` index)."""
        reference = domain.pseudonym(self._key, person_id)
        store = await self._generations.active()
        rows = await store.registrations.find({"person_ref": reference}).to_list()
        return {
            "service": "reporting",
            "person_id": person_id,
            "statement": STATEMENT,
            "contacts_held": False,
            "pseudonym": reference,
            "registrations": [
                {
                    "registration_id": row["_id"],
                    "status": domain.RANK_STATUS.get(row.get("rank", 0)),
                    **{k: row.get(k) for k in ROW_FIELDS},
                }
                for row in rows
            ],
        }
