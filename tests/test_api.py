"""The HTTP API through FastAPI's TestClient: every endpoint, and bad input of every kind."""

from __future__ import annotations

import contextlib
import io
import json
import re
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
from index.catalogue.db import Catalogue
from index.indexer import Corpus, build_version
from index.scoring import DEFAULT_TAG_METHOD, TAG_METHODS
from model.bundle import Bundle
from model.bundles import latest_bundle
from model.cache import FeatureCache
from tests.conftest import tone

API = "/api/v1"
TOKEN = "s3cret-token"


def _wav(wave: np.ndarray, sr: int = 22050, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wave, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.fixture(scope="module")
def data(trained_data_dir: Path, tmp_path_factory) -> Path:
    """A copy of the trained data dir with a published index."""
    data = Path(shutil.copytree(trained_data_dir, tmp_path_factory.mktemp("api") / "data"))
    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    bundle = Bundle(latest_bundle(data / "bundles"), "cpu")
    version, _ = build_version(bundle, Corpus(cat, FeatureCache(data / "cache/features")), data / "indices")
    versions.publish(data / "indices", version)
    cat.close()
    return data


@pytest.fixture(scope="module")
def client(data: Path):
    settings = Settings(data_dir=data, api_token=TOKEN, upload_max_bytes=2_000_000, upload_max_duration_s=30)
    with TestClient(create_app(settings)) as c:
        yield c


def _documented_codes(method: str, path: str) -> set[str] | None:
    """The status codes the OpenAPI schema lists for the operation a request hit; None for no route."""
    for template, operations in _OPENAPI["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) and method.lower() in operations:
            return set(operations[method.lower()]["responses"])
    return None


_OPENAPI = create_app(Settings(data_dir=Path("unused"))).openapi()


def _error(response, status: int, code: str) -> dict:
    """The error body, after checking its status, code, and that the schema documents the status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code and body["error"]["message"]
    documented = _documented_codes(response.request.method, response.request.url.path)
    assert documented is None or str(status) in documented, (response.request.url.path, status, documented)
    return body


def test_health_and_ready(client: TestClient) -> None:
    assert client.get(f"{API}/health").json() == {"status": "ok"}
    ready = client.get(f"{API}/ready").json()
    assert ready["ready"] and ready["sounds"] == 24 and ready["model_version"].startswith("w2v-128-4h")


def test_search_with_unknown_words_filters_and_pages(client: TestClient) -> None:
    r = client.get(f"{API}/search", params={"q": "Rain, qwzx", "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    # hybrid (the default): the words part reads qwzx too, the sound part leaves it out
    assert body["query"] == {"words": ["rain", "qwzx"], "unknown": ["qwzx"]} and len(body["results"]) == 5
    first = body["results"][0]
    assert {"id", "name", "tags", "license", "duration", "score", "audio_url", "match"} <= set(first)
    assert body["mode"] == "hybrid" and first["match"]["words"] == ["rain"] and first["match"]["text"] > 0.5
    page2 = client.get(f"{API}/search", params={"q": "rain", "k": 5, "page": 2}).json()["results"]
    assert not {x["id"] for x in page2} & {x["id"] for x in body["results"]}
    door = client.get(f"{API}/search", params={"q": "rain", "k": 24, "tag": "door"}).json()["results"]
    assert len(door) == 3 and all("door" in x["tags"] for x in door)
    assert client.get(f"{API}/search", params={"q": "rain", "license": "gpl"}).json()["results"] == []
    _error(client.get(f"{API}/search", params={"q": "qwzx zzkq"}), 422, "unknown_tags")
    _error(client.get(f"{API}/search", params={"q": "the 42"}), 422, "no_words")
    _error(client.get(f"{API}/search", params={"q": "rain", "mode": "fuzzy"}), 422, "invalid_request")


def test_search_modes_say_how_each_sound_matched(client: TestClient) -> None:
    text = client.get(f"{API}/search", params={"q": "doors", "k": 24, "mode": "text"}).json()
    assert len(text["results"]) == 3 and all("door" in x["tags"] for x in text["results"])
    assert all(x["match"] == {"words": ["door"], "text": 1.0, "sound": 0.0} for x in text["results"])
    sound = client.get(f"{API}/search", params={"q": "door", "k": 24, "mode": "sound"}).json()
    assert len(sound["results"]) == 24 and all(x["match"]["sound"] == 1.0 for x in sound["results"])
    hybrid = client.get(f"{API}/search", params={"q": "door", "k": 24}).json()["results"]
    assert {x["id"] for x in hybrid[:3]} == {x["id"] for x in text["results"]}
    assert all(x["match"]["words"] == [] and x["match"]["text"] == 0.0 for x in hybrid[3:])
    _error(client.get(f"{API}/search"), 422, "invalid_request")
    _error(client.get(f"{API}/search", params={"q": "rain", "k": 0}), 422, "invalid_request")
    _error(client.get(f"{API}/search", params={"q": "rain", "min_duration": "NaN"}), 422, "invalid_request")


def test_autocomplete(client: TestClient) -> None:
    words = client.get(f"{API}/tags", params={"prefix": "ra"}).json()
    assert words == ["rain"]
    assert len(client.get(f"{API}/tags", params={"limit": 3}).json()) == 3


def test_upload_endpoints(client: TestClient) -> None:
    clip = _wav(tone(420.0, 1.5, sr=44100, channels=2), 44100, "FLAC")
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
    _error(
        client.post(f"{API}/classify", files={"file": ("a.flac", clip)}, data={"labels": "qwzx"}),
        422,
        "unknown_labels",
    )
    _error(client.post(f"{API}/classify", files={"file": ("a.flac", clip)}), 422, "invalid_request")


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"", 422, "empty"),
        (b"hello, this is not audio at all" * 10, 415, "not_audio"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt junk", 422, "undecodable"),
        (_wav(np.zeros(22050, np.float32)), 422, "silent"),
        (_wav(np.full(22050, np.nan, np.float32), subtype="FLOAT"), 422, "not_finite"),
        (_wav(tone(300.0, 40.0)), 422, "too_long"),
        (b"\x00" * 2_100_000, 413, "too_large"),
    ],
)
def test_bad_uploads_get_the_right_status(client: TestClient, payload: bytes, status: int, code: str) -> None:
    for path in ("/tags", "/similar"):
        _error(client.post(f"{API}{path}", files={"file": ("x.wav", payload)}), status, code)


def test_missing_file_field(client: TestClient) -> None:
    _error(client.post(f"{API}/tags"), 422, "missing_file")


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
            _error(
                client.post(f"{API}{path}", content=body, headers={"Content-Type": content_type}),
                400,
                "bad_request",
            )
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    _error(client.post(f"{API}/jobs/reindex", content=b"{not json", headers=auth), 422, "invalid_request")


def test_sounds_and_their_audio(client: TestClient) -> None:
    sound = client.get(f"{API}/sounds/1").json()
    assert sound["id"] == 1 and sound["audio_url"] == f"{API}/sounds/1/audio"
    audio = client.get(f"{API}/sounds/1/audio")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert sf.info(io.BytesIO(audio.content)).duration > 0.5
    similar = client.get(f"{API}/sounds/1/similar", params={"k": 3}).json()["results"]
    assert len(similar) == 3 and 1 not in {x["id"] for x in similar}
    _error(client.get(f"{API}/sounds/9999"), 404, "not_found")
    _error(client.get(f"{API}/sounds/9999/audio"), 404, "not_found")
    _error(client.get(f"{API}/sounds/abc"), 422, "invalid_request")
    _error(client.get(f"{API}/sounds/..%2F..%2Fetc%2Fpasswd/audio"), 404, "not_found")
    _error(client.get(f"{API}/nowhere"), 404, "not_found")


def _png_size(body: bytes) -> tuple[int, int]:
    from PIL import Image

    image = Image.open(io.BytesIO(body))
    image.load()  # a broken PNG raises here
    return image.size


def test_audio_answers_range_requests_for_seeking(client: TestClient) -> None:
    whole = client.get(f"{API}/sounds/1/audio")
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"{API}/sounds/1/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.headers["content-type"] == "audio/wav"
    beyond = client.get(f"{API}/sounds/1/audio", headers={"Range": f"bytes={len(whole.content) + 10}-"})
    assert beyond.status_code == 416 and "416" in _documented_codes("GET", "/api/v1/sounds/1/audio")


def test_spectrograms_of_sounds_and_of_uploads(client: TestClient) -> None:
    first = client.get(f"{API}/sounds/2/spectrogram.png")
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    width, height = _png_size(first.content)
    assert 0 < width <= 320 and height == 96
    etag = first.headers["etag"]
    again = client.get(f"{API}/sounds/2/spectrogram.png", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    assert client.get(f"{API}/sounds/2/spectrogram.png").content == first.content  # kept, drawn once
    assert client.get(f"{API}/sounds/3/spectrogram.png").headers["etag"] != etag
    _error(client.get(f"{API}/sounds/9999/spectrogram.png"), 404, "not_found")
    clip = client.post(f"{API}/spectrogram.png", files={"file": ("a.wav", _wav(tone(500.0, 2.0)))})
    assert clip.status_code == 200 and _png_size(clip.content)[1] == 96
    _error(
        client.post(f"{API}/spectrogram.png", files={"file": ("a.wav", b"not audio" * 20)}), 415, "not_audio"
    )


def test_scores_come_with_a_relevance_people_can_read(client: TestClient) -> None:
    for mode in ("hybrid", "text", "sound"):
        results = client.get(f"{API}/search", params={"q": "door rain", "k": 20, "mode": mode}).json()[
            "results"
        ]
        assert results and all(0 <= x["relevance"] <= 100 for x in results), mode
        if mode != "text":  # BM25 orders text results; relevance there is the share of words held
            assert [x["relevance"] for x in results] == sorted(
                (x["relevance"] for x in results), reverse=True
            )
    text = client.get(f"{API}/search", params={"q": "door qwzx", "mode": "text"}).json()["results"]
    assert all(x["relevance"] == 50 for x in text)  # one of the query's two words
    similar = client.get(f"{API}/sounds/1/similar", params={"k": 3}).json()["results"]
    assert all(x["relevance"] == round(100 * max(0.0, min(1.0, x["score"]))) for x in similar)


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
    _error(client.post(f"{API}/jobs/reindex"), 401, "unauthorized")
    _error(client.post(f"{API}/jobs/reindex", headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
    bad = client.post(
        f"{API}/jobs/reindex", json={"mode": "nonsense"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    _error(bad, 422, "invalid_request")
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
    _error(client.get(f"{API}/jobs/999999"), 404, "not_found")


def test_admin_endpoints_are_off_without_a_token(data: Path) -> None:
    with TestClient(create_app(Settings(data_dir=data))) as c:
        _error(c.post(f"{API}/jobs/reindex", headers={"Authorization": "Bearer x"}), 403, "disabled")


def test_not_ready_without_an_index(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "empty"))) as c:
        r = c.get(f"{API}/ready")
        assert r.status_code == 503 and "no index is published" in r.json()["reason"]
        _error(c.get(f"{API}/search", params={"q": "rain"}), 503, "not_ready")


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
        _error(c.get(f"{API}/search", params={"q": "tone"}), 503, "not_ready")
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
        _error(c.get(f"{API}/tags"), 401, "unauthorized")
        assert c.get(f"{API}/tags", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert c.get(f"{API}/ready").status_code == 200


def test_concurrent_clips_share_a_batch(data: Path) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from app.api.batcher import Batcher
    from model.features import log_mel

    bundle = Bundle(latest_bundle(data / "bundles"), "cpu")
    logmels = [log_mel(tone(200.0 + 150 * i, 1.0 + 0.2 * i)) for i in range(8)]
    sizes: list[int] = []

    async def run() -> list:
        batcher = Batcher(ThreadPoolExecutor(1), max_batch=5, max_wait_s=0.05, on_batch=sizes.append)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.embed(bundle, m) for m in logmels))
        finally:
            await batcher.stop()

    results = asyncio.run(run())
    assert sizes == [5, 3]
    z, phi = bundle.embed_logmels(logmels)
    assert all(
        np.allclose(r[0], z[i], atol=1e-4) and np.allclose(r[1], phi[i], atol=1e-4)
        for i, r in enumerate(results)
    )


@pytest.mark.parametrize("question", ["search", "suggest_tags"])
def test_health_answers_while_a_query_is_held_in_the_engine(data: Path, question: str) -> None:
    """An ordering, not a time: a query blocked inside the engine does not hold the event loop, and
    the model and index work of both kinds of query runs on the engine's inference thread."""
    import threading

    with TestClient(create_app(Settings(data_dir=data))) as c:
        index = c.app.state.audiotag.index
        entered, release, threads = threading.Event(), threading.Event(), []
        real, real_encode = getattr(index, question), index.bundle.embed_logmels

        def held(*args, **kwargs):
            threads.append(threading.current_thread().name)
            entered.set()
            assert release.wait(60)
            return real(*args, **kwargs)

        def encode(*args, **kwargs):
            threads.append(threading.current_thread().name)
            return real_encode(*args, **kwargs)

        if question == "search":
            ask = lambda: c.get(f"{API}/search", params={"q": index.tag_words[0]})  # noqa: E731
        else:
            ask = lambda: c.post(f"{API}/tags", files={"file": ("a.wav", _wav(tone(440.0, 1.0)))})  # noqa: E731
        setattr(index, question, held)
        index.bundle.embed_logmels = encode
        answers: list = []
        asker = threading.Thread(target=lambda: answers.append(ask()))
        asker.start()
        try:
            assert entered.wait(60)
            health: list = []
            checker = threading.Thread(
                target=lambda: health.extend([c.get(f"{API}/health"), c.get(f"{API}/ready")])
            )
            checker.start()
            checker.join(20)  # a held event loop never answers: the test fails here, then releases
            assert [r.status_code for r in health] == [200, 200] and health[1].json()["ready"] is True
            assert answers == []  # /health and /ready answered while the query was held
        finally:
            release.set()
            asker.join(60)
            delattr(index, question)
            del index.bundle.embed_logmels
        assert answers[0].status_code == 200, answers[0].text
        assert threads and all(name.startswith("inference") for name in threads), threads


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
            _error(c.get(f"{API}/tags", headers={"Authorization": given}), 401, "unauthorized")
        assert c.get(f"{API}/tags", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
        _error(c.post(f"{API}/jobs/reindex", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
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


def test_tags_people_confirm_reach_the_catalogue_filters_and_training(data: Path, tmp_path: Path) -> None:
    from index.catalogue.queries import live_sounds_with_words
    from trainer.data import load_training_data

    copy = Path(shutil.copytree(data, tmp_path / "data", symlinks=True))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(Settings(data_dir=copy, api_token=TOKEN))) as c:
        sound = c.get(f"{API}/sounds/1").json()
        assert sound["verdicts"] == [] and "door" not in sound["tags"]
        offered = c.get(f"{API}/sounds/1/tags", params={"k": 50}).json()["tags"]
        assert offered and not {t["tag"] for t in offered} & set(sound["tags"])  # never its own tags
        refused = offered[0]["tag"]
        body = {"confirm": ["Door"], "reject": [refused], "by": "ana"}
        _error(c.post(f"{API}/sounds/1/tags", json=body), 401, "unauthorized")
        answer = c.post(f"{API}/sounds/1/tags", json=body, headers=auth)
        assert answer.status_code == 200, answer.text
        after = answer.json()
        assert "door" in after["tags"] and after["reindex_job"] is not None
        assert {(v["tag"], v["verdict"], v["by"]) for v in after["verdicts"]} == {
            ("door", "confirmed", "ana"),
            (refused, "rejected", "ana"),
        }
        assert c.get(f"{API}/sounds/1").json()["tags"] == after["tags"]  # shows on the sound
        again = c.get(f"{API}/sounds/1/tags", params={"k": 50}).json()["tags"]
        assert refused not in {t["tag"] for t in again} and "door" not in {t["tag"] for t in again}
        filtered = c.get(
            f"{API}/search", params={"q": "door", "tag": "door", "k": 50, "mode": "sound"}
        ).json()
        assert 1 in {x["id"] for x in filtered["results"]}  # the tag filter reads it at once
        deadline = time.time() + 60
        while c.get(f"{API}/jobs/{after['reindex_job']}").json()["state"] != "done":
            assert time.time() < deadline, "the index update never finished"
            time.sleep(0.2)
        c.app.state.audiotag.refresh()
        text = c.get(f"{API}/search", params={"q": "door", "mode": "text", "k": 50}).json()["results"]
        assert 1 in {x["id"] for x in text}  # text search, after the update the verdict queued
        _error(c.post(f"{API}/sounds/1/tags", json={}, headers=auth), 422, "no_tags")
        _error(c.post(f"{API}/sounds/1/tags", json={"confirm": ["a"], "reject": ["a"]}, headers=auth), 422,
               "conflicting_tags")  # fmt: skip
        _error(c.post(f"{API}/sounds/1/tags", json={"confirm": ["42 !"]}, headers=auth), 422, "no_words")
        _error(c.post(f"{API}/sounds/1/tags", json={"confirm": "dog"}, headers=auth), 422, "invalid_request")
        _error(c.post(f"{API}/sounds/9999/tags", json={"confirm": ["dog"]}, headers=auth), 404, "not_found")
        _error(c.get(f"{API}/sounds/9999/tags"), 404, "not_found")
    cat = Catalogue(f"sqlite:///{copy / 'catalogue.db'}")
    first_uid, _, words = live_sounds_with_words(cat)[0]  # in id order: sound 1
    assert "door" in words
    trained = load_training_data(cat, FeatureCache(copy / "cache/features"), val_split="hash")
    clips = trained.train if first_uid in trained.train.uids else trained.val
    assert "door" in clips.tags[clips.uids.index(first_uid)]  # the next training run's tag sets
    cat.close()


def test_an_upload_offered_for_the_catalogue_becomes_a_sound(data: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(data, tmp_path / "data", symlinks=True))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    clip = _wav(tone(1234.0, 1.3, seed=77))
    form = {"tags": "Whistle, high", "name": "my whistle", "by": "ana"}
    with TestClient(create_app(Settings(data_dir=copy, api_token=TOKEN))) as c:
        _error(c.post(f"{API}/sounds", files={"file": ("w.wav", clip)}, data=form), 401, "unauthorized")
        added = c.post(f"{API}/sounds", files={"file": ("w.wav", clip)}, data=form, headers=auth)
        assert added.status_code == 201, added.text
        body = added.json()
        assert body["tags"] == ["high", "whistle"] and body["reindex_job"] is not None
        assert {(v["tag"], v["verdict"], v["by"]) for v in body["verdicts"]} == {
            ("high", "confirmed", "ana"),
            ("whistle", "confirmed", "ana"),
        }
        sound = c.get(f"{API}/sounds/{body['id']}").json()
        assert sound["name"] == "my whistle" and sf.info(io.BytesIO(c.get(sound["audio_url"]).content))

        def offer(audio: bytes, fields: dict = form):
            return c.post(f"{API}/sounds", files={"file": ("x.wav", audio)}, data=fields, headers=auth)

        _error(offer(clip), 409, "duplicate")
        _error(offer(c.get(f"{API}/sounds/1/audio").content), 409, "duplicate")  # a catalogue sound's audio
        _error(offer(b"no audio" * 30), 415, "not_audio")
        _error(offer(clip, {"tags": " , 42"}), 422, "no_words")
        deadline = time.time() + 60
        while c.get(f"{API}/jobs/{body['reindex_job']}").json()["state"] != "done":
            assert time.time() < deadline, "the index update never finished"
            time.sleep(0.2)
        c.app.state.audiotag.refresh()
        found = c.get(f"{API}/search", params={"q": "whistle", "mode": "text"}).json()["results"]
        assert [x["id"] for x in found] == [body["id"]]
        assert c.get(f"{API}/sounds/{body['id']}/similar", params={"k": 3}).status_code == 200  # indexed
    assert len(list((copy / "uploads").iterdir())) == 1  # refused uploads leave no file behind
