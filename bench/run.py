"""`python -m bench.run [suite ...] [--quick] [--db sqlite|postgres|both]`: run and print figures.

Suites: lateness, throughput, scale, peer (procrastinate on the same workloads), all.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import postwright_bench


def _print(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("suites", nargs="*", default=["all"])
    parser.add_argument("--quick", action="store_true", help="smaller counts (a few minutes)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--future-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    suites = (
        {"lateness", "throughput", "scale", "peer"} if "all" in args.suites else set(args.suites)
    )
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    n_lat = 1000 if args.quick else 3000
    n_tp = 3000 if args.quick else 10_000
    future = 100_000 if args.quick else args.future_rows
    machine = platform.processor() or platform.machine()
    print(f"# postwright benchmarks on {platform.node()} ({machine}), {time.strftime('%F %H:%M')}")
    with tempfile.TemporaryDirectory(prefix="pw-bench-") as tmp:
        work = Path(tmp)
        if "lateness" in suites:
            for db in dbs:
                _print(
                    postwright_bench.lateness(db=db, workdir=work, deliveries=n_lat, background=0)
                )
        if "throughput" in suites:
            for db in dbs:
                for workers in (1, 4):
                    _print(
                        postwright_bench.throughput(
                            db=db, workdir=work, deliveries=n_tp, workers=workers
                        )
                    )
        if "scale" in suites:
            for db in dbs:
                _print(
                    postwright_bench.lateness(
                        db=db, workdir=work, deliveries=n_lat, background=future
                    )
                )
                _print(
                    postwright_bench.throughput(
                        db=db,
                        workdir=work,
                        deliveries=n_tp,
                        workers=4 if db == "postgres" else 1,
                        background=future,
                    )
                )
        if "peer" in suites:
            from bench import peer_procrastinate

            for workers in (1, 4):
                _print(
                    peer_procrastinate.throughput(workdir=work, deliveries=n_tp, workers=workers)
                )
            _print(peer_procrastinate.lateness(workdir=work, deliveries=n_lat, background=0))
            _print(
                peer_procrastinate.throughput(
                    workdir=work, deliveries=n_tp, workers=4, background=future
                )
            )
            _print(peer_procrastinate.lateness(workdir=work, deliveries=n_lat, background=future))


if __name__ == "__main__":
    main()
