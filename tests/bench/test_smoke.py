"""Smoke check of the benchmarks: `python -m bench all --quick --json` runs to the end and
gives numbers for every scenario. Speed is not asserted; docs/benchmarks.md reports it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {
    "relay",
    "connections",
    "acd",
    "storage",
    "email",
    "hostile",
    "im",
    "reports",
    "browsing",
    "bots",
}
# The issue asks for under two minutes; the margin absorbs a slow, shared machine.
SUITE_TIMEOUT = 200


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _run_module(module: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """`python -m module args` from the repository; fails the test if it did not succeed."""
    run = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return run


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_quick_suite_produces_numbers_for_every_scenario() -> None:
    suite = subprocess.Popen(
        [sys.executable, "-m", "bench", "all", "--quick", "--json"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = suite.communicate(timeout=SUITE_TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGTERM first: the suite then stops the servers and workers it started.
        suite.terminate()
        stdout, stderr = suite.communicate(timeout=60)
        pytest.fail(f"the quick suite took over {SUITE_TIMEOUT}s:\n{stderr[-4000:]}")
    assert suite.returncode == 0, stderr[-4000:]
    results = {}
    for line in stdout.splitlines():
        result = json.loads(line)
        results[result["scenario"]] = result
    assert set(results) == SCENARIOS

    relay = results["relay"]
    for key in (
        "hub_msgs_per_s",
        "baseline_msgs_per_s",
        "throughput_ratio",
        "hub_p99_ms",
        "baseline_p99_ms",
        "p99_ratio",
        "hub_chat_p99_ms",
        "baseline_chat_p99_ms",
        "chat_p99_ratio",
    ):
        assert _is_number(relay[key]), (key, relay[key])
    assert relay["hub_msgs_per_s"] > 0 and relay["baseline_msgs_per_s"] > 0
    assert relay["p99_ratio_rounds"], relay["p99_ratio_rounds"]  # one ratio per latency round
    assert all(_is_number(r) for r in relay["p99_ratio_rounds"]), relay["p99_ratio_rounds"]

    browsing = results["browsing"]
    for key in (
        "hub_arrive_us_per_view",
        "baseline_arrive_us_per_view",
        "arrive_cost_ratio",
        "hub_navigate_us_per_view",
        "navigate_cost_ratio",
    ):
        assert _is_number(browsing[key]), (key, browsing[key])

    hostile = results["hostile"]
    for key in ("p99_ratio", "ack_rate_ratio", "quiet_p99_ms", "hostile_p99_ms"):
        assert _is_number(hostile[key]), (key, hostile[key])
    assert hostile["details"]["hostile_visitor"]["flood_rate_limited"] > 0, hostile

    connections = results["connections"]
    assert connections["n"] > 0
    assert connections["hub_connected"] == connections["n"]
    assert connections["baseline_connected"] == connections["n"]
    assert _is_number(connections["hub_kib_per_conn"])
    assert _is_number(connections["baseline_kib_per_conn"])

    im = results["im"]
    for phase in ("saturated", "paced"):
        for server in ("hub", "baseline"):
            figures = im[phase][server]
            assert figures["messages_per_s"] > 0 and _is_number(figures["delivery_p99_ms"])
            assert figures["delivered_share"] == 1.0, (phase, server, figures)  # none lost
        assert _is_number(im[phase]["p99_ratio"]), im[phase]

    decisions = results["acd"]["decisions_per_s"]
    assert set(decisions) == {"100", "1000", "10000"}
    assert all(_is_number(rate) and rate > 0 for rate in decisions.values())

    appends = results["storage"]["appends_per_s"]
    assert appends and all(_is_number(rate) and rate > 0 for rate in appends.values())

    mail = results["email"]
    for key in (
        "inbound_mails_per_s",
        "reader_alone_mails_per_s",
        "inbound_ratio",
        "outbound_replies_per_s",
        "direct_sends_per_s",
        "outbound_ratio",
    ):
        assert _is_number(mail[key]) and mail[key] > 0, (key, mail[key])


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_the_disk_benchmark_measures_appends_alone_and_beside_writeback(tmp_path: Path) -> None:
    """`python -m bench.disk` on short phases: every phase made appends and gives figures."""
    run = _run_module(
        "bench.disk",
        *("--dir", str(tmp_path), "--seconds", "0.3", "--pages", "8", "--json"),
        timeout=50,
    )
    result = json.loads(run.stdout)
    assert result["scenario"] == "disk"
    for phase in ("alone", "beside_8_pages"):
        assert result[phase]["appends"] > 0, result
        assert _is_number(result[phase]["append_p99_ms"]), result
    assert result["beside_8_pages"]["writeback_passes"] > 0, result
    assert list(tmp_path.iterdir()) == [], "its temporary files are removed"
