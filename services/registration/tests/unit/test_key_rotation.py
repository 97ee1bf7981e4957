"""Signing-key rotation: what the previous key signed stays valid until it expires."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from etnik.common.auth import JwtVerifier
from etnik.registration.identity import LinkInvalid, SigningKey
from etnik.registration.settings import RegistrationSettings


def pem_file(directory: Path, name: str, key: ec.EllipticCurvePrivateKey, *, public: bool) -> Path:
    if public:
        data = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        data = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    path = directory / name
    path.write_bytes(data)
    return path


async def test_after_rotation_the_old_key_verifies_and_only_the_new_one_signs(
    tmp_path: Path,
) -> None:
    old_key, new_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    settings = RegistrationSettings(
        jwt_private_key_file=pem_file(tmp_path, "old.pem", old_key, public=False)
    )
    before = SigningKey.load(settings)
    link = before.sign_link(purpose="manage", subject="r1", ttl_s=3600)
    token, _ = before.issue(settings, subject="p1", kind="participant", roles=[])

    rotated = SigningKey.load(
        RegistrationSettings(
            jwt_private_key_file=pem_file(tmp_path, "new.pem", new_key, public=False),
            jwt_previous_key_files=[pem_file(tmp_path, "old.pub", old_key, public=True)],
        )
    )
    assert [key["kid"] for key in rotated.jwks()["keys"]] == [rotated.key_id, before.key_id]
    assert rotated.verify_link(link, purpose="manage")["sub"] == "r1"
    fresh = rotated.sign_link(purpose="manage", subject="r2", ttl_s=60)
    assert jwt.get_unverified_header(fresh)["kid"] == rotated.key_id

    # Every service verifies access tokens through the JWKS: the old key's token still passes.
    verifier = JwtVerifier(
        rotated.jwks_loader(), issuers=[settings.jwt_issuer], audience=settings.jwt_audience
    )
    assert (await verifier.verify(token))["sub"] == "p1"

    # Once the old key is dropped from the settings, what it signed is refused.
    retired = SigningKey.load(RegistrationSettings(jwt_private_key_file=tmp_path / "new.pem"))
    with pytest.raises(LinkInvalid):
        retired.verify_link(link, purpose="manage")
    assert [key["kid"] for key in retired.jwks()["keys"]] == [rotated.key_id]
