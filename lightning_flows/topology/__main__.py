"""`python -m lightning_flows.topology`: start PostgreSQL, Prefect, the API and workers as
separate hosts (network namespaces on a private bridge), print where they are, and stop
everything on Ctrl-C or SIGTERM. Needs root for the namespaces; without them the hosts
are processes on 127.0.0.1 (it says so)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from types import FrameType

from lightning_flows.topology.cluster import Topology


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lightning_flows.topology", description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="`lightning-flows worker` hosts")
    parser.add_argument(
        "--prefect-workers", type=int, default=0, help="stock `prefect worker start` hosts"
    )
    parser.add_argument(
        "--no-netns", action="store_true", help="processes on 127.0.0.1, no namespaces"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the API and workers, e.g. LIGHTNING_WORKER_CONCURRENCY=8",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = dict(item.split("=", 1) for item in args.set)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    topo = Topology(
        workers=args.workers,
        prefect_workers=args.prefect_workers,
        settings=settings,
        use_netns=False if args.no_netns else None,
    )
    try:
        with topo:
            if topo.fallback_reason:
                print(f"No network namespaces ({topo.fallback_reason}): hosts on 127.0.0.1.")
            for name, host in topo.hosts.items():
                print(f"{name:16} {host.address:12} {host.namespace or '-'}")
            print(f"API:        {topo.api_url}")
            print(f"Prefect:    {topo.prefect_api_url}")
            print(f"Database:   {topo.database_url}")
            print(f"Logs under: {topo.root}  (Ctrl-C stops everything)")
            sys.stdout.flush()
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("Stopped; namespaces, bridge and files removed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
