"""Prometheus metrics of the verifier service (`GET /metrics`, text exposition format).

Counters and histograms are updated by the app as requests finish; the pool's gauges (queue length,
age of the oldest queued task, busy workers, restarts) are read from `WorkerPool.stats()` at scrape
time, so they are never stale. Each app has its own registry: two apps in one process (tests) do
not share counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: a single fast item takes milliseconds; a batch under load, seconds; timeouts, minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class _PoolCollector:
    def __init__(self, stats: Callable[[], dict[str, Any] | None]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Any]:
        s = self.stats() or {}
        yield GaugeMetricFamily(
            "rlvr_verifier_queue_length", "Tasks waiting for a worker", value=s.get("pending", 0)
        )
        yield GaugeMetricFamily(
            "rlvr_verifier_queue_oldest_seconds",
            "Age of the oldest queued task",
            value=s.get("oldest_wait_s", 0.0),
        )
        yield GaugeMetricFamily("rlvr_verifier_workers", "Worker processes", value=s.get("workers", 0))
        yield GaugeMetricFamily(
            "rlvr_verifier_workers_busy", "Workers judging a task", value=s.get("busy", 0)
        )
        yield CounterMetricFamily(
            "rlvr_verifier_worker_restarts",
            "Workers replaced (timeout, death, abandoned work)",
            value=s.get("restarts", 0),
        )
        yield CounterMetricFamily(
            "rlvr_verifier_tasks_abandoned",
            "Tasks dropped or killed because their client left",
            value=s.get("abandoned", 0),
        )


class ServiceMetrics:
    """The counters the app updates; `render()` is the /metrics body."""

    def __init__(self, pool_stats: Callable[[], dict[str, Any] | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rlvr_verifier_requests",
            "HTTP requests to /v1/verify by outcome",
            ["status"],
            registry=self.registry,
        )
        self.results = Counter(
            "rlvr_verifier_results", "Verified items by reason", ["reason"], registry=self.registry
        )
        self.latency = Histogram(
            "rlvr_verifier_request_seconds",
            "Seconds from arrival to answer of /v1/verify",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.items = Histogram(
            "rlvr_verifier_request_items",
            "Items per /v1/verify request",
            buckets=(1, 4, 16, 64, 256, 1024, 4096, 16384),
            registry=self.registry,
        )
        self.registry.register(_PoolCollector(pool_stats))

    def render(self) -> bytes:
        return generate_latest(self.registry)
