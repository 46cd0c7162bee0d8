"""The HTTP API through FastAPI's TestClient: every endpoint, and bad input of every kind."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from app.api import state
from app.api.main import create_app
from app.settings import Settings
from index import versions
from index.scoring import DEFAULT_TAG_METHOD, TAG_METHODS
from model.bundle import Bundle
from model.bundles import latest_bundle
from tests.api import API, TOKEN, refused, wav_bytes
from tests.conftest import tone


def test_health_and_ready(client: TestClient) -> None:
    assert client.get(f"{API}/health").json() == {"status": "ok"}
    ready = client.get(f"{API}/ready").json()
    assert ready["ready"] and ready["sounds"] == 24 and ready["model_version"].startswith("w2v-128-4h")


def test_upload_endpoints(client: TestClient) -> None:
    clip = wav_bytes(tone(420.0, 1.5, sr=44100, channels=2), 44100, "FLAC")
    tags = client.post(f"{API}/tags", files={"file": ("a.flac", clip)}, params={"k": 3})
    assert tags.status_code == 200, tags.text
    assert tags.json()["method"] == DEFAULT_TAG_METHOD and len(tags.json()["tags"]) == 3
    by_method = {
        m: client.post(f"{API}/tags", files={"file": ("a.flac", clip)}, params={"method": m, "k": 20}).json()
        for m in TAG_METHODS
    }
    vocabulary = 9  # the tiny corpus's words
    assert len(by_method["embedding"]["tags"]) == vocabulary  # every tag has a softmax share
    assert len(by_method["fusion"]["tags"]) == vocabulary
    assert 1 <= len(by_method["neighbours"]["tags"]) <= vocabulary  # only the neighbours' tags
    for body in by_method.values():
        scores = [t["score"] for t in body["tags"]]
        assert scores == sorted(scores, reverse=True) and all(0 < x <= 1 for x in scores)
    assert (
        client.post(f"{API}/tags", files={"file": ("a.flac", clip)}, params={"method": "x"}).status_code
        == 422
    )
    similar = client.post(f"{API}/similar", files={"file": ("a.flac", clip)}, params={"k": 4}).json()
    assert len(similar["results"]) == 4
    scores = client.post(
        f"{API}/classify", files={"file": ("a.flac", clip)}, data={"labels": ["rain, door", "qwzx"]}
    )
    assert scores.status_code == 200, scores.text
    body = scores.json()
    assert {x["label"] for x in body["labels"]} == {"rain", "door"} and body["unscored"] == ["qwzx"]
    assert abs(sum(x["score"] for x in body["labels"]) - 1.0) < 1e-3
    refused(
        client.post(f"{API}/classify", files={"file": ("a.flac", clip)}, data={"labels": "qwzx"}),
        422,
        "unknown_labels",
    )
    refused(client.post(f"{API}/classify", files={"file": ("a.flac", clip)}), 422, "invalid_request")


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"", 422, "empty"),
        (b"hello, this is not audio at all" * 10, 415, "not_audio"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt junk", 422, "undecodable"),
        (wav_bytes(np.zeros(22050, np.float32)), 422, "silent"),
        (wav_bytes(np.full(22050, np.nan, np.float32), subtype="FLOAT"), 422, "not_finite"),
        (wav_bytes(tone(300.0, 40.0)), 422, "too_long"),
        (b"\x00" * 2_100_000, 413, "too_large"),
    ],
)
def test_bad_uploads_get_the_right_status(client: TestClient, payload: bytes, status: int, code: str) -> None:
    for path in ("/tags", "/similar"):
        refused(client.post(f"{API}{path}", files={"file": ("x.wav", payload)}), status, code)


def test_missing_file_field(client: TestClient) -> None:
    refused(client.post(f"{API}/tags"), 422, "missing_file")


def test_broken_multipart_and_bad_json_are_documented_errors(client: TestClient) -> None:
    for content_type, body in [
        ("multipart/form-data", b"no boundary"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nbroken header line\r\n\r\ndata\r\n--xyz--\r\n"),
        (
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\nContent-Disposition: form-data\r\n\r\nx\r\n--xyz--\r\n",
        ),
    ]:
        for path in ("/tags", "/similar", "/classify"):
            refused(
                client.post(f"{API}{path}", content=body, headers={"Content-Type": content_type}),
                400,
                "bad_request",
            )
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    refused(client.post(f"{API}/jobs/reindex", content=b"{not json", headers=auth), 422, "invalid_request")


def test_sounds_and_their_audio(client: TestClient) -> None:
    sound = client.get(f"{API}/sounds/1").json()
    assert sound["id"] == 1 and sound["audio_url"] == f"{API}/sounds/1/audio"
    audio = client.get(f"{API}/sounds/1/audio")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert sf.info(io.BytesIO(audio.content)).duration > 0.5
    similar = client.get(f"{API}/sounds/1/similar", params={"k": 3}).json()["results"]
    assert len(similar) == 3 and 1 not in {x["id"] for x in similar}
    refused(client.get(f"{API}/sounds/9999"), 404, "not_found")
    refused(client.get(f"{API}/sounds/9999/audio"), 404, "not_found")
    refused(client.get(f"{API}/sounds/abc"), 422, "invalid_request")
    refused(client.get(f"{API}/sounds/..%2F..%2Fetc%2Fpasswd/audio"), 404, "not_found")
    refused(client.get(f"{API}/nowhere"), 404, "not_found")


def test_reindex_job_needs_the_token_and_swaps_the_index(
    client: TestClient, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered: list[bool] = []
    real = state.batch_memory

    @contextlib.contextmanager
    def recorded():
        entered.append(True)
        with real():
            yield

    monkeypatch.setattr(state, "batch_memory", recorded)
    refused(client.post(f"{API}/jobs/reindex"), 401, "unauthorized")
    wrong = {"Authorization": "Bearer wrong"}
    refused(client.post(f"{API}/jobs/reindex", headers=wrong), 401, "unauthorized")
    bad = client.post(
        f"{API}/jobs/reindex", json={"mode": "nonsense"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    refused(bad, 422, "invalid_request")
    before = client.get(f"{API}/ready").json()["index_version"]
    bundle = client.app.state.audiotag.index.bundle
    r = client.post(
        f"{API}/jobs/reindex", json={"mode": "build"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    deadline = time.time() + 120
    while time.time() < deadline and client.get(f"{API}/jobs/{job_id}").json()["state"] in (
        "queued",
        "running",
    ):
        time.sleep(0.2)
    job = client.get(f"{API}/jobs/{job_id}").json()
    assert job["state"] == "done", job
    assert client.get(f"{API}/ready").json()["index_version"] == job["result"]["version"] != before
    assert client.app.state.audiotag.index.bundle is bundle  # the same model: not loaded again
    assert entered  # the job ran under the batch memory policy (model/memory.py)
    assert any(j["id"] == job_id for j in client.get(f"{API}/jobs").json())
    refused(client.get(f"{API}/jobs/999999"), 404, "not_found")


def test_admin_endpoints_are_off_without_a_token(data: Path) -> None:
    with TestClient(create_app(Settings(data_dir=data))) as c:
        refused(c.post(f"{API}/jobs/reindex", headers={"Authorization": "Bearer x"}), 403, "disabled")


def test_not_ready_without_an_index(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "empty"))) as c:
        r = c.get(f"{API}/ready")
        assert r.status_code == 503 and "no index is published" in r.json()["reason"]
        refused(c.get(f"{API}/search", params={"q": "rain"}), 503, "not_ready")


def test_a_process_serves_the_first_publish_before_its_watcher_ticks(
    data: Path, tmp_path: Path, monkeypatch
) -> None:
    """With several server processes, /ready may already answer from one that serves the first
    publish: the others must not answer 503 until their next look at `indices/current`."""
    monkeypatch.setattr("app.api.main.REFRESH_S", 3600.0)
    copy = Path(shutil.copytree(data, tmp_path / "data", symlinks=True))
    served = versions.current_version(copy / "indices")
    (copy / "indices" / versions.CURRENT).unlink()
    with TestClient(create_app(Settings(data_dir=copy))) as c:
        refused(c.get(f"{API}/search", params={"q": "tone"}), 503, "not_ready")
        versions.publish(copy / "indices", served)
        assert c.get(f"{API}/search", params={"q": "tone"}).status_code == 200
        assert c.get(f"{API}/ready").json()["index_version"] == served


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    timed = client.get(f"{API}/sounds/2")
    assert float(timed.headers["server-timing"].removeprefix("app;dur=")) > 0
    text = client.get("/metrics").text
    assert 'route="/sounds/{sound_id}",status="200"' in text
    assert "audiotag_request_seconds_bucket" in text and "audiotag_index_sounds 24.0" in text
    assert 'audiotag_index_info{model="w2v-128-4h' in text


def test_rate_limit_answers_429_with_retry_after(data: Path) -> None:
    with TestClient(create_app(Settings(data_dir=data, rate_limit_per_minute=3))) as c:
        codes = [c.get(f"{API}/tags").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get(f"{API}/tags")
        assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
        assert c.get(f"{API}/health").status_code == 200  # health is never limited


def test_read_endpoints_can_require_the_token(data: Path) -> None:
    with TestClient(create_app(Settings(data_dir=data, api_token=TOKEN, require_token_for_reads=True))) as c:
        refused(c.get(f"{API}/tags"), 401, "unauthorized")
        assert c.get(f"{API}/tags", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert c.get(f"{API}/ready").status_code == 200


def test_concurrent_clips_share_a_batch(data: Path) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from app.api.batcher import Batcher
    from app.api.engine import ClipAsk, answer_clips
    from model.features import log_mel

    bundle = Bundle(latest_bundle(data / "bundles"), "cpu")
    logmels = [log_mel(tone(200.0 + 150 * i, 1.0 + 0.2 * i)) for i in range(8)]
    sizes: list[int] = []

    async def run() -> list:
        batcher = Batcher(ThreadPoolExecutor(1), answer_clips, 5, 0.05, on_batch=sizes.append)
        asks = [ClipAsk(m, lambda z, phi: (z, phi)) for m in logmels]
        asks[2] = ClipAsk(logmels[2], lambda z, phi: 1 / 0)  # one answer fails: only its request
        return await asyncio.gather(*(batcher.submit(bundle, a) for a in asks), return_exceptions=True)

    results = asyncio.run(run())
    assert sizes == [5, 3]
    assert isinstance(results[2], ZeroDivisionError)
    z, phi = bundle.embed_logmels(logmels)
    assert all(
        np.allclose(r[0], z[i], atol=1e-4) and np.allclose(r[1], phi[i], atol=1e-4)
        for i, r in enumerate(results)
        if i != 2
    )


def test_a_broken_publish_keeps_the_old_index_and_is_reported(data: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(data, tmp_path / "data", symlinks=True))
    with TestClient(create_app(Settings(data_dir=copy))) as c:
        ready = c.get(f"{API}/ready").json()
        served = ready.get("index_version") or pytest.fail(str(ready))
        broken = versions.new_version_id()
        folder = Path(shutil.copytree(copy / "indices" / served, copy / "indices" / broken))
        manifest = versions.read_manifest(folder)
        (folder / versions.MANIFEST).write_text(json.dumps({**manifest, "version": broken}))
        (folder / versions.AUDIO).write_bytes(b"not a faiss index")
        versions.publish(copy / "indices", broken)
        assert c.app.state.audiotag.refresh() is False
        ready = c.get(f"{API}/ready").json()
        assert ready["index_version"] == served and broken in ready["problem"]
        assert "audiotag_index_refresh_failures_total 1.0" in c.get("/metrics").text
        assert c.get(f"{API}/search", params={"q": "tone"}).status_code in (200, 422)


def test_token_checks_compare_in_constant_time(data: Path, monkeypatch) -> None:
    import hmac

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    with TestClient(create_app(Settings(data_dir=data, api_token=TOKEN, require_token_for_reads=True))) as c:
        for given in ("Bearer s3cret", "Bearer s3cret-tokenX", "bearer wrong", b"Bearer \xfc\xe9"):
            refused(c.get(f"{API}/tags", headers={"Authorization": given}), 401, "unauthorized")
        assert c.get(f"{API}/tags", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
        refused(c.post(f"{API}/jobs/reindex", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    assert len(calls) >= 6 and all(b == TOKEN.encode() for _, b in calls)


def test_the_rate_limiter_forgets_old_clients_but_still_limits() -> None:
    from app.api.observe import RateLimiter

    limiter = RateLimiter(per_minute=2, max_clients=100)
    for i in range(10_000):
        limiter.wait_for(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter.buckets) == 100
    assert [limiter.wait_for("hot") > 0 for _ in range(3)] == [False, False, True]


def test_routes_take_typed_dependencies_that_tests_can_override(data: Path) -> None:
    from app.api.deps import get_index

    app = create_app(Settings(data_dir=data))
    with TestClient(app) as c:
        assert c.get(f"{API}/tags", params={"limit": 2}).status_code == 200
        index = c.app.state.audiotag.index

        class FewTags:  # the served index, with a vocabulary of two words
            tag_words = ["rain", "door"]

            def __getattr__(self, name):
                return getattr(index, name)

        app.dependency_overrides[get_index] = lambda: FewTags()
        assert c.get(f"{API}/tags").json() == ["rain", "door"]
        app.dependency_overrides.clear()
        assert len(c.get(f"{API}/tags").json()) > 2
