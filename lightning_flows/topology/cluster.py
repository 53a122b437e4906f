"""A whole installation as separate hosts on this machine: PostgreSQL, the Prefect server,
the API and N workers, each a network namespace of its own (see network.py).

    with Topology(workers=2) as topo:
        httpx.post(f"{topo.api_url}/i/{trigger_id}", json={...})

Every host runs the command deployments/services.yaml gives it, with that file's
environment, its own HOME, TMPDIR, data directory and Prefect home (nothing is shared
on disk), and reaches the others only over the bridge by their compose names. Without
namespaces the hosts are processes on 127.0.0.1 (`fallback_reason` says why). Leaving
the block (normally, Ctrl-C or a failing test) stops every process and its children and
removes the namespaces, the bridge and the files.
"""

from __future__ import annotations

import base64
import logging
import secrets
import shutil
import signal
import socket
import subprocess  # nosec B404
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from lightning_flows.topology.network import Host, Network, netns_available
from lightning_flows.topology.processes import descendants, kill_tree
from lightning_flows.topology.services import ROOT, Service, fill, load_services, on_loopback

log = logging.getLogger(__name__)
PG_BIN = Path("/usr/lib/postgresql/15/bin")
WORKER_KINDS = ("worker", "prefect-worker")


@dataclass
class HostProcess:
    """A host's main process (its command) and where its output goes."""

    host: Host
    service: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    home: Path

    def pids(self) -> list[int]:
        """The process and every descendant (Node workers, flow-run subprocesses)."""
        return [self.proc.pid, *descendants(self.proc.pid)]


@dataclass
class Topology:
    """Start with `with Topology(...) as topo:` (or `start()`/`stop()`)."""

    workers: int = 2
    prefect_workers: int = 0
    settings: dict[str, str] = field(default_factory=dict)
    """Extra environment for every platform host (e.g. LIGHTNING_WORKER_DEAD_AFTER_SECONDS)."""
    use_netns: bool | None = None
    """None: namespaces when available; False: processes on 127.0.0.1."""
    keep_logs: Path | None = None
    """Copy every host's log here before the files are removed."""

    def __post_init__(self) -> None:
        self.id = uuid.uuid4().hex[:6]
        self.services: dict[str, Service] = load_services()
        self.fallback_reason: str | None = None
        self.network: Network | None = None
        self.hosts: dict[str, Host] = {}
        self.processes: dict[str, HostProcess] = {}
        self.ports: dict[str, int] = {}
        self.root = Path(tempfile.mkdtemp(prefix=f"lf-topology-{self.id}-"))
        self.root.chmod(0o755)  # PostgreSQL runs as the unprivileged `postgres` user
        self.variables: dict[str, str] = {
            "LIGHTNING_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Topology:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Bring every host up, in dependency order, each healthy before the next."""
        reason = netns_available() if self.use_netns is not False else "--no-netns was asked"
        if reason is None:
            self.network = Network(self.id)
            self.network.create()
        else:
            self.fallback_reason = reason
            log.warning("network namespaces unavailable (%s): hosts share 127.0.0.1", reason)
        for name in ("postgres", "prefect", "api"):
            self._add_host(name)
        self.variables["LIGHTNING_BASE_URL"] = self.api_url
        self.variables["PREFECT_UI_API_URL"] = self.prefect_api_url
        self._start_postgres()
        self._start_service("prefect", "prefect")
        # compose's one-shot `migrate` service, run on the API host before the API starts
        self.run_on("api", self.services["migrate"].command, service="migrate")
        self._start_service("api", "api")
        for _ in range(self.workers):
            self.add_worker("worker")
        for _ in range(self.prefect_workers):
            self.add_worker("prefect-worker")

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL of what is left, children included),
        remove the namespaces, the bridge and the files. Safe to call twice."""
        for name in reversed(list(self.processes)):
            self.stop_host(name, timeout=10)
        if self.network is not None:
            self.network.destroy()
        if self.keep_logs is not None and self.root.exists():
            self.keep_logs.mkdir(parents=True, exist_ok=True)
            for path in self.root.glob("*/output.log"):
                shutil.copy(path, self.keep_logs / f"{path.parent.name}.log")
        shutil.rmtree(self.root, ignore_errors=True)

    def stop_host(self, name: str, timeout: float = 30) -> int | None:
        """SIGTERM the host's process (a graceful stop), SIGKILL its tree after `timeout`;
        returns its exit code."""
        running = self.processes.pop(name, None)
        if running is None:
            return None
        tree = running.pids()
        if running.proc.poll() is None:
            running.proc.send_signal(signal.SIGTERM)
            try:
                running.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("host %s did not stop within %.0f s: killed", name, timeout)
        kill_tree(running.proc.pid, tree)
        running.proc.wait()
        return running.proc.returncode

    def kill_host(self, name: str) -> None:
        """The host's process tree dies at once (a crashed machine, not a stop)."""
        running = self.processes.pop(name)
        kill_tree(running.proc.pid, running.pids())
        running.proc.wait()

    def cut(self, name: str) -> None:
        """The host's network goes down (its link inside its namespace); processes live on."""
        if self.network is None:
            raise RuntimeError(f"no network namespaces here ({self.fallback_reason})")
        self.network.set_link(name, up=False)

    def restore(self, name: str) -> None:
        if self.network is None:
            raise RuntimeError(f"no network namespaces here ({self.fallback_reason})")
        self.network.set_link(name, up=True)

    def add_worker(self, kind: str = "worker") -> str:
        """One more worker host (`worker` or Prefect's stock `prefect-worker`); its name."""
        if kind not in WORKER_KINDS:
            raise ValueError(f"kind must be one of {WORKER_KINDS}")
        index = 1 + sum(1 for h in self.hosts if h.startswith(f"{kind}-"))
        name = f"{kind}-{index}"
        self._add_host(name)
        self._start_service(name, kind)
        return name

    # ------------------------------------------------------------------ addresses

    def address(self, name: str) -> str:
        return self.hosts[name].address

    def _url(self, name: str, service: str) -> str:
        port = self.ports.get(name) or self.services[service].port
        return f"http://{self.address(name)}:{port}"

    @property
    def api_url(self) -> str:
        """The API as a client on this machine reaches it."""
        return self._url("api", "api")

    @property
    def prefect_api_url(self) -> str:
        return self._url("prefect", "prefect") + "/api"

    @property
    def database_url(self) -> str:
        """The platform database, from this machine (for checks and fixtures)."""
        port = self.ports.get("postgres", 5432)
        return (
            f"postgresql+psycopg://{self._pg_user}:{self._pg_password}@"
            f"{self.address('postgres')}:{port}/lightning"
        )

    def worker_hosts(self) -> list[str]:
        return [n for n in self.processes if n.startswith(WORKER_KINDS)]

    def log_text(self, name: str) -> str:
        path = self.root / name / "output.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # ------------------------------------------------------------------ commands

    def environment(self, name: str, service: str) -> dict[str, str]:
        """What the host's process sees: its own home and data, the service's variables."""
        home = self.root / name
        for sub in ("home", "tmp", "data", "prefect"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home / "home"),
            "TMPDIR": str(home / "tmp"),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "LIGHTNING_DATA_DIR": str(home / "data"),
            "PREFECT_HOME": str(home / "prefect"),
            **fill(self.services[service].environment, self.variables),
        }
        if service in ("api", *WORKER_KINDS):
            env.update(self.settings)
        if service == "prefect-worker":
            env.setdefault("PREFECT_WORKER_QUERY_SECONDS", "2")
        if self.network is None:
            env = dict(zip(env, on_loopback(list(env.values()), self.ports), strict=True))
            if service == "api":
                env["LIGHTNING_PORT"] = str(self.ports["api"])
        return env

    def command(self, name: str, service: str) -> list[str]:
        argv = list(self.services[service].command)
        if self.network is None:
            argv = on_loopback(argv, self.ports)
            if "--port" in argv:
                argv[argv.index("--port") + 1] = str(self.ports[name])
        return self.hosts[name].prefix() + argv

    def run_on(self, name: str, argv: list[str], service: str = "api") -> str:
        """Run a one-off command on a host (e.g. `lightning-flows users create`); stdout."""
        done = subprocess.run(  # nosec B603
            self.hosts[name].prefix() + argv,
            env=self.environment(name, service),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[:3]} on {name} failed: {done.stderr[-2000:]}")
        return done.stdout

    def api_token(self, email: str = "admin@example.org") -> str:
        """A superuser and a personal access token, made on the API host with the CLI."""
        secret = ["--password", secrets.token_urlsafe(16)]
        self.run_on(
            "api",
            ["lightning-flows", "users", "create", "--superuser", f"--email={email}", *secret],
        )
        return self.run_on("api", ["lightning-flows", "tokens", "create", "--email", email])

    # ------------------------------------------------------------------ hosts

    def _add_host(self, name: str) -> None:
        if self.network is not None:
            self.hosts[name] = self.network.add_host(name)
            return
        from lightning_flows.engine.prefect.server import free_port

        self.hosts[name] = Host(name=name, address="127.0.0.1", namespace=None)
        self.ports[name] = free_port()

    def _spawn(self, name: str, service: str, argv: list[str], env: dict[str, str]) -> None:
        home = self.root / name
        home.mkdir(parents=True, exist_ok=True)
        log_path = home / "output.log"
        with log_path.open("ab") as out:
            proc = subprocess.Popen(  # nosec B603
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.processes[name] = HostProcess(self.hosts[name], service, proc, log_path, home)

    def _start_service(self, name: str, service: str) -> None:
        self._spawn(name, service, self.command(name, service), self.environment(name, service))
        spec = self.services[service]
        if spec.health:
            self._wait_http(name, self._url(name, service) + spec.health)
        elif service == "worker":
            self._wait_worker_registered(name)
        else:
            time.sleep(1.0)
            self._check_alive(name)

    def _check_alive(self, name: str) -> None:
        proc = self.processes[name].proc
        if proc.poll() is not None:
            raise RuntimeError(
                f"host {name} exited with {proc.returncode}:\n{self.log_text(name)[-3000:]}"
            )

    def _wait_http(self, name: str, url: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive(name)
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"host {name} did not answer {url} within {timeout:.0f} s")

    def _wait_worker_registered(self, name: str, timeout: float = 120) -> None:
        """A worker is up once its heartbeat row (hostname = host name) is in the database."""
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive(name)
            with psycopg.connect(self._pg_dsn(), autocommit=True) as conn:
                if self.network is not None:  # each host has its own hostname
                    sql, params = "SELECT count(*) FROM workers WHERE hostname = %s", (name,)
                    wanted = 1
                else:  # side by side on this machine: one more worker row than before
                    sql, params = (
                        "SELECT count(*) FROM workers WHERE hostname = %s",
                        (socket.gethostname(),),
                    )
                    wanted = sum(1 for n in self.processes if n.startswith("worker-"))
                (count,) = conn.execute(sql, params).fetchone() or (0,)
            if count >= wanted:
                return
            time.sleep(0.3)
        raise RuntimeError(f"worker host {name} did not start within {timeout:.0f} s")

    # ------------------------------------------------------------------ PostgreSQL

    @property
    def _pg_user(self) -> str:
        return self.services["postgres"].environment["POSTGRES_USER"]

    @property
    def _pg_password(self) -> str:
        """The compose file's password (services.yaml): the hosts' network is private."""
        return self.services["postgres"].environment["POSTGRES_PASSWORD"]

    def _pg_dsn(self, database: str = "lightning") -> str:
        port = self.ports.get("postgres", 5432)
        return (
            f"host={self.address('postgres')} port={port} user={self._pg_user} "
            f"password={self._pg_password} dbname={database} connect_timeout=3"
        )

    def _start_postgres(self) -> None:
        """initdb into the host's directory and run `postgres` as the `postgres` OS user
        (it refuses root), listening on the host's address with password auth."""
        spec = self.services["postgres"]
        home = self.root / "postgres"
        data, sockets = home / "data", home / "sockets"
        for folder in (home, sockets):
            folder.mkdir(parents=True, exist_ok=True)
            shutil.chown(folder, "postgres", "postgres")
        pwfile = home / "pwfile"
        pwfile.write_text(self._pg_password)
        shutil.chown(pwfile, "postgres", "postgres")
        auth = [f"--pwfile={pwfile}", "-A", "scram-sha-256", "--auth-local=trust", "--no-sync"]
        as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        subprocess.run(  # nosec B603
            [*as_postgres, str(PG_BIN / "initdb"), "-D", str(data), "-U", self._pg_user, *auth],
            capture_output=True,
            check=True,
            timeout=120,
        )
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 0.0.0.0/0 scram-sha-256\n")
        port = self.ports.get("postgres", spec.port or 5432)
        listen = "127.0.0.1" if self.network is None else "*"
        argv = [*as_postgres, str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port)]
        argv += ["-c", f"listen_addresses={listen}", "-k", str(sockets)]
        argv += ["-c", "max_connections=300"]
        self._spawn("postgres", "postgres", self.hosts["postgres"].prefix() + argv, {"LANG": "C"})
        self._wait_postgres()
        import psycopg

        with psycopg.connect(self._pg_dsn("postgres"), autocommit=True) as conn:
            for name in spec.extra.get("databases", []):
                conn.execute(f'CREATE DATABASE "{name}"')  # names from services.yaml

    def _wait_postgres(self, timeout: float = 60) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            self._check_alive("postgres")
            try:
                with psycopg.connect(self._pg_dsn("postgres"), autocommit=True):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
