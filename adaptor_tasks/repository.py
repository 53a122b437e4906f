"""Where adaptor packages come from: the bundled node_modules, or npm into a cache directory."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess  # nosec B404
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adaptor_tasks.errors import AdaptorInstallError, AdaptorNotFoundError
from adaptor_tasks.models import AdaptorRef
from adaptor_tasks.pool import DEFAULT_NODE_DIR
from adaptor_tasks.specifiers import LATEST, AdaptorSpec, is_exact_version, parse_specifier

DEFAULT_BUNDLED_DIR = DEFAULT_NODE_DIR / "node_modules"
_NPM_TIMEOUT_S = 600.0
_NOT_FOUND_CODES = ("E404", "ETARGET", "404 Not Found", "No matching version")
_INSTALLED_MARKER = ".lightning-installed"


class AdaptorRepository:
    """Resolves adaptor specifiers to installed packages, installing from npm when needed.

    Installs are guarded by a file lock per package version, so several threads
    or processes sharing ``cache_dir`` never install the same version twice at once.
    """

    def __init__(
        self, cache_dir: Path, bundled_dir: Path = DEFAULT_BUNDLED_DIR, npm: str = "npm"
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.bundled_dir = Path(bundled_dir)
        self.npm = npm

    def bundled_version(self, name: str) -> str | None:
        """Version of ``name`` shipped in the bundled node_modules, if any."""
        return _package_version(self.bundled_dir / name)

    def resolve(self, specifier: str | AdaptorSpec) -> AdaptorRef:
        """Turn a specifier into an exact version and the directory it lives (or will live) in.

        ``latest`` means the bundled version when the adaptor is bundled, otherwise npm's latest.
        """
        spec = parse_specifier(specifier) if isinstance(specifier, str) else specifier
        version = spec.version
        if not is_exact_version(version):
            bundled = self.bundled_version(spec.name)
            version = bundled if version == LATEST and bundled else self._npm_view_version(spec)
        return AdaptorRef(
            name=spec.name, version=version, path=self._package_dir(spec.name, version)
        )

    def _package_dir(self, name: str, version: str) -> Path:
        if self.bundled_version(name) == version:
            return self.bundled_dir / name
        return self._install_root(name, version) / "node_modules" / name

    def _install_root(self, name: str, version: str) -> Path:
        return self.cache_dir / f"{name.replace('/', '__')}@{version}"

    def _npm_view_version(self, spec: AdaptorSpec) -> str:
        result = self._npm(
            ["view", f"{spec.name}@{spec.version}", "version", "--json"], timeout_s=120
        )
        if result.returncode != 0:
            raise _npm_error(f"cannot look up {spec}", result)
        try:
            versions = json.loads(result.stdout or "null")
        except json.JSONDecodeError as exc:
            raise AdaptorInstallError(
                f"unexpected answer from npm view {spec}: {result.stdout[:200]}"
            ) from exc
        if isinstance(versions, list):
            versions = versions[-1] if versions else None
        if not isinstance(versions, str) or not versions:
            raise AdaptorNotFoundError(f"no version of {spec.name} matches {spec.version!r}")
        return versions

    def ensure_installed(self, ref: AdaptorRef) -> Path:
        """Directory of the installed package; runs ``npm install`` into the cache when needed."""
        if self.bundled_version(ref.name) == ref.version:
            return self.bundled_dir / ref.name
        root = self._install_root(ref.name, ref.version)
        package_dir = root / "node_modules" / ref.name
        if (root / _INSTALLED_MARKER).exists():
            return package_dir
        with self._install_lock(root):
            if (root / _INSTALLED_MARKER).exists():
                return package_dir  # another worker finished it while we waited
            root.mkdir(parents=True, exist_ok=True)
            result = self._npm(
                [
                    "install",
                    "--prefix", str(root),
                    "--no-audit", "--no-fund", "--no-package-lock",
                    "--ignore-scripts", "--omit=dev",
                    f"{ref.name}@{ref.version}",
                ],
                timeout_s=_NPM_TIMEOUT_S,
            )  # fmt: skip
            if result.returncode != 0:
                shutil.rmtree(root, ignore_errors=True)
                raise _npm_error(f"cannot install {ref.specifier}", result)
            installed = _package_version(package_dir)
            if installed != ref.version:
                raise AdaptorInstallError(
                    f"npm installed {ref.name} {installed!r}, expected {ref.version}"
                )
            (root / _INSTALLED_MARKER).write_text(ref.version)
        return package_dir

    @contextmanager
    def _install_lock(self, root: Path) -> Iterator[None]:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        lock_path = root.with_name(root.name + ".lock")
        with open(lock_path, "a+") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _npm(self, args: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(  # nosec B603
                [self.npm, *args],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError as exc:
            raise AdaptorInstallError(f"npm is not available ({self.npm})") from exc
        except subprocess.TimeoutExpired as exc:
            raise AdaptorInstallError(f"npm {args[0]} took longer than {timeout_s:g}s") from exc

    def configuration_schema(self, ref: AdaptorRef) -> dict[str, Any] | None:
        """The adaptor's credential JSON schema (``configuration-schema.json``), if it ships one."""
        schema_path = self.ensure_installed(ref) / "configuration-schema.json"
        if not schema_path.exists():
            return None
        schema = json.loads(schema_path.read_text())
        return schema if isinstance(schema, dict) else None

    def operations(self, ref: AdaptorRef) -> list[dict[str, Any]]:
        """Operations as ``{name, description, params}``.

        From the package's ``ast.json`` (OpenFn's generated docs) when it ships one,
        otherwise the module's export names.
        """
        package_dir = self.ensure_installed(ref)
        ast_path = package_dir / "ast.json"
        if ast_path.exists():
            ast = json.loads(ast_path.read_text())
            entries = [*ast.get("operations", []), *ast.get("exports", []), *ast.get("common", [])]
            operations: dict[str, dict[str, Any]] = {}
            for entry in entries:
                name = entry.get("name")
                if isinstance(name, str) and name not in operations:
                    operations[name] = {
                        "name": name,
                        "description": (entry.get("docs") or {}).get("description") or "",
                        "params": list(entry.get("params") or []),
                    }
            if operations:
                return sorted(operations.values(), key=lambda op: str(op["name"]))
        return [
            {"name": name, "description": "", "params": []}
            for name in self._export_names(ref, package_dir)
        ]

    def _export_names(self, ref: AdaptorRef, package_dir: Path) -> list[str]:
        adaptor = json.dumps({"name": ref.name, "version": ref.version, "path": str(package_dir)})
        script = DEFAULT_NODE_DIR / "list-exports.mjs"
        try:
            result = subprocess.run(  # nosec B603 B607
                ["node", str(script), adaptor],
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AdaptorInstallError(f"cannot list the exports of {ref.specifier}: {exc}") from exc
        if result.returncode != 0:
            raise AdaptorInstallError(
                f"cannot list the exports of {ref.specifier}: {result.stderr.strip()}"
            )
        return [str(name) for name in json.loads(result.stdout)]


def _package_version(package_dir: Path) -> str | None:
    try:
        version = json.loads((package_dir / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        return None
    return version if isinstance(version, str) else None


def _npm_detail(output: str) -> str:
    """The informative lines of npm's error output, without prefixes and the log pointer."""
    lines = []
    for raw in output.splitlines():
        line = raw.removeprefix("npm error").removeprefix("npm ERR!").strip()
        line = line.removeprefix("404").strip()
        if line and "complete log of this run" not in line and not line.startswith("code "):
            lines.append(line)
    return "; ".join(lines[:2])


def _npm_error(what: str, result: subprocess.CompletedProcess[str]) -> Exception:
    output = (result.stderr or result.stdout or "").strip()
    detail = _npm_detail(output) or f"npm exited with {result.returncode}"
    if any(code in output for code in _NOT_FOUND_CODES):
        return AdaptorNotFoundError(f"{what}: {detail}")
    return AdaptorInstallError(f"{what}: {detail}")
