"""The /metrics text: written by prometheus_client, read back by its own parser, counters exact past a
million (the hand-written text printed 1.23457e+06)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from agents.metrics import Metrics


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_counters_past_a_million_are_exact_and_parse() -> None:
    metrics = Metrics()
    for _ in range(617):
        metrics.observe_batch(2000)  # 1,234,000 events
    metrics.observe_batch(567)
    metrics.applied_total = 1_234_561
    metrics.step_records_total = 98_765_432_101
    for reason, count in (("too_deep", 3), ("state_too_large", 1_000_001)):
        for _ in range(count):
            metrics.observe_dead_letter(reason)
    metrics.observe_processing_error("scoring_error")
    metrics.lag[3] = 42

    parsed = samples(metrics.render())
    assert parsed[("switchyard_events_total", ())] == 1_234_567
    assert int(parsed[("switchyard_events_total", ())]) == metrics.events_total
    assert parsed[("switchyard_events_applied_total", ())] == 1_234_561
    assert parsed[("switchyard_step_records_total", ())] == 98_765_432_101
    assert parsed[("switchyard_batches_total", ())] == 618
    assert parsed[("switchyard_dead_letters_total", (("reason", "state_too_large"),))] == 1_000_001
    assert parsed[("switchyard_dead_letters_total", (("reason", "too_deep"),))] == 3
    assert parsed[("switchyard_processing_errors_total", (("reason", "scoring_error"),))] == 1
    assert parsed[("switchyard_consumer_lag", (("partition", "3"),))] == 42
    assert parsed[("switchyard_batch_size", (("quantile", "0.5"),))] == 2000


def test_each_worker_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.observe_batch(5)
    assert samples(first.render())[("switchyard_events_total", ())] == 5
    assert samples(second.render())[("switchyard_events_total", ())] == 0
