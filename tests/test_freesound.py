"""The Freesound client against a local HTTP server that speaks the APIv2 subset it uses."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import soundfile as sf

from index.freesound import FreesoundClient, FreesoundError
from tests.conftest import run_cli, table_value, tone

TOKEN = "secret-token"


def _ogg(seed: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, tone(300 + 50 * seed, 1.0, seed=seed), 22050, format="OGG", subtype="VORBIS")
    return buf.getvalue()


class FakeFreesound(BaseHTTPRequestHandler):
    """/apiv2/search/text/ with pages of 2 following `next`, and /previews/<id>.ogg."""

    sounds = {
        i: {
            "id": i,
            "name": f"sound {i}",
            "tags": ["dog", f"take{i}"],
            "description": "d",
            "license": "http://creativecommons.org/licenses/by/4.0/",
            "username": "fs_user",
            "duration": 1.0,
        }
        for i in range(1, 6)
    }
    throttled_once = False

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json", headers=()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Token {TOKEN}":
            return self._send(401, b'{"detail": "Invalid token."}')
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/apiv2/search/text/":
            if not FakeFreesound.throttled_once:
                FakeFreesound.throttled_once = True
                return self._send(429, b'{"detail": "slow down"}', headers=[("Retry-After", "0")])
            assert "previews" in q["fields"]
            page, size = int(q.get("page", 1)), 2
            ids = sorted(self.sounds)[(page - 1) * size : page * size]
            host = f"http://{self.headers['Host']}"
            results = [
                {**self.sounds[i], "previews": {"preview-hq-ogg": f"{host}/previews/{i}.ogg"}} for i in ids
            ]
            nxt = (
                f"{host}/apiv2/search/text/?query={q['query']}&fields={q['fields']}&page={page + 1}"
                if page * size < len(self.sounds)
                else None
            )
            body = {"count": len(self.sounds), "next": nxt, "previous": None, "results": results}
            return self._send(200, json.dumps(body).encode())
        if url.path.startswith("/previews/"):
            return self._send(200, _ogg(int(Path(url.path).stem)), "audio/ogg")
        return self._send(404, b'{"detail": "Not found."}')


@pytest.fixture
def api_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeFreesound)
    FakeFreesound.throttled_once = False
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/apiv2"
    server.shutdown()


def test_download_follows_pages_and_resumes(tmp_path: Path, api_url: str) -> None:
    client = FreesoundClient(TOKEN, base_url=api_url)
    assert client.download("dog", tmp_path, max_sounds=3) == 3
    lines = [json.loads(x) for x in (tmp_path / "metadata.jsonl").read_text().splitlines()]
    assert [r["id"] for r in lines] == [1, 2, 3]
    assert lines[0]["file"] == "1.ogg" and (tmp_path / "1.ogg").stat().st_size > 0
    assert client.download("dog", tmp_path, max_sounds=5) == 5  # resumes: only 4 and 5 are new
    assert len((tmp_path / "metadata.jsonl").read_text().splitlines()) == 5


def test_bad_token_is_a_clear_error(tmp_path: Path, api_url: str) -> None:
    with pytest.raises(FreesoundError, match="refused the token"):
        FreesoundClient("wrong", base_url=api_url).download("dog", tmp_path, max_sounds=2)
    with pytest.raises(FreesoundError, match="token is needed"):
        FreesoundClient("  ")


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FreesoundError, match="cannot reach"):
        FreesoundClient(TOKEN, base_url="http://127.0.0.1:9/apiv2").download("x", tmp_path, max_sounds=1)


def test_cli_downloads_and_ingests(tmp_path: Path, data_dir: Path, api_url: str) -> None:
    env = {"AUDIOTAG_FREESOUND_API_URL": api_url}
    proc = run_cli(
        "corpus",
        "freesound",
        "--token",
        TOKEN,
        "--query",
        "dog",
        "--max",
        "4",
        "--ingest",
        "--out",
        str(tmp_path / "fs"),
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "freesound: 4 sounds" in proc.stdout
    assert table_value(proc.stdout, "added") == "4"
    stats = run_cli("stats")
    assert table_value(stats.stdout, "sounds") == "4"
    bad = run_cli("corpus", "freesound", "--token", "wrong", "--max", "1", env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "401" in bad.stderr
