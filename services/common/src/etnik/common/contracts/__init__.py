"""Event contracts, one module per producing service; importing this package registers them all."""

from etnik.common.contracts import content, notification, registration, reporting

__all__ = ["content", "notification", "registration", "reporting"]
