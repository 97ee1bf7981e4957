"""The template of an NGO development strategy, prefilled from participation. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

# Section key -> heading, in the order the document shows them.
SECTIONS: dict[str, str] = {
    "profile": "Профиль организации",
    "participation": "Участие в программе «ЭтНик: стратегия в практике»",
    "current_state": "Текущее состояние и ресурсы",
    "goals": "Цели развития на 1–3 года",
    "actions": "Шаги и мероприятия",
    "partners": "Партнёры и поддержка",
    "indicators": "Показатели результата",
}

_PROMPTS = {
    "current_state": "Команда, добровольцы, помещения, финансирование, сильные и слабые стороны.",
    "goals": "Чего организация хочет достичь; каждая цель измерима и ограничена сроком.",
    "actions": "Конкретные шаги к каждой цели: что, кто, когда.",
    "partners": "Органы власти, НКО, бизнес, СМИ, с которыми предстоит работать.",
    "indicators": "По каким числам и фактам будет видно, что цели достигнуты.",
}


def initial_sections(
    organisation: Mapping[str, Any], participation: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    """The first version: profile and participation filled in, the rest as prompts."""
    profile = [f"Организация: {organisation.get('name', '—')}"]
    if organisation.get("federal_district"):
        profile.append(f"Федеральный округ: {organisation['federal_district']}")
    sections = dict.fromkeys(SECTIONS, "")
    sections["profile"] = "\n".join(profile)
    sections["participation"] = participation_text(participation)
    sections.update({key: f"[{prompt}]" for key, prompt in _PROMPTS.items()})
    return sections


def participation_text(participation: Sequence[Mapping[str, Any]]) -> str:
    """One line per programme event the organisation took part in."""
    if not participation:
        return "Сведений об участии в мероприятиях программы пока нет."
    lines = []
    for entry in participation:
        starts_at = entry.get("starts_at")
        when = f"{starts_at:%d.%m.%Y}" if isinstance(starts_at, datetime) else "дата не указана"
        title = entry.get("title") or "мероприятие программы"
        district = f", {entry['federal_district']}" if entry.get("federal_district") else ""
        lines.append(
            f"• {when} — {title}{district}: зарегистрировано {entry.get('confirmed', 0)},"
            f" присутствовало {entry.get('attended', 0)}"
        )
    return "\n".join(lines)


def changed_sections(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """Keys of the sections whose text differs, in document order."""
    return [key for key in SECTIONS if before.get(key, "") != after.get(key, "")]
