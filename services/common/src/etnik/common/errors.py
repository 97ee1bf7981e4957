"""The one refusal every service's use cases raise; `etnik.common.app.answer_refusals`
answers it. No web framework here: domain modules raise it."""

from __future__ import annotations

from collections.abc import Mapping


class Refused(Exception):
    """A request the rules refuse, with the HTTP status and a reason a person can act on."""

    def __init__(
        self, status_code: int, reason: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason
        self.headers = dict(headers or {})
