"""Signed unsubscribe links that work without signing in."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer


class UnsubscribeLinks:
    """Makes and checks the link in every invitation; the signature binds it to one person."""

    def __init__(self, secret: str, public_base_url: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="etnik-unsubscribe")
        self._base = public_base_url.rstrip("/")

    def token(self, person_id: str) -> str:
        """The signed token for a person."""
        return str(self._serializer.dumps(person_id))

    def url(self, person_id: str) -> str:
        """The public link, through the gateway."""
        return f"{self._base}/api/notification/unsubscribe/{self.token(person_id)}"

    def person_id(self, token: str) -> str | None:
        """The person a token was made for, or None when it is forged or damaged."""
        try:
            value = self._serializer.loads(token)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None
