"""Hosts on a private network: one Linux network namespace per host, joined by a bridge.

Each host gets a namespace `lf<id>-<host>`, a veth pair whose outer end is on the bridge
`lfbr<id>` and an address 10.77.<n>.<k>/24 (the machine itself is .1 on the bridge, so
tests and benchmarks reach the hosts as a client would). `ip netns exec` mounts
/etc/netns/<namespace>/hosts over /etc/hosts, which lets every host reach the others by
their compose names (`postgres`, `prefect`, `api`). Everything made here carries the run's
id, so two runs never collide, and `destroy()` removes all of it.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import subprocess  # nosec B404
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
NETNS_ETC = Path("/etc/netns")
LOCK_FILE = "/run/lock/lightning-flows-topology.lock"


class NetnsUnavailable(RuntimeError):
    """Network namespaces cannot be made here (not root, no `ip`, a restricted kernel)."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # nosec B603 B607
        ["ip", *args], capture_output=True, text=True, check=check, timeout=20
    )


def netns_available() -> str | None:
    """None when namespaces work here, else why not (in words)."""
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "the `ip` and `unshare` commands are not installed"
    probe = f"lfprobe{uuid.uuid4().hex[:6]}"
    try:
        made = _ip("netns", "add", probe, check=False)
        if made.returncode != 0:
            return f"`ip netns add` failed: {made.stderr.strip() or made.returncode}"
        return None
    finally:
        _ip("netns", "del", probe, check=False)


@dataclass
class Host:
    """One host: its namespace, its address, the veth end inside it."""

    name: str
    address: str
    namespace: str | None  # None: a process on this machine (the 127.0.0.1 fallback)
    inner_link: str = ""
    outer_link: str = ""

    def prefix(self) -> list[str]:
        """The argv prefix that runs a command on this host, under its own hostname."""
        if self.namespace is None:
            return []
        enter = ["ip", "netns", "exec", self.namespace, "unshare", "--uts", "--"]
        return [*enter, "sh", "-c", 'hostname "$0" && exec "$@"', self.name]


class Network:
    """A bridge and the namespaces of the hosts on it."""

    def __init__(self, run_id: str | None = None) -> None:
        self.id = run_id or uuid.uuid4().hex[:6]
        self.bridge = f"lfbr{self.id}"
        self.subnet = 0
        self.gateway = ""
        self.hosts: dict[str, Host] = {}
        self._created = False

    def create(self) -> None:
        # One run at a time picks a subnet and claims it with its bridge's address.
        with open(LOCK_FILE, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.subnet = _free_subnet()
            self.gateway = f"10.77.{self.subnet}.1"
            _ip("link", "add", self.bridge, "type", "bridge")
            self._created = True
            _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def add_host(self, name: str) -> Host:
        """A new namespace on the bridge, with the next address."""
        index = len(self.hosts) + 2
        namespace = f"lf{self.id}-{name}"
        host = Host(
            name=name,
            address=f"10.77.{self.subnet}.{index}",
            namespace=namespace,
            inner_link="eth0",
            outer_link=f"lf{self.id}h{index}",
        )
        self.hosts[name] = host
        _ip("netns", "add", namespace)
        _ip("link", "add", host.outer_link, "type", "veth", "peer", "name", "lftmp" + self.id)
        _ip("link", "set", "lftmp" + self.id, "netns", namespace, "name", host.inner_link)
        _ip("link", "set", host.outer_link, "master", self.bridge, "up")
        inside = ["netns", "exec", namespace, "ip"]
        _ip(*inside, "addr", "add", f"{host.address}/24", "dev", host.inner_link)
        _ip(*inside, "link", "set", host.inner_link, "up")
        _ip(*inside, "link", "set", "lo", "up")
        self.write_hosts_files()
        return host

    def write_hosts_files(self) -> None:
        """Every namespace resolves every host by name (its compose service name)."""
        lines = ["127.0.0.1 localhost"]
        lines += [f"{h.address} {name}" for name, h in self.hosts.items()]
        for host in self.hosts.values():
            folder = NETNS_ETC / str(host.namespace)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "hosts").write_text("\n".join(lines) + "\n")

    def set_link(self, name: str, up: bool) -> None:
        """Cut (or restore) a host's network: its link inside its namespace goes down."""
        host = self.hosts[name]
        if host.namespace is None:
            raise NetnsUnavailable("without namespaces a host's network cannot be cut")
        state = "up" if up else "down"
        _ip("netns", "exec", host.namespace, "ip", "link", "set", host.inner_link, state)

    def destroy(self) -> None:
        """Remove every namespace, link, hosts file and the bridge (best effort, all)."""
        for host in self.hosts.values():
            if host.namespace is None:
                continue
            _ip("link", "del", host.outer_link, check=False)
            _ip("netns", "del", host.namespace, check=False)
            shutil.rmtree(NETNS_ETC / host.namespace, ignore_errors=True)
        self.hosts.clear()
        if self._created:
            _ip("link", "del", self.bridge, check=False)
            self._created = False


def _free_subnet() -> int:
    """A 10.77.<n>.0/24 no bridge on this machine uses yet (two runs side by side)."""
    used = _ip("-4", "-o", "addr", "show", check=False).stdout
    for n in range(0, 250):
        if f"10.77.{n}." not in used:
            return n
    raise NetnsUnavailable("every 10.77.x.0/24 subnet is in use")
