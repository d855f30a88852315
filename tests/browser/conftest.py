"""Fixtures for the browser tests: a simulator, a JupyterLab server on loopback, headless Chromium.

JupyterLab runs with a private config/runtime/settings tree (news and update checks off) and
a fresh copy of the notebooks in a temp root dir. The server gets the simulator through
``ESXNB_URI`` / ``ESXNB_USERNAME`` / ``ESXNB_PASSWORD`` / ``ESXNB_CA_FILE``. Chromium is
Debian's (``/usr/bin/chromium``), driven by Playwright; never ``playwright install``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from esxnb.simulator import Simulator

HERE = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# JupyterLab never outlives a crashed test run by more than this (seconds).
SERVER_LIFETIME_S = 600


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    sim: Simulator
    uri: str  # what the notebook gets as ESXNB_URI

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where screenshots go: ``$ESXNB_SCREENSHOT_DIR`` or ``test-output/screenshots``."""
    path = Path(os.environ.get("ESXNB_SCREENSHOT_DIR") or HERE.parent.parent / "test-output" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def forms_sim() -> Iterator[Simulator]:
    """A vCenter with one cluster of two hosts (2 VMs each) and one standalone host."""
    with Simulator("vpx", clusters=1, hosts=2, standalone_hosts=1, vms=2) as sim:
        yield sim


def _prepare(forms_sim: Simulator, base: Path) -> tuple[Path, dict[str, str], str]:
    """A root dir with fresh notebook copies, private Jupyter dirs, and the server's environment."""
    root, config, runtime, ipython = (base / name for name in ("root", "config", "runtime", "ipython"))
    for path in (root, config / "labconfig", runtime, ipython):
        path.mkdir(parents=True)
    for notebook in HERE.glob("*.ipynb"):
        shutil.copy(notebook, root / notebook.name)
    (config / "labconfig" / "default_setting_overrides.json").write_text(
        json.dumps(
            {
                "@jupyterlab/apputils-extension:notification": {
                    "checkForUpdates": False,
                    "fetchNews": "false",
                },
                "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True},
            }
        )
    )
    uri = f"vpx://{forms_sim.host}:{forms_sim.port}/DC0"  # the whole datacenter: every host's domains
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "IPYTHONDIR": str(ipython),
        "ESXNB_URI": uri,
        "ESXNB_USERNAME": forms_sim.username,
        "ESXNB_PASSWORD": forms_sim.password,
        "ESXNB_CA_FILE": str(forms_sim.ca_file),
    }
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    return root, env, uri


def _serve(command: list[str], env: dict[str, str], log_path: Path, ready_url: str) -> subprocess.Popen:
    """Start a Jupyter server (bounded by ``timeout -s INT``) and wait until ``ready_url`` answers."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["timeout", "-s", "INT", str(SERVER_LIFETIME_S), *command],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{command[2]} exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(ready_url, timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            pass
        if time.monotonic() > deadline:
            _stop(process)
            raise RuntimeError(f"{command[2]} did not answer within 60 s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


@pytest.fixture(scope="module")
def lab(forms_sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on loopback serving fresh copies of this folder's notebooks."""
    _need_chromium()
    base = tmp_path_factory.mktemp("lab")
    root, env, uri = _prepare(forms_sim, base)
    token = secrets.token_hex(16)
    port = _free_port()
    command = [
        sys.executable, "-m", "jupyterlab",
        "--allow-root", "--no-browser", "--ip", "127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.news_url=",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    process = _serve(command, env, base / "jupyterlab.log", f"{url}/api/status?token={token}")
    try:
        yield Lab(url, token, root, forms_sim, uri)
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def voila(forms_sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Voila on loopback rendering ``forms.ipynb`` (it runs the notebook when the page loads)."""
    _need_chromium()
    base = tmp_path_factory.mktemp("voila")
    root, env, uri = _prepare(forms_sim, base)
    token = secrets.token_hex(16)
    port = _free_port()
    command = [
        sys.executable, "-m", "voila", str(root / "forms.ipynb"),
        "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}", "--Voila.port_retries=0",
        f"--token={token}",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    process = _serve(command, env, base / "voila.log", f"{url}/voila/static/voila.js")
    try:
        yield Lab(url, token, root, forms_sim, uri)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGINT twice (Jupyter's own quick shutdown: kernels are stopped too), then SIGKILL."""
    if process.poll() is not None:
        return
    for _ in range(2):
        try:
            os.killpg(process.pid, signal.SIGINT)
        except ProcessLookupError:
            return
        time.sleep(0.3)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
