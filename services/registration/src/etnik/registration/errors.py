"""The error every use case raises for a request it refuses."""

from __future__ import annotations


class DomainError(Exception):
    """A refused request, with the HTTP status and a reason a person can act on."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason
