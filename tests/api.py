"""What the API tests share: a published index over the trained test data, a client, and checks
that an error answer is the documented one."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings
from tests.conftest import indexed_copy

API = "/api/v1"
TOKEN = "s3cret-token"


def wav_bytes(wave: np.ndarray, sr: int = 22050, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wave, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def published_copy(trained_data_dir: Path, tmp_path_factory) -> Path:
    """A copy of the trained data dir with a published index."""
    return indexed_copy(trained_data_dir, tmp_path_factory.mktemp("api"))


def api_client(data: Path) -> TestClient:
    """A client of the app over `data` with the write token and small upload limits (use it in `with`)."""
    settings = Settings(data_dir=data, api_token=TOKEN, upload_max_bytes=2_000_000, upload_max_duration_s=30)
    return TestClient(create_app(settings))


def documented_codes(method: str, path: str) -> set[str] | None:
    """The status codes the OpenAPI schema lists for the operation a request hit; None for no route."""
    for template, operations in _OPENAPI["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) and method.lower() in operations:
            return set(operations[method.lower()]["responses"])
    return None


_OPENAPI = create_app(Settings(data_dir=Path("unused"))).openapi()


def refused(response, status: int, code: str) -> dict:
    """The error body, after checking its status, code, and that the schema documents the status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code and body["error"]["message"]
    documented = documented_codes(response.request.method, response.request.url.path)
    assert documented is None or str(status) in documented, (response.request.url.path, status, documented)
    return body


# The module-scoped data dir and client the API test modules share (a pytest plugin: tests/conftest.py).
@pytest.fixture(scope="module")
def data(trained_data_dir: Path, tmp_path_factory) -> Path:
    """A copy of the trained data dir with a published index."""
    return published_copy(trained_data_dir, tmp_path_factory)


@pytest.fixture(scope="module")
def client(data: Path):
    with api_client(data) as c:
        yield c
