"""Readiness checks that speak each server's own protocol, with the standard library only."""

from __future__ import annotations

import http.client
import itertools
import socket
import struct

_correlation_ids = itertools.count(1)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks += chunk
    return bytes(chunks)


def tcp_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(url_host: str, port: int, path: str, timeout: float = 2.0) -> int | None:
    """Status of GET http://host:port/path, or None if nothing answered (never uses a proxy)."""
    connection = http.client.HTTPConnection(url_host, port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def http_ok(host: str, port: int, path: str, timeout: float = 2.0) -> bool:
    """True if GET path answers 200."""
    return http_status(host, port, path, timeout) == 200


def kafka_ready(host: str, port: int, timeout: float = 2.0) -> bool:
    """True if a Kafka broker answers an ApiVersions request without error."""
    # ApiVersions v0 (API key 18) is answered by every broker version; a KRaft broker only
    # accepts client connections once it has joined the cluster and been unfenced.
    client_id = b"etnik-dev"
    correlation_id = next(_correlation_ids) & 0x7FFFFFFF
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            answered_id, error_code = struct.unpack_from(">ih", _recv_exact(sock, size))
    except (OSError, struct.error):
        return False
    return bool(answered_id == correlation_id and error_code == 0)


def _bson_ping() -> bytes:
    elements = (
        b"\x10ping\x00"
        + struct.pack("<i", 1)
        + b"\x02$db\x00"
        + struct.pack("<i", len(b"admin\x00"))
        + b"admin\x00"
    )
    return struct.pack("<i", 4 + len(elements) + 1) + elements + b"\x00"


def mongo_ping(host: str, port: int, timeout: float = 2.0) -> bool:
    """True if a MongoDB-compatible server answers {ping: 1} with ok: 1 (OP_MSG)."""
    op_msg = 2013
    request_id = next(_correlation_ids) & 0x7FFFFFFF
    payload = struct.pack("<I", 0) + b"\x00" + _bson_ping()  # no flags; one body section
    header = struct.pack("<iiii", 16 + len(payload), request_id, 0, op_msg)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(header + payload)
            length, _id, response_to, op_code = struct.unpack("<iiii", _recv_exact(sock, 16))
            reply = _recv_exact(sock, length - 16)
    except (OSError, struct.error):
        return False
    if response_to != request_id or op_code != op_msg:
        return False
    ok_at = reply.find(b"\x01ok\x00")  # a double named "ok"
    if ok_at < 0 or len(reply) < ok_at + 12:
        return False
    (ok,) = struct.unpack_from("<d", reply, ok_at + 4)
    return bool(ok == 1.0)


def smtp_ready(host: str, port: int, timeout: float = 2.0) -> bool:
    """True if an SMTP server greets with 220."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            greeting = sock.recv(512)
            sock.sendall(b"QUIT\r\n")
    except OSError:
        return False
    return greeting.startswith(b"220")
