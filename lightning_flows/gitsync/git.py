"""The `git` binary, run without a shell in a private temporary workspace.

Credentials never appear on a command line: a token goes in an HTTP header
set through `GIT_CONFIG_*` variables, an SSH key in a 0600 file that is
deleted with the workspace. Only https, ssh (and, when allowed, local) remotes
are accepted, so remote helpers such as `ext::` cannot run commands.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import subprocess  # nosec B404
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from lightning_flows.core.config import get_settings

_SSH_SCP = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$")


class GitError(Exception):
    """A git command failed; the message is safe to show (no secrets)."""


@dataclass(frozen=True)
class GitAuth:
    kind: str = "none"  # none | token | ssh_key
    secret: str | None = None
    known_hosts: str | None = None


def check_remote(url: str) -> None:
    """Refuse remotes other than https/ssh (and local ones when the instance allows them)."""
    if url.startswith("-") or any(c.isspace() for c in url):
        raise GitError("The remote URL must not start with '-' or contain spaces.")
    if url.startswith(("https://", "ssh://")) or _SSH_SCP.match(url):
        return
    if get_settings().git_sync_allow_local_remotes and (
        url.startswith("file://") or os.path.isabs(url)
    ):
        return
    raise GitError(
        f"Use an https:// or ssh:// remote (or git@host:owner/repo.git); '{url}' is not accepted."
    )


class Workspace:
    """A temporary directory with a checkout of one branch of a remote."""

    def __init__(self, url: str, branch: str, auth: GitAuth) -> None:
        check_remote(url)
        self.url, self.branch, self.auth = url, branch, auth
        self._tmp = Path(tempfile.mkdtemp(prefix="lightning-git-"))
        self.dir = self._tmp / "repo"
        self.env = self._environment()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _environment(self) -> dict[str, str]:
        protocols = "https:ssh" + (":file" if get_settings().git_sync_allow_local_remotes else "")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self._tmp),
            "LANG": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ALLOW_PROTOCOL": protocols,
        }
        if self.auth.kind == "token" and self.auth.secret:
            basic = base64.b64encode(f"x-access-token:{self.auth.secret}".encode()).decode()
            env.update(
                GIT_CONFIG_COUNT="1",
                GIT_CONFIG_KEY_0="http.extraHeader",
                GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
            )
        elif self.auth.kind == "ssh_key" and self.auth.secret:
            key = self._private_file("id_key", self.auth.secret.strip() + "\n")
            hosts = self._private_file("known_hosts", self.auth.known_hosts or "")
            checking = "yes" if self.auth.known_hosts else "accept-new"
            env["GIT_SSH_COMMAND"] = (
                f"ssh -i {shlex.quote(str(key))} -o IdentitiesOnly=yes -o BatchMode=yes "
                f"-o UserKnownHostsFile={shlex.quote(str(hosts))} "
                f"-o StrictHostKeyChecking={checking}"
            )
        return env

    def _private_file(self, name: str, content: str) -> Path:
        path = self._tmp / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
        return path

    def _run(self, args: tuple[str, ...], cwd: Path | None) -> subprocess.CompletedProcess[str]:
        git = shutil.which("git")
        if git is None:
            raise GitError("git is not installed on this server (apt-get install git).")
        try:
            return subprocess.run(  # nosec B603
                [git, *args],
                cwd=cwd or self.dir,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=get_settings().git_timeout_seconds,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GitError(f"git {args[0]} could not run: {exc}") from exc

    def git(self, *args: str, cwd: Path | None = None) -> str:
        """Run git; GitError with git's own message when it fails."""
        result = self._run(args, cwd)
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip().splitlines()
            raise GitError(f"git {args[0]} failed: {' '.join(message[-3:]) or result.returncode}")
        return result.stdout.strip()

    def remote_head(self) -> str | None:
        """The commit the branch points at on the remote, or None if it does not exist."""
        out = self.git("ls-remote", "--", self.url, f"refs/heads/{self.branch}", cwd=self._tmp)
        return out.split()[0] if out else None

    def checkout(self, head: str | None) -> None:
        """Clone the branch (all its history), or start it when the remote has no such branch."""
        if head is None:
            self.dir.mkdir()
            self.git("init", "-q", "-b", self.branch)
            self.git("remote", "add", "origin", "--", self.url)
            return
        self.git(
            "clone", "-q", "--branch", self.branch, "--single-branch", "--", self.url,
            str(self.dir), cwd=self._tmp,
        )  # fmt: skip

    def contains(self, ancestor: str, head: str) -> bool:
        """Whether `ancestor` is `head` or in its history."""
        return self._exists(ancestor) and self._ok("merge-base", "--is-ancestor", ancestor, head)

    def _exists(self, commit: str) -> bool:
        return self._ok("cat-file", "-e", f"{commit}^{{commit}}")

    def _ok(self, *args: str) -> bool:
        return self._run(args, None).returncode == 0

    def commit(self, paths: list[str], name: str, email: str, message: str) -> str | None:
        """Stage `paths` and commit as `name <email>`; None when nothing changed."""
        self.git("add", "-A", "--", *paths)
        if self._ok("diff", "--cached", "--quiet"):
            return None
        env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email}
        env |= {"GIT_COMMITTER_NAME": "Lightning Flows", "GIT_COMMITTER_EMAIL": _platform_email()}
        self.env.update(env)
        self.git("commit", "-q", "--no-gpg-sign", "-m", message)
        return self.git("rev-parse", "HEAD")

    def push(self) -> None:
        self.git("push", "-q", "origin", f"HEAD:refs/heads/{self.branch}")


def _platform_email() -> str:
    from email.utils import parseaddr

    return parseaddr(get_settings().mail_from)[1] or "lightning-flows@localhost"
