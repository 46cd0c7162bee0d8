"""The one settings object: read from AUDIOTAG_* variables, overridden by CLI flags."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from model.limits import AudioLimits

_LIMITS = AudioLimits()  # the input limits' defaults live in one place: model/limits.py


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "audiotag"


class Settings(BaseSettings):
    """Paths, database, device and input limits shared by every command and the service."""

    model_config = SettingsConfigDict(env_prefix="AUDIOTAG_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir, description="Root of all files audiotag writes."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the catalogue; default: SQLite file in data_dir."
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    workers: int = Field(default=2, ge=1, description="Processes used to decode audio.")
    debug: bool = Field(default=False, description="Show the traceback of a command's unexpected failure.")

    # Input limits: a clip outside them is rejected with a reason, never half-ingested.
    min_duration_s: float = Field(default=_LIMITS.min_duration_s, gt=0)
    max_duration_s: float = Field(default=_LIMITS.max_duration_s, gt=0)
    max_file_bytes: int = Field(default=_LIMITS.max_file_bytes, gt=0)
    min_sample_rate: int = Field(default=_LIMITS.min_sample_rate, gt=0)
    max_sample_rate: int = Field(default=_LIMITS.max_sample_rate, gt=0)
    max_channels: int = Field(default=_LIMITS.max_channels, gt=0)
    silence_rms: float = Field(
        default=_LIMITS.silence_rms, ge=0, description="Clips whose RMS is below this are silent."
    )

    index_factory: str = Field(
        default="auto",
        description="FAISS factory string of new indices (Flat, HNSW32, IVF1024,SQ8 …); auto: exact search "
        "for small catalogues, HNSW32 / IVF-SQ8 for large ones.",
    )
    index_nprobe: int = Field(default=16, ge=1, description="IVF lists searched per query.")
    index_ef_search: int = Field(default=64, ge=1, description="HNSW candidate list size per query.")
    index_shard_size: int = Field(default=1024, ge=1, description="Sounds per shard of an index build.")
    ray_address: str | None = Field(
        default=None,
        description="Embed index builds on this Ray cluster (auto: the one `ray start` runs on this "
        "machine; or HOST:PORT); unset: on this machine. Needs `pip install 'audiotag[ray]'`.",
    )

    api_token: str | None = Field(
        default=None, description="Bearer token of the admin endpoints (reindex); unset: they are disabled."
    )
    require_token_for_reads: bool = Field(
        default=False, description="Also ask the bearer token on read endpoints (search, tags …)."
    )
    rate_limit_per_minute: int = Field(default=600, ge=0, description="Requests per client a minute; 0: off.")
    worker_in_process: bool = Field(
        default=True,
        description="Run reindex jobs inside the service; false: a separate `audiotag worker` does.",
    )
    batch_max_size: int = Field(default=32, ge=1, description="Clips per inference batch at most.")
    batch_max_wait_ms: float = Field(
        default=0.0, ge=0, description="How long a batch waits for more clips (0: clips that arrive while "
        "the model runs share the next pass, none waits).",
    )  # fmt: skip
    upload_max_bytes: int = Field(default=50 * 1024 * 1024, gt=0, description="Largest accepted upload.")
    upload_max_duration_s: float = Field(default=300.0, gt=0, description="Longest accepted uploaded clip.")
    host: str = Field(default="127.0.0.1", description="Address `audiotag serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535)
    access_log: bool = Field(
        default=False,
        description="A log line per request (uvicorn's access log). Off by default: it costs about a "
        "seventh of a busy server's time; /metrics counts every request by route and status.",
    )
    serve_workers: int | None = Field(
        default=None, ge=1, le=64,
        description="Server processes, each loading the index and swapping itself; default one per CPU "
        "core, at most 4 (on 2 cores, 2 processes served 1.8× the searches of one at 32 connections).",
    )  # fmt: skip

    debian_mirror: str | None = Field(
        default=None, description="Base URL of a Debian mirror, used only where apt-get is absent."
    )
    freesound_api_url: str = "https://freesound.org/apiv2"

    @cached_property
    def catalogue_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'catalogue.db'}"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def bundles_dir(self) -> Path:
        return self.data_dir / "bundles"

    @property
    def indices_dir(self) -> Path:
        return self.data_dir / "indices"

    @property
    def corpus_dir(self) -> Path:
        return self.data_dir / "corpus"
