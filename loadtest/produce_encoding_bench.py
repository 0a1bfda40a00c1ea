"""Benchmark of produce-request encoding: agents/produce_encoding.py against aiokafka's own encoder
(the baseline, measured in the same run on the same requests).

Requests are shaped like a worker's: record batches of a few kB (actions, timer rows), tens of kB, and
half-MB batches of contact states (the worker's batches hold up to 512 kB), over up to 11 topics of 8
partitions. Each encoding is checked to be byte-identical to the baseline's before it is timed. Pure CPU,
no broker.

    .venv/bin/python -m loadtest.produce_encoding_bench [--seconds 2]
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from collections.abc import Callable
from typing import Any

from aiokafka.protocol import produce

from agents.produce_encoding import encode_produce_request, original_encoder
from loadtest.percentiles import percentile
from loadtest.report import format_table

SHAPES = {  # name: (topics, partitions per topic, bytes per record batch)
    "many small batches": (10, 8, 2_000),
    "tens of kB": (5, 8, 20_000),
    "state batches": (1, 2, 500_000),
}


def build_request(topics: int, partitions: int, size: int) -> Any:
    payload = os.urandom(size)
    entries = [
        (f"bench.topic-{t}", [(p, bytearray(payload)) for p in range(partitions)]) for t in range(topics)
    ]  # bytearray: aiokafka's record batch builder hands its buffers over as bytearrays
    return produce.ProduceRequest_v8(None, 1, 30_000, entries)


def time_encoder(encode: Callable[[Any], bytes], request: Any, seconds: float) -> list[float]:
    """Seconds per call of ``encode(request)``, repeated for about ``seconds``."""
    spans: list[float] = []
    clock = time.perf_counter
    deadline = clock() + seconds
    gc.disable()
    try:
        while clock() < deadline:
            start = clock()
            encode(request)
            spans.append(clock() - start)
    finally:
        gc.enable()
    return sorted(spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per shape and encoder")
    args = parser.parse_args()
    baseline = original_encoder(produce.ProduceRequest_v8)
    rows: list[list[object]] = []
    for name, (topics, partitions, size) in SHAPES.items():
        request = build_request(topics, partitions, size)
        if encode_produce_request(request) != baseline(request):
            raise SystemExit(f"{name}: the one-pass encoding differs from aiokafka's")
        request_bytes = topics * partitions * size
        medians = {}
        for label, encode in (("aiokafka (baseline)", baseline), ("one pass", encode_produce_request)):
            spans = time_encoder(encode, request, args.seconds)
            median = medians[label] = percentile(spans, 50)
            rows.append([
                name, label, f"{topics * partitions} x {size:,} B", f"{len(spans) / sum(spans):,.0f}",
                f"{request_bytes / median / 1e9:.2f}",
                *(f"{percentile(spans, q) * 1e6:,.0f}" for q in (50, 95, 99)),
            ])  # fmt: skip
        ratio = medians["aiokafka (baseline)"] / medians["one pass"]
        rows.append([name, "one pass / baseline", "", "", "", f"x{ratio:.1f} faster (median)", "", ""])
    print("produce-request encoding, one core, no broker")
    print(format_table(rows, ["requests", "encoder", "record batches", "requests/s", "GB/s", "p50 us",
                              "p95 us", "p99 us"]))  # fmt: skip


if __name__ == "__main__":
    main()
