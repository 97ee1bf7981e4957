"""Times in the recipient's zone and Moscow's; escaping in HTML only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from etnik.notification.rendering import TemplateRenderer, event_context
from etnik.notification.timefmt import date_ru, time_both_ru

# 29 November 2022, 14:00 Moscow time (UTC+3).
SESSION = datetime(2022, 11, 29, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Kamchatka", "14:00 МСК / 23:00 по местному времени"),
        ("Europe/Kaliningrad", "14:00 МСК / 13:00 по местному времени"),
        ("Asia/Yekaterinburg", "14:00 МСК / 16:00 по местному времени"),
        ("Europe/Moscow", "14:00 МСК"),
    ],
)
def test_time_is_given_in_moscow_and_local_time(zone: str, expected: str) -> None:
    assert time_both_ru(SESSION, zone) == expected


def test_a_local_time_past_midnight_names_its_day() -> None:
    late = datetime(2022, 11, 29, 16, 0, tzinfo=UTC)  # 19:00 MSK, 04:00 next day in Kamchatka
    assert (
        time_both_ru(late, "Asia/Kamchatka") == "19:00 МСК / 04:00, 30 ноября по местному времени"
    )


def test_the_date_is_in_russian() -> None:
    assert date_ru(SESSION, "Europe/Moscow") == "29 ноября 2022 года"


def _context(title: str, zone: str = "Asia/Kamchatka", locale: str = "ru") -> dict[str, object]:
    event = {"title": title, "starts_at": SESSION, "format": "online"}
    return {
        "recipient": {"full_name": "Иванова <Анна>"},
        "event": event_context(event, locale=locale, recipient_zone=zone),
    }


def test_a_confirmation_gives_both_times_and_escapes_html() -> None:
    rendered = TemplateRenderer().render(
        "registration_confirmed", "ru", _context("Сессия <b>ЦФО</b>")
    )
    assert rendered.subject == "Регистрация подтверждена: Сессия <b>ЦФО</b>"
    assert "14:00 МСК / 23:00 по местному времени" in rendered.text
    assert "Иванова <Анна>" in rendered.text
    assert "Сессия &lt;b&gt;ЦФО&lt;/b&gt;" in rendered.html
    assert "Иванова &lt;Анна&gt;" in rendered.html
    assert "<b>ЦФО</b>" not in rendered.html


def test_english_recipients_get_english() -> None:
    rendered = TemplateRenderer().render(
        "registration_confirmed", "en", _context("Session", locale="en")
    )
    assert rendered.subject == "Registration confirmed: Session"
    assert "14:00 Moscow time / 23:00 your time" in rendered.text


def test_an_unsupported_language_falls_back_to_russian() -> None:
    rendered = TemplateRenderer().render("registration_waitlisted", "de", _context("Сессия"))
    assert rendered.subject == "Лист ожидания: Сессия"


def test_a_template_missing_a_part_is_refused_clearly() -> None:
    from etnik.notification.rendering import TemplateProblem

    with pytest.raises(TemplateProblem, match="subject"):
        TemplateRenderer().render_source(
            "x.ru.jinja", '{% extends "layout.jinja" %}{% block text %}x{% endblock %}', {}
        )


def test_templates_are_sandboxed() -> None:
    from etnik.notification.rendering import TemplateProblem

    hostile = (
        '{% extends "layout.jinja" %}{% block subject %}'
        "{{ ''.__class__.__mro__[1].__subclasses__() }}{% endblock %}{% block text %}{% endblock %}"
    )
    with pytest.raises(TemplateProblem):
        TemplateRenderer().render_source("x.ru.jinja", hostile, {"locale": "ru"})


def test_an_edited_template_is_served_instead_of_the_packaged_one() -> None:
    renderer = TemplateRenderer()
    renderer.use_edited(
        "registration_waitlisted.ru.jinja",
        '{% extends "layout.jinja" %}{% block subject %}Ждём: {{ event.title }}{% endblock %}'
        "{% block text %}Текст{% endblock %}{% block body %}<p>Тело</p>{% endblock %}",
    )
    rendered = renderer.render("registration_waitlisted", "ru", _context("Сессия"))
    assert rendered.subject == "Ждём: Сессия"
    assert "<p>Тело</p>" in rendered.html


LINK = "https://telemost.yandex.ru/j/42?pwd=a&b=<c>"
MANAGE = "https://etnik.example/registrations/manage?token=t"


def test_a_confirmation_tells_how_to_attend_and_how_to_manage() -> None:
    context = _context("Сессия") | {
        "online_link": LINK,
        "check_in_code": "ABCD2345",
        "manage_url": MANAGE,
    }
    rendered = TemplateRenderer().render("registration_confirmed", "ru", context)
    assert f"Ссылка для подключения: {LINK}" in rendered.text
    assert "Код для входа: ABCD2345" in rendered.text
    assert f"Управлять регистрацией (посмотреть или отменить): {MANAGE}" in rendered.text
    assert 'href="https://telemost.yandex.ru/j/42?pwd=a&amp;b=&lt;c&gt;"' in rendered.html
    assert "Управлять регистрацией</a>" in rendered.html


def test_without_the_details_nothing_of_them_is_shown() -> None:
    rendered = TemplateRenderer().render("registration_confirmed", "ru", _context("Сессия"))
    assert "Ссылка для подключения" not in rendered.text
    assert "Код для входа" not in rendered.text
    assert "Управлять регистрацией" not in rendered.text


def test_a_new_link_is_announced_without_a_new_time() -> None:
    context = _context("Сессия") | {
        "online_link": LINK,
        "manage_url": MANAGE,
        "moved": False,
        "link_changed": True,
    }
    for locale, expected in (
        ("ru", "Новая ссылка для подключения: "),
        ("en", "New link to join: "),
    ):
        rendered = TemplateRenderer().render("event_changed", locale, context)
        assert expected + LINK in rendered.text
        assert "Теперь оно пройдёт" not in rendered.text
        assert "now takes place" not in rendered.text


def test_an_edited_template_is_checked_for_what_it_must_show() -> None:
    from etnik.notification.domain import REGISTRATION_KINDS, values_a_template_must_show

    renderer = TemplateRenderer()
    packaged = renderer.packaged_source("registration_confirmed.ru.jinja")
    required = values_a_template_must_show("registration_confirmed")
    assert set(required) <= renderer.names_used(packaged)
    assert "online_link" not in renderer.names_used(packaged.replace("online_link", "x"))
    assert values_a_template_must_show("registration_waitlisted") == ("manage_url",)
    assert values_a_template_must_show("invitation") == ()
    for kind in REGISTRATION_KINDS:
        for locale in ("ru", "en"):
            source = renderer.packaged_source(f"{kind}.{locale}.jinja")
            assert set(values_a_template_must_show(kind)) <= renderer.names_used(source)
