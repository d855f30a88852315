"""Fixtures for the browser tests: a simulator, Jupyter servers on loopback, headless Chromium.

JupyterLab, Notebook 7 and Voila each run with a private config/runtime/settings tree (news and
update checks off) and a fresh copy of the notebooks in a temp root dir. The servers get the
simulator through ``ESXNB_URI`` / ``ESXNB_USERNAME`` / ``ESXNB_PASSWORD`` / ``ESXNB_CA_FILE``.
Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright (never its own browser download).
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

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
# How long a page action waits for the widgets to answer (ms).
TIMEOUT_MS = 30_000
# Notebooks of notebooks/ the browser tests open too (besides this folder's own).
SHIPPED = ("dashboard-estate.ipynb",)
# A Jupyter server never outlives a crashed test run by more than this (seconds).
SERVER_LIFETIME_S = 600

# Builds a server's command line from (root dir, private base dir, port, token).
Command = Callable[[Path, Path, int, str], list[str]]


class FrontEnd(NamedTuple):
    """How to start one front end: its command line, the path that answers once it is up and
    the path of a notebook (``{token}`` and ``{name}`` filled in)."""

    command: Command
    ready_path: str
    notebook_path: str


@dataclass
class Server:
    """A Jupyter server on loopback serving fresh copies of this folder's notebooks."""

    url: str
    token: str
    root: Path
    sim: Simulator
    uri: str  # what the notebook gets as ESXNB_URI
    notebook_path: str  # where a notebook opens, with ``{name}`` for its file name
    log: Path  # the server's output, for failure messages

    def notebook_url(self, name: str = "forms.ipynb") -> str:
        return f"{self.url}{self.notebook_path.format(name=name)}?token={self.token}"

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's log (the token is blanked out)."""
        try:
            text = self.log.read_text(errors="replace")[-chars:]
        except OSError as err:
            return f"(no server log: {err})"
        return "server log:\n" + text.replace(self.token, "<token>")


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


def _prepare(sim: Simulator, base: Path, uri: str) -> tuple[Path, dict[str, str]]:
    """A root dir with fresh notebook copies, private Jupyter dirs, and the server's environment
    (``uri`` on ``sim`` as ``ESXNB_URI``)."""
    root, config, runtime, ipython = (base / name for name in ("root", "config", "runtime", "ipython"))
    for path in (root, config / "labconfig", runtime, ipython):
        path.mkdir(parents=True)
    for notebook in [*HERE.glob("*.ipynb"), *(HERE.parent.parent / "notebooks" / n for n in SHIPPED)]:
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
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "IPYTHONDIR": str(ipython),
        "ESXNB_URI": uri,
        "ESXNB_USERNAME": sim.username,
        "ESXNB_PASSWORD": sim.password,
        "ESXNB_CA_FILE": str(sim.ca_file),
    }
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    return root, env


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


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


def run_server(
    name: str,
    front_end: FrontEnd,
    sim: Simulator,
    tmp_path_factory: pytest.TempPathFactory,
    uri: str | None = None,
) -> Iterator[Server]:
    """Start one server in a fresh temp dir, yield it, and stop it (its kernels too). The
    notebooks get ``uri`` (default: ``sim``'s datacenter DC0, every host's domains).

    The server fixtures are per test: a server keeps its kernels between page loads.
    """
    _need_chromium()
    base = tmp_path_factory.mktemp(name)
    uri = uri or f"vpx://{sim.host}:{sim.port}/DC0"
    root, env = _prepare(sim, base, uri)
    token = secrets.token_hex(16)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    ready_url = url + front_end.ready_path.format(token=token)
    log = base / f"{name}.log"
    process = _serve(front_end.command(root, base, port, token), env, log, ready_url)
    try:
        yield Server(url, token, root, sim, uri, front_end.notebook_path, log)
    finally:
        _stop(process)


def _jupyter_app(module: str, app_class: str, *extra: str) -> Command:
    """The command line of a JupyterLab-based app (JupyterLab or Notebook 7) with ``window.jupyterapp``."""

    def command(root: Path, base: Path, port: int, token: str) -> list[str]:
        return [
            sys.executable, "-m", module,
            "--allow-root", "--no-browser", "--ip", "127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--{app_class}.expose_app_in_browser=True",
            f"--{app_class}.user_settings_dir={base / 'settings'}",
            f"--{app_class}.workspaces_dir={base / 'workspaces'}",
            *extra,
        ]  # fmt: skip

    return command


def voila_app(notebook: str) -> FrontEnd:
    """Voila rendering ``notebook`` (one of this folder's) at its root URL."""

    def command(root: Path, base: Path, port: int, token: str) -> list[str]:
        return [
            sys.executable, "-m", "voila", str(root / notebook),
            "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}", "--Voila.port_retries=0",
            f"--token={token}",
        ]  # fmt: skip

    return FrontEnd(command, "/voila/static/voila.js", "/")


_JUPYTER_READY = "/api/status?token={token}"


def jupyterlab_app() -> FrontEnd:
    return FrontEnd(
        _jupyter_app("jupyterlab", "LabApp", "--LabApp.news_url="), _JUPYTER_READY, "/lab/tree/{name}"
    )


def notebook7_app() -> FrontEnd:
    pytest.importorskip("notebook.app", reason="Notebook 7 is not installed (pip install 'notebook>=7.2')")
    return FrontEnd(_jupyter_app("notebook", "JupyterNotebookApp"), _JUPYTER_READY, "/notebooks/{name}")


@pytest.fixture
def lab(forms_sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab on loopback serving fresh copies of this folder's notebooks."""
    yield from run_server("lab", jupyterlab_app(), forms_sim, tmp_path_factory)


@pytest.fixture
def notebook7(forms_sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Jupyter Notebook 7 on loopback serving fresh copies of this folder's notebooks."""
    yield from run_server("notebook7", notebook7_app(), forms_sim, tmp_path_factory)


@pytest.fixture
def voila(forms_sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Voila on loopback rendering ``forms.ipynb`` (it runs the notebook when the page loads)."""
    yield from run_server("voila", voila_app("forms.ipynb"), forms_sim, tmp_path_factory)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
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


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh tab, closed after the test; it reaches only loopback (Voila's CDN fonts fail at once)."""
    tab = chromium.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("http://127.") else route.abort(),
    )
    yield tab
    tab.close()


# Both JupyterLab and Notebook 7 expose ``window.jupyterapp``. After the kernel_info reply the
# widget manager still trades a few messages with the kernel; cells run before it is done are
# lost. So: wait for an idle kernel that has been quiet for a second (the Lab status bar says
# "Idle" at about that moment; Notebook 7 has no status bar). A kernel that stays
# "connected/unknown" is not answering its shell channel: ipykernel 7.1 did that on 2 page loads
# of 30 (ipython/ipykernel#1554), which is why esxnb requires ipykernel 6.
KERNEL_SETTLED_JS = """async ([quietMs, timeoutMs]) => {
    const context = window.jupyterapp.shell.currentWidget.sessionContext;
    const deadline = performance.now() + timeoutMs;
    let changed = performance.now();
    context.statusChanged.connect(() => { changed = performance.now(); });
    for (;;) {
        const kernel = context.session && context.session.kernel;
        const state = kernel ? `${kernel.connectionStatus}/${kernel.status}` : "no kernel";
        if (state === "connected/idle" && performance.now() - changed >= quietMs) return state;
        if (performance.now() > deadline) return state;
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}"""


def run_all_cells(page: Any, server: Server, name: str = "forms.ipynb") -> None:
    """Open ``name`` in JupyterLab or Notebook 7 and run every cell once the kernel settled."""
    page.goto(server.notebook_url(name))
    page.wait_for_selector(".jp-Notebook")
    state = page.evaluate(KERNEL_SETTLED_JS, [1000, 60_000])
    assert state == "connected/idle", f"the kernel did not settle within 60 s: {state}\n{server.log_tail()}"
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def shot(locator: Any, directory: Path, name: str) -> Path:
    path = directory / f"{name}.png"
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def labels(select: Any) -> list[str]:
    """A select's option texts (ipywidgets shows spaces as U+00A0)."""
    return [label.replace("\xa0", " ") for label in select.locator("option").all_inner_texts()]
