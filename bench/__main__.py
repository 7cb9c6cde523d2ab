"""python -m bench <relay|connections|acd|storage|email|hostile|im|reports|browsing|bots|all>
                    [--quick] [--json]
                    [--workers N]

Progress goes to stderr; results go to stdout, one JSON object per scenario with --json,
a short readable summary otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.servers import raise_fd_limit
from bench.stats import machine

SCENARIOS = (
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
)


def _log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _runner(name: str) -> Callable[[bool, int, Callable[[str], None]], dict[str, Any]]:
    # Imported on demand: `python -m bench acd` should not need the socket machinery.
    if name == "relay":
        from bench import relay

        return relay.run
    if name == "connections":
        from bench import connections

        return connections.run
    if name == "acd":
        from bench import acd

        return acd.run
    if name == "email":
        from bench import email

        return email.run
    if name == "hostile":
        from bench import hostile

        return hostile.run
    if name == "im":
        from bench import im

        return im.run
    if name == "reports":
        from bench import reports

        return reports.run
    if name == "browsing":
        from bench import browsing

        return browsing.run
    if name == "bots":
        from bench import bots

        return bots.run
    from bench import storage

    return storage.run


def _summary(result: dict[str, Any]) -> str:
    """The headline numbers of a result (nested details left to --json)."""
    flat = {
        key: value
        for key, value in result.items()
        if not isinstance(value, dict) or key in ("decisions_per_s", "appends_per_s", "sizes")
    }
    return json.dumps(flat, indent=2)


def _exit_on_sigterm(signum: int, _: object) -> None:
    # The default SIGTERM action would skip every `finally`; exiting through SystemExit lets
    # the scenarios stop their servers and worker processes.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenario", choices=(*SCENARIOS, "all"))
    parser.add_argument("--quick", action="store_true", help="small sizes, short phases")
    parser.add_argument("--json", action="store_true", help="one JSON object per scenario")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="load generator processes (default 2)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    raise_fd_limit()
    names = SCENARIOS if args.scenario == "all" else (args.scenario,)
    started = time.monotonic()
    _log(f"machine: {machine()}; cwd {os.getcwd()}")
    failed = False
    for name in names:
        scenario_started = time.monotonic()
        try:
            result = _runner(name)(args.quick, args.workers, _log)
        except Exception as exc:
            # One broken scenario must not hide the others' numbers.
            _log(f"{name} failed: {type(exc).__name__}: {exc}")
            result = {"scenario": name, "error": f"{type(exc).__name__}: {exc}"}
            failed = True
        result["seconds"] = round(time.monotonic() - scenario_started, 1)
        result["quick"] = args.quick
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(f"== {name}\n{_summary(result)}", flush=True)
    _log(f"done in {time.monotonic() - started:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
