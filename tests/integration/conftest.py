"""Real HAPI FHIR JPA servers (R4 and R5) for the integration tests.

Session fixtures ``hapi_r4_url`` and ``hapi_r5_url`` give a base URL such as
``http://127.0.0.1:43121/fhir``. For each version:

- if ``MONO2FHIR_TEST_HAPI_R4`` / ``MONO2FHIR_TEST_HAPI_R5`` is set, that running server is used
  (nothing is started or stopped);
- else if ``java`` is missing, or ``mvn`` is missing and the server was never built, the tests that
  need it are skipped;
- else ``interop/hapi-server/hapi-server start`` boots one on a free port and it is stopped when the
  session ends (the server also stops by itself if this pytest process dies).

Booting takes about a minute per server on 2 idle cores (several on a busy machine), so both servers
are launched in the background as soon as collection shows that integration tests will run, and the
integration tests are moved to the end of the run: the unit tests run while the servers boot.
``MONO2FHIR_TEST_HAPI_TIMEOUT`` (seconds, default 600) bounds the wait for one server.

A server that checks a bearer token (401 + OperationOutcome unless ``Authorization: Bearer T``;
``GET /fhir/metadata`` stays public) is started with
``interop/hapi-server/hapi-server start --fhir-version R4 --port N --auth-token T`` and stopped with
``hapi-server stop --port N``.

Every test in this folder gets the ``integration`` marker (``pytest -m "not integration"`` skips them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "interop" / "hapi-server" / "hapi-server"
HERE = Path(__file__).resolve().parent
VERSIONS = ("R4", "R5")


def _env_url(version: str) -> str | None:
    url = os.environ.get(f"MONO2FHIR_TEST_HAPI_{version}", "").strip()
    return url.rstrip("/") or None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _why_not_startable() -> str | None:
    """None when this machine can build and run the server, else the reason to skip."""
    if shutil.which("java") is None:
        return "java is not installed: cannot run the HAPI FHIR test server"
    built = (SCRIPT.parent / "target" / ".build-stamp").exists()
    if shutil.which("mvn") is None and not built:
        return "mvn is not installed: cannot build the HAPI FHIR test server (interop/hapi-server)"
    return None


class _Server:
    """One ``hapi-server start`` launched in the background; ``url()`` waits for it."""

    def __init__(self, version: str, state_dir: Path) -> None:
        self.version = version
        self.port = _free_port()
        self.state_dir = state_dir
        self.started_at = time.monotonic()
        self.boot_seconds: float | None = None
        self._url: str | None = None
        self._error: str | None = None
        self._stderr = open(state_dir / f"start-{version}.err", "w+")  # noqa: SIM115
        timeout = os.environ.get("MONO2FHIR_TEST_HAPI_TIMEOUT", "600")
        self.proc = subprocess.Popen(
            [str(SCRIPT), "start", "--fhir-version", version, "--port", str(self.port),
             "--state-dir", str(state_dir), "--timeout", timeout, "--exit-with-pid", str(os.getpid())],
            stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL, text=True,
        )

    def url(self) -> str:
        if self._url is None and self._error is None:
            out, _ = self.proc.communicate()
            self.boot_seconds = time.monotonic() - self.started_at
            self._stderr.seek(0)
            err = self._stderr.read()
            if self.proc.returncode == 0 and out.strip():
                self._url = out.strip().splitlines()[-1]
            else:
                self._error = (f"HAPI {self.version} test server did not start "
                               f"(exit {self.proc.returncode}):\n{err[-4000:]}")
        if self._error is not None:
            pytest.fail(self._error, pytrace=False)
        return self._url  # type: ignore[return-value]

    def stop(self) -> None:
        if self.proc.poll() is None:  # still booting
            self.proc.terminate()
            self.proc.wait(30)
        subprocess.run([str(SCRIPT), "stop", "--port", str(self.port), "--state-dir", str(self.state_dir)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)
        self._stderr.close()


class _Servers:
    def __init__(self) -> None:
        self.servers: dict[str, _Server] = {}
        self.state_dir: Path | None = None

    def launch(self, versions) -> None:
        """Start the servers that are neither running already nor provided by the environment."""
        if _why_not_startable() is not None:
            return
        for version in versions:
            if version in self.servers or _env_url(version):
                continue
            if self.state_dir is None:
                self.state_dir = Path(tempfile.mkdtemp(prefix="mono2fhir-hapi-"))
            self.servers[version] = _Server(version, self.state_dir)

    def url(self, version: str) -> str:
        env = _env_url(version)
        if env:
            return env
        reason = _why_not_startable()
        if reason:
            pytest.skip(reason)
        self.launch([version])
        return self.servers[version].url()

    def stop_all(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None


_SERVERS = _Servers()


SERVER_FIXTURES = {"hapi_r4_url": ("R4",), "hapi_r5_url": ("R5",), "hapi": ("R4", "R5")}


def _is_integration(item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


def _versions_needed(items) -> list[str]:
    """The server versions the selected tests ask for through their fixtures."""
    wanted = {v for item in items for name in getattr(item, "fixturenames", ()) for v in SERVER_FIXTURES.get(name, ())}
    return [v for v in VERSIONS if v in wanted]


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs a real HAPI FHIR server (tests/integration)")


def pytest_collection_modifyitems(session, config, items):
    # Mark this folder's tests, and run them last so that the servers boot while unit tests run.
    unit, integration = [], []
    for item in items:
        if _is_integration(item):
            item.add_marker(pytest.mark.integration)
            integration.append(item)
        else:
            unit.append(item)
    items[:] = unit + integration


def pytest_collection_finish(session):
    # Only now is the final selection (after -k / -m) known: boot the servers it needs, in the background.
    versions = _versions_needed(session.items)
    if versions:
        _SERVERS.launch(versions)


def pytest_sessionfinish(session, exitstatus):
    _SERVERS.stop_all()


@pytest.fixture(scope="session")
def hapi_r4_url() -> str:
    """Base URL of a HAPI FHIR R4 JPA server (H2 in memory), e.g. http://127.0.0.1:8181/fhir."""
    return _SERVERS.url("R4")


@pytest.fixture(scope="session")
def hapi_r5_url() -> str:
    """Base URL of a HAPI FHIR R5 JPA server (H2 in memory), e.g. http://127.0.0.1:8182/fhir."""
    return _SERVERS.url("R5")
