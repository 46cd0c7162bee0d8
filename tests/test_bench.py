"""The benchmarks' own parts: floors measured on this machine, wrk's report read, FLOPs counted.
No wall-clock figure is asserted: only that each is measured and positive."""

from __future__ import annotations

import pytest
import torch

from bench.floors import EXTENSIONS, conv_gflops, cpu_extensions, matmul_gflops
from bench.train import flops_per_sample, training_step
from bench.wrk import parse_wrk

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/api/v1/search
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    26.10ms   30.21ms 248.00ms   88.00%
    Req/Sec     1.20k   100.00     1.40k    70.00%
  Latency Distribution
     50%   24.30ms
     75%   30.00ms
     90%   50.00ms
     99%  247.60ms
  11898 requests in 10.01s, 5.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   1188.60
Transfer/sec:    511.00KB
"""


def test_wrk_report_is_read_with_every_failure_counted() -> None:
    r = parse_wrk(WRK_OUTPUT)
    assert r["n"] == 11898 and r["rps"] == 1188.6 and r["errors"] == 4 + 2 + 1
    assert r["p50"] == 24.3 and r["p99"] == 247.6
    fast = parse_wrk(WRK_OUTPUT.replace("24.30ms", "830.00us").replace("247.60ms", "1.20s"))
    assert fast["p50"] == pytest.approx(0.83) and fast["p99"] == 1200.0


def test_floors_are_measured_here() -> None:
    assert set(cpu_extensions()) <= set(EXTENSIONS.values())
    cpu = torch.device("cpu")
    assert matmul_gflops(cpu, n=256, seconds=0.05) > 0 and conv_gflops(cpu, seconds=0.05) > 0


def test_a_training_sample_costs_what_the_model_says() -> None:
    step = training_step("w2v-128-4h", torch.device("cpu"), 4, bf16=False, compile=False)
    assert 0.5e9 < flops_per_sample(step, 4) < 10e9  # encoder + decoder, forward and backward
