"""Profile the hub under the relay load: python -m bench.profile_hub [--seconds S] [--out DIR]

Starts a hub, connects the relay scenario's agents and visitors, then samples the hub with
py-spy (`pip install py-spy`) during a window-1 saturation phase. Writes the raw collapsed
stacks (for flame graphs) and prints the functions that cost the most: inclusive share of
the samples of the event loop's thread, and self share of all threads.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from bench.relay import RelayConfig, connect
from bench.servers import raise_fd_limit

TOP = 25


def _frame_name(frame: str) -> str:
    # py-spy frames read "function (path/to/file.py:line)"; drop the line so that one
    # function's samples add up.
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def summarise(collapsed: Path) -> str:
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_frame_name(frame) for frame in stack.split(";")]
        total += count
        self_time[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "inclusive (share of all samples):"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(TOP)]
    lines += ["", "self (share of all samples):"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in self_time.most_common(TOP)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_hub", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("bench-profile"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--gil",
        action="store_true",
        help="sample only the thread holding the GIL (where the one usable core goes)",
    )
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        sys.exit("py-spy is not installed: pip install py-spy")
    raise_fd_limit()
    args.out.mkdir(parents=True, exist_ok=True)
    collapsed = args.out / "hub-relay.collapsed.txt"
    config = RelayConfig.for_run(quick=False, workers=args.workers)
    with ExitStack() as stack:
        hub = connect(stack, "hub", config, log=lambda text: print(text, file=sys.stderr))
        sampler = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(hub.server.pid),
                "--duration",
                str(int(args.seconds)),
                "--format",
                "raw",
                "--threads",
                "--output",
                str(collapsed),
                "--nonblocking",
                *(["--gil"] if args.gil else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            result = hub.run("window_1", {"mode": "window", "window": 1, "duration": args.seconds})
            sampler.wait(args.seconds + 30)
        finally:
            if sampler.poll() is None:
                sampler.kill()
                sampler.wait()
    print(f"hub under profile: {result.msgs_per_s:.0f} msgs/s (sampling slows it)")
    print(f"collapsed stacks: {collapsed}")
    print(summarise(collapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
