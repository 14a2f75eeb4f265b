"""The Prometheus metrics: counters grow by what each minute grew by, gauges follow the samples, tallies add in bulk."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, values
from prometheus_client.parser import text_string_to_metric_families

from antechamber.core.analytics import MINUTE_MS, MinuteFigures
from antechamber.gateway.metrics import MULTIPROCESS_ENV, GatewayMetrics, add_observations
from antechamber.gateway.timing import LATENCY_BUCKETS, OUTCOMES, RequestTimings
from antechamber.state.base import StateHealth

NOW = 1_800_000_000_000
MINUTE = NOW // MINUTE_MS
DOCS = Path(__file__).parents[2] / "docs" / "METRICS.md"
DASHBOARD = Path(__file__).parents[2] / "docs" / "examples" / "grafana-dashboard.json"


def samples(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    text = metrics.exposition()[0].decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_minute_seen_again_counts_only_what_it_grew_by() -> None:
    """The writer hands over each changed minute as it stands; the counters never count it twice."""
    metrics = GatewayMetrics()
    figures = MinuteFigures(admitted=3, rejected=1)
    figures.add_wait(30_000)
    metrics.minutes([("r", MINUTE, figures)], NOW)
    metrics.minutes([("r", MINUTE, figures)], NOW)  # unchanged (or given back after a failed write)
    grown = figures.copy()
    grown.admitted = 5
    grown.add_wait(60_000)
    metrics.minutes([("r", MINUTE, grown), ("r", MINUTE + 1, MinuteFigures(admitted=2))], NOW + MINUTE_MS)
    seen = samples(metrics)
    room = (("room", "r"),)
    assert seen[("antechamber_new_users_admitted_total", room)] == 7
    assert seen[("antechamber_rejected_requests_total", room)] == 1
    assert seen[("antechamber_wait_seconds_count", room)] == 2
    assert (
        seen[("antechamber_wait_seconds_bucket", (("le", "30.0"), ("room", "r")))] == 0
    )  # 30 s reads back as 30.6 s, its bucket's middle
    assert seen[("antechamber_wait_seconds_bucket", (("le", "120.0"), ("room", "r")))] == 2


def test_gauges_follow_the_samples_and_the_node() -> None:
    """Room gauges take each sample (back to 0 too); the store's health, sync age and revision are shown."""
    metrics = GatewayMetrics()
    metrics.room("r", 40, 120, 50, 30)
    metrics.room("r", 38, 0, 50, 30)
    metrics.node(StateHealth("redis", healthy=False, synced_ms=NOW - 2500), 17, NOW)
    seen = samples(metrics)
    room = (("room", "r"),)
    assert seen[("antechamber_active_users", room)] == 38
    assert seen[("antechamber_queued_users", room)] == 0
    assert seen[("antechamber_active_users_limit", room)] == 50
    assert seen[("antechamber_new_users_per_minute_limit", room)] == 30
    assert seen[("antechamber_state_store_up", ())] == 0
    assert seen[("antechamber_state_sync_age_seconds", ())] == 2.5
    assert seen[("antechamber_config_revision", ())] == 17


def _exported() -> set[str]:
    """Every metric name a scrape can show (histograms by their base name)."""
    metrics = GatewayMetrics()
    metrics.room("r", 1, 1, 1, 1)
    figures = MinuteFigures(admitted=1, rejected=1, bypassed=1, revoked=1, challenges_issued=1)
    figures.add_wait(1000)
    figures.add_renewal(5000, 5000)
    metrics.minutes([("r", MINUTE, figures)], NOW)
    timings = RequestTimings()
    timings.record("r", 0, 1000)
    timings.origin_failed("r", "timeout")
    metrics.timings(timings.take())
    text = metrics.exposition()[0].decode()
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names |= {sample.name for sample in family.samples}
    return names


def test_the_docs_and_the_dashboard_name_only_exported_metrics() -> None:
    """docs/METRICS.md lists exactly what the code exports; the Grafana dashboard queries nothing else."""
    exported = _exported()
    documented = set(re.findall(r"^\| `(antechamber_\w+)`", DOCS.read_text(), re.MULTILINE))
    bases = {name for name in exported if not name.endswith(("_bucket", "_count", "_sum", "_created"))}
    assert documented == {name for name in bases if f"{name}_total" not in exported}
    queried = set(re.findall(r"antechamber_\w+", json.dumps(json.loads(DASHBOARD.read_text()))))
    assert queried and queried <= exported


def test_renewals_give_the_time_on_origin_in_seconds() -> None:
    """Renewals and the time on origin they accrued grow by what each minute grew by, in seconds."""
    metrics = GatewayMetrics()
    figures = MinuteFigures()
    figures.add_renewal(30_000, 30_000)
    metrics.minutes([("r", MINUTE, figures)], NOW)
    grown = figures.copy()
    grown.add_renewal(7_500, 37_500)
    metrics.minutes([("r", MINUTE, grown)], NOW)
    seen = samples(metrics)
    assert seen[("antechamber_session_renewals_total", (("room", "r"),))] == 2
    assert seen[("antechamber_time_on_origin_seconds_total", (("room", "r"),))] == 37.5


LATENCIES_NS = st.lists(st.integers(min_value=0, max_value=20 * 10**9), max_size=60)


def _histogram_samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    return {
        (s.name, s.labels.get("le", "")): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


@given(LATENCIES_NS)
def test_a_bulk_tally_reads_back_as_observing_each_value(latencies: list[int]) -> None:
    """add_observations gives the exact samples observe() of every value gives (pins prometheus-client's privates)."""
    one, other = CollectorRegistry(), CollectorRegistry()
    observed = Histogram("h", "h", buckets=LATENCY_BUCKETS, registry=one)
    bulk = Histogram("h", "h", buckets=LATENCY_BUCKETS, registry=other)
    timings = RequestTimings()
    for ns in latencies:
        observed.observe(ns / 1e9)
        timings.record("r", 0, ns)
    for part in timings.take().latencies:
        add_observations(bulk, part.counts, part.sum_ns / 1e9)
    want, got = _histogram_samples(one), _histogram_samples(other)
    assert want.keys() == got.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_a_bulk_tally_adds_up_in_multiprocess_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --workers the tallies go to the shared files: a scrape sees each one's counts, sum and labels once."""
    monkeypatch.setenv(MULTIPROCESS_ENV, str(tmp_path))
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue())  # as chosen at import under the env
    metrics = GatewayMetrics()
    timings = RequestTimings()
    for ns in (20_000, 30_000, 30_000, 2_000_000):
        timings.record("r", OUTCOMES.index("admitted"), ns)
    timings.origin_failed("r", "connect_error")
    metrics.timings(timings.take())
    metrics.timings(timings.take())  # nothing new: nothing added
    assert list(tmp_path.glob("*.db")), "the values went to the multiprocess files"
    seen = samples(metrics)
    labels = (("outcome", "admitted"), ("room", "r"))
    assert seen[("antechamber_request_duration_seconds_count", labels)] == 4
    assert seen[("antechamber_request_duration_seconds_sum", labels)] == pytest.approx(0.00208)
    le = dict(labels)
    for bound, count in (("2.5e-05", 1), ("5e-05", 3), ("0.001", 3), ("0.0025", 4), ("+Inf", 4)):
        assert seen[("antechamber_request_duration_seconds_bucket", tuple(sorted({**le, "le": bound}.items())))] == (
            count
        )
    assert seen[("antechamber_origin_errors_total", (("kind", "connect_error"), ("room", "r")))] == 1


def test_latencies_are_transferred_once_by_room_and_outcome() -> None:
    """Each hand-over adds what was tallied since the last: the same requests are never counted twice."""
    metrics = GatewayMetrics()
    timings = RequestTimings()
    timings.record("r", OUTCOMES.index("queued"), 400_000)
    timings.record("r", OUTCOMES.index("proxied"), 30_000_000)
    metrics.timings(timings.take())
    timings.record("r", OUTCOMES.index("queued"), 600_000)
    metrics.timings(timings.take())
    metrics.timings(timings.take())
    seen = samples(metrics)
    queued = (("outcome", "queued"), ("room", "r"))
    assert seen[("antechamber_request_duration_seconds_count", queued)] == 2
    assert seen[("antechamber_request_duration_seconds_sum", queued)] == pytest.approx(0.001)
    assert seen[("antechamber_request_duration_seconds_bucket", (("le", "0.0005"), *queued))] == 1
    assert seen[("antechamber_request_duration_seconds_count", (("outcome", "proxied"), ("room", "r")))] == 1
