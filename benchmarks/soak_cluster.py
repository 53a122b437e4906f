"""A PostgreSQL cluster of the soak's own (initdb + pg_ctl into a temporary directory, on
another port), so restarting it disturbs nothing else on the machine.

PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` OS user
(`runuser`); as any other user it is that user's.
"""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class Cluster:
    """initdb'd on construction; `start`, `restart`, `stop`; `remove` deletes it."""

    def __init__(self, port: int) -> None:
        if not (PG_BIN / "initdb").exists():
            raise SystemExit(f"{PG_BIN}/initdb not found: set PG_BIN to PostgreSQL's bin directory")
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="lf-soak-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": "300",
            "shared_buffers": "128MB",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _run(self, *argv: object) -> None:
        subprocess.run(  # nosec B603
            [*self._as, *map(str, argv)], check=True, capture_output=True, timeout=120
        )

    def _ctl(self, action: str, *extra: str) -> None:
        self._run(PG_BIN / "pg_ctl", action, "-D", self.data, "-l", self.log, "-w", *extra)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """A fast restart: every connection is cut, in-flight transactions roll back."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("stop", "-m", "fast")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, driver: str = "psycopg") -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        self._run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", name)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
