"""The Prometheus metrics: counters grow by what each minute grew by, gauges follow the samples."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from antechamber.core.analytics import MINUTE_MS, MinuteFigures
from antechamber.gateway.metrics import GatewayMetrics
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
    metrics.minutes([("r", MINUTE, figures)], NOW)
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
