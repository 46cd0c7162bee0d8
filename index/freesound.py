"""A client of the Freesound APIv2 text search that downloads previews into the ingest shape."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from tqdm import tqdm

from model.files import write_bytes_atomic

FIELDS = "id,name,tags,description,license,username,duration,previews"
PREVIEW_KEYS = ("preview-hq-ogg", "preview-hq-mp3", "preview-lq-ogg", "preview-lq-mp3")


class FreesoundError(RuntimeError):
    """The API refused or failed; the message says why."""


class FreesoundClient:
    def __init__(
        self,
        token: str,
        base_url: str = "https://freesound.org/apiv2",
        timeout: float = 60.0,
        max_retries: int = 3,
    ) -> None:
        if not token.strip():
            raise FreesoundError("a Freesound API token is needed (--token or AUDIOTAG_FREESOUND_TOKEN)")
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.http = httpx.Client(
            headers={"Authorization": f"Token {token}"}, timeout=timeout, follow_redirects=True
        )

    def _get(self, url: str, params: dict | None = None) -> httpx.Response:
        for attempt in range(self.max_retries + 1):
            try:
                resp = self.http.get(url, params=params)
            except httpx.HTTPError as err:
                raise FreesoundError(f"cannot reach the Freesound API: {err}") from None
            if resp.status_code == 429 and attempt < self.max_retries:
                time.sleep(min(float(resp.headers.get("Retry-After", "1") or 1), 30.0))
                continue
            if resp.status_code == 401:
                raise FreesoundError("the Freesound API refused the token (401): check --token")
            if resp.status_code >= 400:
                raise FreesoundError(
                    f"the Freesound API answered {resp.status_code} for {url}: {_detail(resp)}"
                )
            return resp
        raise FreesoundError("the Freesound API kept throttling (429): try again later")

    def search(self, query: str, max_sounds: int, filter: str | None = None, page_size: int = 150):
        """Yield result dicts of a text search, following `next` pages, at most `max_sounds`."""
        params = {"query": query, "fields": FIELDS, "page_size": min(page_size, max_sounds)}
        if filter:
            params["filter"] = filter
        url: str | None = f"{self.base_url}/search/text/"
        n = 0
        while url and n < max_sounds:
            try:
                page = self._get(url, params).json()
            except ValueError:
                raise FreesoundError("the Freesound API answered with something that is not JSON") from None
            params = None  # `next` carries the query
            for result in page.get("results", []):
                yield result
                n += 1
                if n >= max_sounds:
                    return
            url = page.get("next")

    def download(self, query: str, out: Path, max_sounds: int, filter: str | None = None) -> int:
        """Fetch previews and metadata into `out` (audio files + metadata.jsonl). Resumable."""
        out.mkdir(parents=True, exist_ok=True)
        meta_path = out / "metadata.jsonl"
        have = set()
        if meta_path.exists():
            have = {
                str(json.loads(line)["id"]) for line in meta_path.read_text().splitlines() if line.strip()
            }
        bar = tqdm(total=max_sounds, desc="freesound", unit="sound")
        n = len(have)
        bar.update(n)
        with open(meta_path, "a") as meta:
            for result in self.search(query, max_sounds, filter):
                sid = str(result.get("id"))
                if sid in have:
                    continue
                key = next((k for k in PREVIEW_KEYS if (result.get("previews") or {}).get(k)), None)
                if key is None:
                    continue
                ext = "ogg" if "ogg" in key else "mp3"
                target = out / f"{sid}.{ext}"
                write_bytes_atomic(target, self._get(result["previews"][key]).content)
                meta.write(json.dumps({**result, "file": target.name}) + "\n")
                meta.flush()
                have.add(sid)
                n += 1
                bar.update()
        bar.close()
        return n


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        return str(body.get("detail") or body)[:200]
    except ValueError:
        return resp.text[:200]
