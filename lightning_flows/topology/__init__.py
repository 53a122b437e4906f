"""A Lightning Flows installation as separate hosts on one machine (tests, benchmarks).

`python -m lightning_flows.topology --help`; in code `Topology` (cluster.py).
"""

from lightning_flows.topology.cluster import Topology

__all__ = ["Topology"]
