"""A person's export as a readable A4 PDF in Russian: the same document as the JSON export
(`PrivacyService.export`), section by section, then the 152-FZ art. 14 statement.

Pure: the export in, bytes out. The Cyrillic font must be registered first
(etnik.common.pdf_fonts.register_fonts); building is blocking, so run it in a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

from etnik.common.pdf_fonts import BOLD, REGULAR
from etnik.registration.ticket import MOSCOW

TITLE = "Сведения о ваших персональных данных"
PROGRAMME = "ЭтНик: стратегия в практике"
_ACCENT = HexColor("#1f4e79")
_MUTED = HexColor("#555555")
_GRID = HexColor("#c8d3df")
_WIDTH = A4[0] - 36 * mm

SERVICE_TITLES = {
    "notification": "Сервис уведомлений",
    "content": "Сервис материалов",
    "reporting": "Сервис отчётности",
}
MISSING_REASONS = {
    "timeout": "сервис не ответил вовремя",
    "unreachable": "сервис недоступен",
    "refused": "сервис отказал в доступе",
    "failed": "сервис ответил ошибкой",
}
CATEGORIES = {
    "ngo_leader": "руководитель НКО",
    "ngo_activist": "активист НКО",
    "expert": "эксперт",
    "government_official": "представитель органа власти",
    "media": "представитель СМИ",
    "other": "другое",
}
REGISTRATION_STATUSES = {
    "confirmed": "подтверждена",
    "waitlisted": "в листе ожидания",
    "pending_approval": "ожидает одобрения",
    "rejected": "отклонена",
    "cancelled": "отменена",
    "offered": "предложено место",
}
MESSAGE_STATUSES = {
    "pending": "ожидает отправки",
    "sent": "отправлено",
    "failed": "не доставлено",
    "dropped": "отменено",
}
MESSAGE_KINDS = {
    "registration_confirmed": "подтверждение регистрации",
    "registration_waitlisted": "лист ожидания",
    "registration_received": "заявка получена",
    "registration_rejected": "заявка отклонена",
    "registration_cancelled": "регистрация отменена",
    "registration_offered": "предложение места",
    "event_reminder": "напоминание о мероприятии",
    "event_changed": "изменение мероприятия",
    "event_cancelled": "отмена мероприятия",
    "sign_in_link": "ссылка для входа",
    "invitation": "приглашение",
    "certificate_issued": "сертификат участника",
    "survey_invitation": "приглашение в опрос",
}
CONSENT_SCOPES = {"personal_data": "обработка персональных данных", "publication": "публикация"}
PERSON_FIELDS = (
    ("full_name", "ФИО"),
    ("email", "Электронная почта"),
    ("phone", "Телефон"),
    ("category", "Категория"),
    ("position", "Должность"),
    ("region_code", "Код региона"),
    ("federal_district", "Федеральный округ"),
    ("timezone", "Часовой пояс"),
    ("locale", "Язык писем"),
    ("created_at", "Дата регистрации профиля"),
    ("erased_at", "Данные удалены"),
)


def when(value: Any) -> str:
    """A time as «05.12.2026 20:15 МСК» (datetimes, or ISO strings from other services)."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if not isinstance(moment, datetime):
        return text(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # MongoDB keeps UTC
    return moment.astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M МСК")


def text(value: Any) -> str:
    """A value as the person reads it: yes/no, lists joined, nothing as a dash."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(text(v) for v in value)
    return str(value)


class _Story:
    """The flowables of the document, with the styles they use."""

    def __init__(self) -> None:
        body = ParagraphStyle("ExportBody", fontName=REGULAR, fontSize=9.5, leading=12.5)
        self.styles = {
            "body": body,
            "title": ParagraphStyle(
                "ExportTitle", parent=body, fontName=BOLD, fontSize=17, leading=22,
                textColor=_ACCENT, spaceAfter=4,
            ),
            "h1": ParagraphStyle(
                "ExportH1", parent=body, fontName=BOLD, fontSize=13, leading=17,
                textColor=_ACCENT, spaceBefore=10, spaceAfter=4,
            ),
            "h2": ParagraphStyle(
                "ExportH2", parent=body, fontName=BOLD, fontSize=10.5, leading=14,
                spaceBefore=6, spaceAfter=2,
            ),
            "muted": ParagraphStyle("ExportMuted", parent=body, textColor=_MUTED),
            "warning": ParagraphStyle(
                "ExportWarning", parent=body, fontName=BOLD, textColor=HexColor("#9c2a00")
            ),
            "cell": ParagraphStyle("ExportCell", parent=body, fontSize=8.5, leading=11),
            "head": ParagraphStyle("ExportHead", parent=body, fontName=BOLD, fontSize=8.5,
                                   leading=11),
        }  # fmt: skip
        self.items: list[Any] = []

    def para(self, content: str, style: str = "body") -> None:
        self.items.append(Paragraph(escape(content), self.styles[style]))

    def bullets(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.items.append(Paragraph(f"•&nbsp;{escape(line)}", self.styles["body"]))

    def facts(self, record: Mapping[str, Any] | None, fields: Sequence[tuple[str, str]]) -> None:
        """Label and value rows for the fields the record has."""
        rows = [
            (label, _shown(key, record[key]))
            for key, label in fields
            if record and record.get(key) not in (None, "", [], {})
        ]
        if not rows:
            self.para("Сведений нет.", "muted")
            return
        self._table([[label, value] for label, value in rows], [48 * mm, None], header=False)

    def rows(self, header: Sequence[str], rows: list[list[str]], widths: list[Any]) -> None:
        """A table with a header row, or «нет» when there is nothing to list."""
        if not rows:
            self.para("Нет записей.", "muted")
            return
        self._table([list(header), *rows], widths, header=True)

    def _table(self, rows: list[list[str]], widths: list[Any], *, header: bool) -> None:
        cell, head = self.styles["cell"], self.styles["head"]
        data = [
            [Paragraph(escape(value), head if header and index == 0 else cell) for value in row]
            for index, row in enumerate(rows)
        ]
        style: list[Any] = [
            ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), HexColor("#eef3f8")))
        known = sum(w for w in widths if w is not None)
        free = [w for w in widths if w is None]
        share = (_WIDTH - known) / len(free) if free else 0
        self.items.append(
            Table(
                data,
                colWidths=[w if w is not None else share for w in widths],
                style=style,
                repeatRows=1 if header else 0,
            )
        )


def _shown(key: str, value: Any) -> str:
    if key == "category":
        return CATEGORIES.get(str(value), text(value))
    if key.endswith("_at"):
        return when(value)
    return text(value)


def export_pdf(export: Mapping[str, Any]) -> bytes:
    """The export as a PDF: profile, each service's part (or why it is missing), then what
    152-FZ art. 14 requires (purposes, categories, recipients, retention, rights)."""
    story = _Story()
    person = export.get("person") or {}
    story.para(TITLE, "title")
    story.para(f"Программа «{PROGRAMME}»", "muted")
    story.para(
        f"{text(person.get('full_name'))}, {text(person.get('email'))}. "
        f"Выгрузка сформирована {when(export.get('exported_at'))}.",
    )
    missing = export.get("missing_sections") or []
    if missing:
        names = ", ".join(SERVICE_TITLES.get(name, name).lower() for name in missing)
        story.para(
            f"Выгрузка неполная: не получены сведения от следующих сервисов: {names}. "
            "Повторите запрос позже.",
            "warning",
        )
    _registration(story, export)
    services = export.get("services") or {}
    for name, render in (
        ("notification", _notification),
        ("content", _content),
        ("reporting", _reporting),
    ):
        section = services.get(name)
        if section is None:
            continue
        story.para(SERVICE_TITLES[name], "h1")
        if section.get("status") != "complete":
            reason = MISSING_REASONS.get(str(section.get("reason")), "сервис не ответил")
            story.para(f"Раздел не получен: {reason}. Повторите выгрузку позже.", "warning")
            continue
        render(story, section.get("data") or {})
    _notice(story, export.get("privacy_notice") or {})

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=TITLE,
        author=PROGRAMME,
        subject="Выгрузка персональных данных (152-ФЗ, ст. 14)",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        invariant=True,
    )
    document.build(story.items, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()


def _registration(story: _Story, export: Mapping[str, Any]) -> None:
    story.para("Сервис регистрации", "h1")
    story.para("Профиль", "h2")
    story.facts(export.get("person"), PERSON_FIELDS)
    organisation = export.get("organisation")
    if organisation:
        story.para("Организация", "h2")
        story.facts(
            organisation,
            (("name", "Название"), ("inn", "ИНН"), ("kind", "Вид"), ("region_code", "Регион")),
        )
    story.para("Регистрации на мероприятия", "h2")
    story.rows(
        ("Мероприятие", "Статус", "Подана", "Посещение"),
        [
            [
                text(r.get("event_title") or r.get("event_id")),
                REGISTRATION_STATUSES.get(str(r.get("status")), text(r.get("status"))),
                when(r.get("created_at")),
                text((r.get("attendance") or {}).get("status")),
            ]
            for r in export.get("registrations") or []
        ],
        [None, 30 * mm, 36 * mm, 26 * mm],
    )
    story.para("Согласия", "h2")
    story.rows(
        ("Согласие", "Версия", "Дано", "Отозвано"),
        [
            [
                CONSENT_SCOPES.get(str(c.get("scope")), text(c.get("scope"))),
                text(c.get("version")),
                when(c.get("given_at") or c.get("created_at")),
                when(c.get("withdrawn_at")) if c.get("withdrawn_at") else "—",
            ]
            for c in export.get("consents") or []
        ],
        [None, 18 * mm, 36 * mm, 36 * mm],
    )
    story.para("Приглашения", "h2")
    story.rows(
        ("Мероприятие", "Отправлено", "Использовано"),
        [
            [
                text(i.get("event_title") or i.get("event_id")),
                when(i.get("created_at")),
                when(i.get("used_at")) if i.get("used_at") else "—",
            ]
            for i in export.get("invitations") or []
        ],
        [None, 36 * mm, 36 * mm],
    )
    story.para("Сертификаты участника", "h2")
    story.rows(
        ("Мероприятие", "Код", "Выдан"),
        [
            [text(c.get("event_title")), text(c.get("code")), when(c.get("issued_at"))]
            for c in export.get("certificates") or []
        ],
        [None, 40 * mm, 36 * mm],
    )
    answered = export.get("surveys_answered") or []
    if answered:
        story.para("Ответы на опросы", "h2")
        story.para(
            f"Ответов: {len(answered)}. Ответы хранятся без вашего имени и идентификатора.",
            "muted",
        )
    expert = export.get("expert")
    if expert:
        # The roster of experts (experts.py): the entry and its assignments with travel.
        story.para("Реестр экспертов", "h2")
        story.facts(
            expert,
            (
                ("field_of_expertise", "Область экспертизы"),
                ("region_codes", "Регионы (коды)"),
                ("bio", "Краткая биография"),
                ("has_photo", "Фотография хранится"),
                ("status", "Статус записи"),
            ),
        )
        story.rows(
            ("Мероприятие", "Роль", "Приезд", "Отъезд", "Статус"),
            [
                [
                    text(a.get("event_id")),
                    text(a.get("role")),
                    text(a.get("arrival_on")),
                    text(a.get("departure_on")),
                    text(a.get("travel_status")),
                ]
                for a in expert.get("assignments") or []
            ],
            [None, 26 * mm, 24 * mm, 24 * mm, 28 * mm],
        )


def _notification(story: _Story, data: Mapping[str, Any]) -> None:
    story.para("Получатель писем", "h2")
    story.facts(
        data.get("recipient"),
        (
            ("full_name", "ФИО"),
            ("email", "Электронная почта"),
            ("locale", "Язык писем"),
            ("timezone", "Часовой пояс"),
            ("region_code", "Код региона"),
        ),
    )
    preferences = data.get("preferences") or {}
    story.para(
        "Приглашения: отписка оформлена " + when(preferences.get("unsubscribed_at"))
        if preferences.get("invitations_unsubscribed")
        else "Приглашения: вы на них подписаны."
    )
    story.para("Письма", "h2")
    story.rows(
        ("Письмо", "Статус", "Время", "Адрес"),
        [
            [
                MESSAGE_KINDS.get(str(m.get("kind")), text(m.get("kind"))),
                MESSAGE_STATUSES.get(str(m.get("status")), text(m.get("status"))),
                when(m.get("sent_at") or m.get("failed_at") or m.get("created_at")),
                text(m.get("address")),
            ]
            for m in data.get("messages") or []
        ],
        [None, 28 * mm, 34 * mm, 50 * mm],
    )


def _content(story: _Story, data: Mapping[str, Any]) -> None:
    story.para("Материалы, в которых вы указаны", "h2")
    story.rows(
        ("Материал", "Роль", "Указаны как", "Статус"),
        [
            [
                text(m.get("title")),
                "автор" if m.get("role") == "author" else "автор прежней версии",
                text([a.get("name") for a in m.get("named_as") or []]),
                text(m.get("status")),
            ]
            for m in data.get("materials") or []
        ],
        [None, 32 * mm, 40 * mm, 24 * mm],
    )
    access = data.get("access") or {}
    story.para("Доступ к материалам для участников", "h2")
    story.para(
        "Мероприятия, материалы которых вам открыты: "
        + text(access.get("events_open_to_person"))
        + f". Записей о регистрациях: {len(access.get('registrations') or [])}."
    )
    strategies = data.get("strategies") or []
    if strategies:
        story.para("Стратегии развития вашей организации", "h2")
        story.bullets(
            f"{text(s.get('organisation_name'))}: версия {text(s.get('version'))}, "
            f"изменена {when(s.get('updated_at'))}"
            for s in strategies
        )
    if data.get("downloads"):
        story.para(str(data["downloads"]), "muted")


def _reporting(story: _Story, data: Mapping[str, Any]) -> None:
    story.para(text(data.get("statement")))
    story.para(f"Псевдоним: {text(data.get('pseudonym'))}", "muted")
    story.rows(
        ("Мероприятие", "Статус", "Категория", "Регион"),
        [
            [
                text(r.get("event_id")),
                REGISTRATION_STATUSES.get(str(r.get("status")), text(r.get("status"))),
                CATEGORIES.get(str(r.get("category")), text(r.get("category"))),
                text(r.get("region_code")),
            ]
            for r in data.get("registrations") or []
        ],
        [None, 30 * mm, 40 * mm, 20 * mm],
    )


def _notice(story: _Story, notice: Mapping[str, Any]) -> None:
    story.para("Обработка персональных данных (ст. 14 152-ФЗ)", "h1")
    story.para(f"{text(notice.get('operator'))}. {text(notice.get('legal_basis'))}")
    for key, heading in (
        ("purposes", "Цели обработки"),
        ("categories", "Категории данных"),
        ("retention", "Сроки хранения"),
        ("rights", "Ваши права"),
        ("how_to_exercise", "Как воспользоваться правами"),
    ):
        story.para(heading, "h2")
        story.bullets(notice.get(key) or [])
    story.para("Получатели данных", "h2")
    story.bullets(f"{r.get('name')}: {r.get('role')}" for r in notice.get("recipients") or [])
    story.para(f"Источник данных: {text(notice.get('sources'))}", "muted")
    story.para(f"Трансграничная передача: {text(notice.get('cross_border_transfer'))}", "muted")


def _footer(canvas: Any, document: Any) -> None:
    canvas.saveState()
    canvas.setFont(REGULAR, 7.5)
    canvas.setFillColor(_MUTED)
    canvas.drawString(18 * mm, 9 * mm, f"{TITLE} · «{PROGRAMME}»")
    canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"стр. {document.page}")
    canvas.restoreState()
