"""The content service in the whole platform: through nginx, with tokens from registration."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx

PdfMaker = Callable[..., bytes]


def test_a_material_travels_through_the_gateway(
    gateway: httpx.Client, operator_token: str, make_pdf: PdfMaker
) -> None:
    admin = {"Authorization": f"Bearer {operator_token}"}
    created = gateway.post(
        "/api/content/materials",
        json={"kind": "recommendation", "title": "Рекомендации по работе с молодёжью"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    material: dict[str, Any] = created.json()
    path = f"/api/content/materials/{material['id']}"

    # A draft requested by the public is unknown.
    assert gateway.get(path).status_code == 404

    # Bigger than the kernel's default 1 MiB body limit, which uploads must not hit.
    pdf = make_pdf("Рекомендации") + b"\n%" + b"0" * (3 * 1024 * 1024)
    uploaded = gateway.put(
        f"{path}/file",
        params={"filename": "Рекомендации.pdf"},
        content=pdf,
        headers={**admin, "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["file"]["sha256"] == hashlib.sha256(pdf).hexdigest()

    assert gateway.post(f"{path}/submit", headers=admin).status_code == 200
    # The administrator wrote it, so may not approve it, although admin holds every role.
    assert gateway.post(f"{path}/approve", headers=admin).status_code == 403

    part = gateway.get(f"{path}/file", headers={**admin, "Range": "bytes=0-7"})
    assert part.status_code == 206
    assert part.content == pdf[:8]
    assert part.headers["content-range"] == f"bytes 0-7/{len(pdf)}"
