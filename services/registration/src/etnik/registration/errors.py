"""The error every use case raises for a request it refuses."""

from __future__ import annotations

from etnik.common.errors import Refused


class DomainError(Refused):
    """A refused request, with the HTTP status and a reason a person can act on.

    The kernel's one handler (`create_service_app`) answers it `{"detail": reason}` with the
    status, so routes let it pass rather than converting it.
    """
