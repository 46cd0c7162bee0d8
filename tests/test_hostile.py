"""A hostile client against a real `audiotag serve`: bad uploads of every kind, malformed multipart,
lying headers, a slow client, thousands of form fields, bad query values and path traversal. No
answer is a 5xx, nothing hangs, the log has no traceback, and the catalogue and index are intact."""

from __future__ import annotations

import io
import socket
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
import pytest
import soundfile as sf

from index import versions
from tests.conftest import indexed_copy, running_server, server_log, tone


def _wav(wave: np.ndarray, sr: int = 22050, subtype: str | None = None, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    data = np.tile(wave[:, None], (1, channels)) if channels > 1 else wave
    sf.write(buf, data, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


BAD_FILES = {
    "empty": b"",
    "text": b"just some text, no audio here " * 20,
    "lying header": b"RIFF\xff\xff\xff\x7fWAVEfmt " + b"\x00" * 64,
    "truncated": _wav(tone(300.0, 1.0))[:200],
    "silence": _wav(np.zeros(22050, np.float32)),
    "nan": _wav(np.full(22050, np.nan, np.float32), subtype="FLOAT"),
    "192 kHz x 8 channels": _wav(tone(300.0, 0.5, sr=192000), 192000, channels=8),
    "png named wav": b"\x89PNG\r\n\x1a\n" + b"\x00" * 300,
    "zip": b"PK\x03\x04" + b"\x00" * 300,
}

BAD_QUERIES = [
    {"q": ""},
    {"q": "rain", "k": 10**9},
    {"q": "rain", "page": -1},
    {"q": "x" * 501},
    {"q": "rain", "min_duration": "nan"},
    {"q": "\x00\ud7ff"},
    {"q": "rain", "k": "ten"},
]
TRAVERSALS = [
    "/sounds/..%2F..%2Fetc%2Fpasswd/audio",
    "/sounds/1%2F..%2F..%2Fcatalogue.db/audio",
    "/../../etc/passwd",
    "/sounds/-1/audio",
    "/sounds/99999999999999999999999/audio",
]


@pytest.fixture(scope="module")
def hostile(trained_data_dir: Path, tmp_path_factory):
    data = indexed_copy(trained_data_dir, tmp_path_factory.mktemp("hostile"))
    with running_server(data, upload_max_bytes="1000000") as base:
        yield base, data


def _raw(base: str, request: bytes, pause_s: float = 0.0, tail: bytes = b"") -> bytes:
    """Send bytes on a socket (then `tail` after a pause); the status line of the answer, or b''."""
    url = urlparse(base)
    with socket.create_connection((url.hostname, url.port), timeout=30) as s:
        s.sendall(request)
        if pause_s:
            time.sleep(pause_s)
            s.sendall(tail)
        try:
            return s.recv(200).split(b"\r\n", 1)[0]
        except (TimeoutError, ConnectionResetError):
            return b""


def test_a_hostile_client_gets_clear_errors_and_breaks_nothing(hostile) -> None:
    base, data = hostile
    api = f"{base}/api/v1"
    served = versions.current_version(data / "indices")
    statuses: list[int] = []
    with httpx.Client(timeout=30) as c:
        for name, payload in BAD_FILES.items():
            for path in ("/tags", "/similar", "/classify"):
                extra = {"data": {"labels": "rain"}} if path == "/classify" else {}
                r = c.post(f"{api}{path}", files={"file": (f"{name}.wav", payload)}, **extra)
                statuses.append(r.status_code)
                assert r.status_code in (413, 415, 422), (name, path, r.text)
                assert r.json()["error"]["message"], (name, path)
        too_big = c.post(f"{api}/tags", files={"file": ("big.wav", b"\x00" * 1_200_000)})
        assert too_big.status_code == 413
        many_fields = {f"f{i}": "x" for i in range(5000)}
        r = c.post(f"{api}/classify", data={**many_fields, "labels": "rain"}, files={"file": ("a.wav", b"x")})
        assert 400 <= r.status_code < 500, r.text
        for params in BAD_QUERIES:
            r = c.get(f"{api}/search", params=params)
            assert r.status_code == 422, (params, r.text)
        for path in TRAVERSALS:
            r = c.get(f"{api}{path}")
            assert r.status_code in (404, 422), (path, r.status_code)
            assert b"root:" not in r.content and b"SQLite" not in r.content
        assert c.get(f"{base}/static/../app/settings.py").status_code == 404

    # lying Content-Length, both ways, and a broken multipart body
    head = b"POST /api/v1/tags HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
    assert b" 413 " in _raw(base, head + b"Content-Length: 999999999\r\n\r\n--b\r\n") + b" "
    short = _raw(
        base, head + b"Content-Length: 10\r\n\r\n--b\r\nContent-Disposition: form-data; name=file\r\n"
    )
    assert not short.startswith(b"HTTP/1.1 5"), short
    # a slow client trickling its body does not hold up anyone else
    slow = threading.Thread(
        target=_raw, args=(base, head + b"Content-Length: 400\r\n\r\n--b\r\n", 15.0, b"x" * 10)
    )
    slow.start()
    assert httpx.get(f"{api}/search", params={"q": "rain"}, timeout=30).status_code == 200
    assert slow.is_alive()  # answered while the slow client still trickles its body
    slow.join()

    assert 500 not in statuses
    log = server_log(data, urlparse(base).port).read_text()
    assert "Traceback" not in log and " 500 " not in log
    with sqlite3.connect(data / "catalogue.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM sounds WHERE deleted_at IS NULL").fetchone()[0] == 24
    assert versions.current_version(data / "indices") == served
    assert httpx.get(f"{api}/ready").json()["index_version"] == served
