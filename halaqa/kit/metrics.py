"""Prometheus metrics. Counters and histograms count what this process did; the figures read
from the database at scrape time (`DatabaseFigures`) are the same whichever process answers,
so they stay right with several API processes and workers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what `exposition` writes

WEBHOOK_EVENTS = Counter(
    "halaqa_webhook_events",
    "Webhook events from meeting providers handled by this process, by outcome.",
    ["provider", "outcome"],
)
JOBS_RUN = Counter(
    "halaqa_jobs_run",
    "Jobs this process ran, by kind and outcome (done, retry, parked).",
    ["kind", "outcome"],
)
WORKER_STEP_SECONDS = Histogram(
    "halaqa_worker_step_seconds",
    "How long each step of a worker tick took in this process (the step 'jobs' runs the jobs).",
    ["step"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

# Job statuses shown as gauges: what is waiting, being run, or given up on.
UNFINISHED_JOB_STATUSES = ("queued", "running", "parked")


@dataclass(frozen=True)
class DatabaseFigures:
    """What the database says at one instant; a collector of gauges for one scrape."""

    jobs: Mapping[tuple[str, str], int]  # (kind, status) -> how many, unfinished statuses only
    known_kinds: Iterable[str]  # shown at 0 when there are none, so alerts see a series
    due_scan_lag_seconds: float
    webhook_events_backlog: int

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "halaqa_jobs",
            "Jobs in the database by kind and status: queued (waiting for their time or a "
            "worker), running (claimed by a worker), parked (failed for good: "
            "`halaqa jobs list --status parked`).",
            labels=["kind", "status"],
        )
        for kind in sorted({*self.known_kinds, *(kind for kind, _ in self.jobs)}):
            for status in UNFINISHED_JOB_STATUSES:
                jobs.add_metric([kind, status], self.jobs.get((kind, status), 0))
        yield jobs
        yield GaugeMetricFamily(
            "halaqa_due_scan_lag_seconds",
            "How long the oldest due session step has been waiting for a worker (0: none due).",
            value=self.due_scan_lag_seconds,
        )
        yield GaugeMetricFamily(
            "halaqa_webhook_events_backlog",
            "Webhook events received and kept but not processed yet.",
            value=self.webhook_events_backlog,
        )


class _Together:
    def __init__(self, *collectors: Collector) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def exposition(figures: DatabaseFigures) -> bytes:
    """This process's metrics and the database's figures, in Prometheus' text format."""
    return generate_latest(_Together(REGISTRY, figures))
