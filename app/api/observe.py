"""Request metrics (Prometheus), a per-client rate limit, and the optional token on read endpoints."""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_body

OPEN_PATHS = ("/api/v1/health", "/api/v1/ready", "/metrics")


class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "audiotag_requests", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "audiotag_request_seconds", "Server time per request", ["route"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )  # fmt: skip
        self.batch = Histogram(
            "audiotag_inference_batch_size", "Clips per inference batch", registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64),
        )  # fmt: skip
        self.search_batch = Histogram(
            "audiotag_search_batch_size", "Searches per pass of the inference thread", registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64),
        )  # fmt: skip
        self.index_sounds = Gauge(
            "audiotag_index_sounds", "Sounds in the served index", registry=self.registry
        )
        self.refresh_failures = Counter(
            "audiotag_index_refresh_failures", "Failed loads of a published index version",
            registry=self.registry,
        )  # fmt: skip
        self.index_info = Gauge(
            "audiotag_index_info",
            "The served index and model (value 1)",
            ["version", "model"],
            registry=self.registry,
        )

    def served(self, version: str, model: str, sounds: int) -> None:
        self.index_info.clear()
        self.index_info.labels(version, model).set(1)
        self.index_sounds.set(sounds)


class RateLimiter:
    """A token bucket per client: `per_minute` requests, bursts up to the same number.

    At most `max_clients` buckets are kept, least recently seen dropped first: a dropped client
    starts again with a full bucket, so memory stays bounded whatever addresses come."""

    def __init__(self, per_minute: int, max_clients: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.max_clients = max_clients
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.lock = threading.Lock()

    def wait_for(self, client: str) -> float:
        """0 when the request may go ahead, else seconds until it may."""
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            self.buckets[client] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            while len(self.buckets) > self.max_clients:
                self.buckets.popitem(last=False)
            return wait


class Observe:
    """Pure ASGI middleware: the rate limit and the read token before the app, then metrics and a
    Server-Timing header. (FastAPI's `@app.middleware("http")` runs each request through an extra
    task and stream copy: more than the rest of a search costs.)"""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, limiter: RateLimiter | None, read_token: str | None
    ) -> None:
        self.app, self.metrics, self.limiter, self.read_token = app, metrics, limiter, read_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # unless the app starts a response

        async def timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                MutableHeaders(scope=message).append("Server-Timing", f"app;dur={_ms(start):.2f}")
            await send(message)

        try:
            await (self._refusal(scope) or self.app)(scope, receive, timed)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"  # the template, never the path
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(_ms(start) / 1000)

    def _refusal(self, scope: Scope) -> ASGIApp | None:
        """A 429 or 401 answer for this request, or None to let it through."""
        path = scope["path"]
        if path in OPEN_PATHS:
            return None
        client = scope["client"][0] if scope.get("client") else "unknown"
        wait = self.limiter.wait_for(client) if self.limiter else 0.0
        if wait > 0:
            return JSONResponse(
                error_body("rate_limited", f"too many requests: try again in {wait:.1f} s"), 429,
                headers={"Retry-After": str(max(1, round(wait)))},
            )  # fmt: skip
        if self.read_token and path.startswith("/api/v1/") and not _authorised(scope, self.read_token):
            return JSONResponse(
                error_body("unauthorized", "a valid bearer token is required"), 401,
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        return None


def _ms(start: float) -> float:
    return 1000 * (time.perf_counter() - start)


def install(app: FastAPI, per_minute: int, read_token: str | None) -> Metrics:
    """Add the Observe middleware and the /metrics route; returns the app's metrics."""
    metrics = Metrics()
    limiter = RateLimiter(per_minute) if per_minute > 0 else None
    app.add_middleware(Observe, metrics=metrics, limiter=limiter, read_token=read_token)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics


def token_matches(given: str | None, token: str) -> bool:
    """A constant-time comparison: the time taken tells nothing of how much of the token matched."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _authorised(scope: Scope, token: str) -> bool:
    scheme, _, given = (Headers(scope=scope).get("authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and token_matches(given.strip(), token)
