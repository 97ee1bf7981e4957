"""The reference data shipped with the service."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from etnik.registration.reference import federal_districts, federal_subjects


def test_eight_districts() -> None:
    keys = {district["key"] for district in federal_districts()}
    assert keys == {"ЦФО", "СЗФО", "ЮФО", "СКФО", "ПФО", "УФО", "СФО", "ДФО"}


def test_subjects_have_valid_zones_and_known_districts() -> None:
    subjects = federal_subjects()
    districts = {district["key"] for district in federal_districts()}
    assert len(subjects) == 89
    for subject in subjects:
        ZoneInfo(subject["iana_timezone"])
        assert subject["federal_district"] is None or subject["federal_district"] in districts
    without_district = {s["code"] for s in subjects if s["federal_district"] is None}
    assert without_district == {"90", "93", "94", "95"}
    by_code = {s["code"]: s for s in subjects}
    assert by_code["41"]["iana_timezone"] == "Asia/Kamchatka"
    assert by_code["39"]["iana_timezone"] == "Europe/Kaliningrad"
