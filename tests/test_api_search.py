"""Text search over HTTP: modes, filters and paging, the query string, autocomplete, and concurrent
searches sharing a pass of the inference thread."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model.bundle import Bundle
from model.bundles import latest_bundle
from tests.api import API, refused


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
    refused(client.get(f"{API}/search", params={"q": "qwzx zzkq"}), 422, "unknown_tags")
    refused(client.get(f"{API}/search", params={"q": "the 42"}), 422, "no_words")
    refused(client.get(f"{API}/search", params={"q": "rain", "mode": "fuzzy"}), 422, "invalid_request")


def test_search_modes_say_how_each_sound_matched(client: TestClient) -> None:
    text = client.get(f"{API}/search", params={"q": "doors", "k": 24, "mode": "text"}).json()
    assert len(text["results"]) == 3 and all("door" in x["tags"] for x in text["results"])
    assert all(x["match"] == {"words": ["door"], "text": 1.0, "sound": 0.0} for x in text["results"])
    sound = client.get(f"{API}/search", params={"q": "door", "k": 24, "mode": "sound"}).json()
    assert len(sound["results"]) == 24 and all(x["match"]["sound"] == 1.0 for x in sound["results"])
    hybrid = client.get(f"{API}/search", params={"q": "door", "k": 24}).json()["results"]
    assert {x["id"] for x in hybrid[:3]} == {x["id"] for x in text["results"]}
    assert all(x["match"]["words"] == [] and x["match"]["text"] == 0.0 for x in hybrid[3:])
    refused(client.get(f"{API}/search"), 422, "invalid_request")
    refused(client.get(f"{API}/search", params={"q": "rain", "k": 0}), 422, "invalid_request")
    refused(client.get(f"{API}/search", params={"q": "rain", "min_duration": "NaN"}), 422, "invalid_request")


def test_search_query_string_is_one_model_documented_field_by_field(client: TestClient) -> None:
    """/search reads its query string as one model (app/api/query.py): each field is still an OpenAPI
    parameter with its constraints, and a bad value is answered 422 naming the field, as FastAPI's
    own parameters were."""
    operation = client.get(f"{API}/openapi.json").json()["paths"][f"{API}/search"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert list(params) == ["q", "k", "page", "license", "min_duration", "max_duration", "tag", "mode"]
    assert all(p["in"] == "query" for p in params.values()) and params["q"]["required"]
    assert not any(p["required"] for name, p in params.items() if name != "q")
    assert (params["q"]["schema"]["minLength"], params["q"]["schema"]["maxLength"]) == (1, 500)
    assert (params["k"]["schema"]["minimum"], params["k"]["schema"]["maximum"]) == (1, 100)
    assert params["mode"]["schema"]["enum"] == ["hybrid", "text", "sound"] and params["tag"]["description"]
    for query, message in [
        ({}, "q: Field required"),
        ({"q": "rain", "k": 101}, "k: Input should be less than or equal to 100"),
        ({"q": "rain", "page": "two"}, "page: Input should be a valid integer"),
        ({"q": "rain", "max_duration": -1}, "max_duration: Input should be greater than or equal to 0"),
        ({"q": "rain", "mode": "TEXT"}, "mode: Input should be 'hybrid', 'text' or 'sound'"),
    ]:
        body = refused(client.get(f"{API}/search", params=query), 422, "invalid_request")
        assert body["error"]["message"].startswith(message), (query, body)
    repeated = client.get(f"{API}/search?q=rain&k=2&k=3&unknown=1")  # the last value; unknown names ignored
    assert repeated.status_code == 200 and len(repeated.json()["results"]) == 3


def test_autocomplete(client: TestClient) -> None:
    words = client.get(f"{API}/tags", params={"prefix": "ra"}).json()
    assert words == ["rain"]
    assert len(client.get(f"{API}/tags", params={"limit": 3}).json()) == 3


def test_concurrent_searches_share_a_batch_and_answer_as_alone(data: Path) -> None:
    """Searches that arrive together take one pass of the inference thread and one tag-encoder call
    for their words; each answer is the one it gets alone, and one unreadable query fails alone."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from app.api.batcher import Batcher
    from app.api.engine import SearchAsk, answer_search, answer_searches
    from app.api.errors import ApiError
    from index.catalogue.db import Catalogue
    from index.filters import Filters
    from index.search import SearchIndex

    cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
    index = SearchIndex.open_current(data / "indices", Bundle(latest_bundle(data / "bundles"), "cpu"), cat)
    words = index.tag_words[:6]
    asks = [SearchAsk(q, 5, 1, Filters(), mode) for q in words for mode in ("hybrid", "sound")]
    asks.insert(3, SearchAsk("the 42", 5, 1, Filters(), "hybrid"))  # no word left: 422, alone
    sizes: list[int] = []
    encoded: list[int] = []
    real_embed = index.bundle.embed_tag_sets
    index.bundle.embed_tag_sets = lambda sets: encoded.append(len(sets)) or real_embed(sets)

    async def run() -> list:
        batcher = Batcher(ThreadPoolExecutor(1), answer_searches, 64, 0.05, on_batch=sizes.append)
        return await asyncio.gather(*(batcher.submit(index, a) for a in asks), return_exceptions=True)

    try:
        together = asyncio.run(run())
    finally:
        del index.bundle.embed_tag_sets
    assert sizes == [len(asks)] and encoded == [len(words)]  # one pass, one encoder call, each word set once
    assert isinstance(together[3], ApiError) and together[3].status == 422
    for ask, answer in zip(asks, together, strict=True):
        if ask.q != "the 42":
            alone = answer_search(index, ask)
            assert [r.id for r in answer.results] == [r.id for r in alone.results], ask
            assert [r.score for r in answer.results] == pytest.approx(
                [r.score for r in alone.results], abs=1e-4
            )
