"""``esxnb lab``: a simulator plus JupyterLab on notebooks/, handed over through ESXNB_* variables."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from esxnb import lab, labenv
from esxnb.errors import CredentialError, EsxnbError
from esxnb.simulator import Simulator, ensure_built, free_port_on

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ESXNB_", "JUPYTER"))}
    env["ESXNB_CACHE"] = os.environ.get("ESXNB_CACHE") or str(Path.home() / ".cache" / "esxnb")
    env["HOME"] = str(tmp_path / "home")
    env["JUPYTER_TOKEN"] = "esxnb-lab-test"
    env.update(extra)
    return env


def _children(pid: int) -> dict[int, str]:
    """Child pid -> command line."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {
        int(child): Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        for child in text.split()
    }


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _lab_command(port: int) -> list[str]:
    """``esxnb lab`` on loopback ``port``, without a browser; Jupyter must not pick another port."""
    return [
        sys.executable,
        "-m",
        "esxnb.lab",
        "--no-browser",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--",
        "--ServerApp.port_retries=0",
    ]


@pytest.mark.simulator
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc to find the Jupyter process")
def test_lab_starts_simulator_and_jupyter_and_stops_cleanly(tmp_path: Path) -> None:
    ensure_built()
    (tmp_path / "home").mkdir()
    port = free_port_on("127.0.0.1")
    command = _lab_command(port)
    log_path = tmp_path / "lab.log"
    log = log_path.open("a")  # O_APPEND: the lab and Jupyter share it
    process = subprocess.Popen(
        command, env=_env(tmp_path), stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = _get_json(f"{base}/api/status?token=esxnb-lab-test")
                break
            except OSError:
                time.sleep(0.3)
        assert status is not None, f"JupyterLab did not answer; log:\n{log_path.read_text()[-3000:]}"

        # It serves notebooks/ from the checkout, whatever the current directory.
        listing = _get_json(f"{base}/api/contents?token=esxnb-lab-test")
        names = {item["name"] for item in listing["content"]}
        assert "01-quickstart.ipynb" in names

        # The Jupyter server (and so every kernel) got the simulator in its environment.
        (jupyter_pid,) = [pid for pid, line in _children(process.pid).items() if "jupyterlab" in line]
        env = _environ_of(jupyter_pid)
        assert env["ESXNB_URI"].startswith("vpx://127.0.0.1:")
        assert Path(env["ESXNB_CA_FILE"]).is_file()
        # ... and the handle on its control API, which `lab.simulator` uses in a notebook.
        handle = labenv.open_lab(environ=env).simulator
        assert handle is not None and handle.attached and handle.estate == "demo"
        assert handle.control("ping")["mode"] == "vpx"
        # It opens on the quickstart, without the news toast.
        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(f"{base}/?token=esxnb-lab-test")
        assert redirect.value.headers["Location"].split("?")[0].endswith("/lab/tree/01-quickstart.ipynb")
        notification = _get_json(
            f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification?token=esxnb-lab-test"
        )
        defaults = {k: v.get("default") for k, v in notification["schema"]["properties"].items()}
        assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False  # overrides.json
        import esxnb

        with esxnb.connect(
            env["ESXNB_URI"],
            auth=(env["ESXNB_USERNAME"], env["ESXNB_PASSWORD"]),
            ca_file=env["ESXNB_CA_FILE"],
        ) as conn:
            assert conn.is_vcenter
        printed = log_path.read_text()
        assert env["ESXNB_URI"] in printed
        assert env["ESXNB_PASSWORD"] not in printed, "the lab printed the password"
        assert env["ESXNB_SIMULATOR_TOKEN"] not in printed, "the lab printed the control token"

        sim_port = int(env["ESXNB_URI"].split(":")[2].split("/")[0])
        state_dir = Path(env["ESXNB_CA_FILE"]).parent
        process.send_signal(signal.SIGINT)  # Ctrl-C: a normal way to stop, status 0
        assert process.wait(timeout=30) == 0
        assert "esxnb lab stopped." in log_path.read_text()
        assert (
            not Path(f"/proc/{jupyter_pid}").exists()
            or "zombie" in Path(f"/proc/{jupyter_pid}/status").read_text()
        )
        assert not _port_open("127.0.0.1", port), "JupyterLab still listens"
        assert not _port_open("127.0.0.1", sim_port), "the simulator still listens"
        assert not state_dir.exists(), "the simulator left its files behind"
    finally:
        if process.poll() is None:
            process.terminate()  # lets the lab stop Jupyter and the simulator
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@pytest.mark.simulator
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")
def test_jupyter_does_not_outlive_a_killed_lab(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    port = free_port_on("127.0.0.1")
    command = _lab_command(port)
    process = subprocess.Popen(
        command, env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not _port_open("127.0.0.1", port):
            assert process.poll() is None, "the lab exited early"
            time.sleep(0.3)
        children = _children(process.pid)
        jupyter = [pid for pid, line in children.items() if "jupyterlab" in line]
        launcher = [pid for pid, line in children.items() if "vcsim" in line]
        state_dirs = [
            line.split("-state-dir ", 1)[1].split()[0] for line in children.values() if "-state-dir " in line
        ]
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        _port_open("127.0.0.1", port) or any(_alive(p) for p in jupyter + launcher)
    ):
        time.sleep(0.3)
    # A SIGKILLed lab cannot remove the simulator's state folder (its CA certificate); this test does.
    for state_dir in state_dirs:
        shutil.rmtree(state_dir, ignore_errors=True)
    assert not any(_alive(pid) for pid in jupyter), "JupyterLab outlived the killed lab"
    assert not any(_alive(pid) for pid in launcher), "the simulator outlived the killed lab"


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_lab_uses_esxnb_uri_without_starting_a_simulator(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = _env(tmp_path, ESXNB_URI="esx://esx.example.com/")
    # `--version` makes JupyterLab print its version and exit: enough to see what lab did.
    result = subprocess.run(
        [sys.executable, "-m", "esxnb.lab", "--", "--version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "using the server in ESXNB_URI=esx://esx.example.com/" in result.stderr
    assert "simulator ready" not in result.stderr


def test_jupyter_command_flags() -> None:
    parser = argparse.ArgumentParser()
    lab.add_arguments(parser)
    args = parser.parse_args(["--port", "9999", "--ip", "127.0.0.5", "--no-browser", "--", "--LabApp.x=1"])
    command = lab.jupyter_command(args, Path("/nb"))
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.root_dir=/nb" in command
    assert "--ServerApp.port=9999" in command
    assert "--ServerApp.ip=127.0.0.5" in command
    assert "--no-browser" in command
    assert command[-1] == "--LabApp.x=1"
    default = lab.jupyter_command(parser.parse_args([]), Path("/nb"))
    assert "--no-browser" not in default and "--ServerApp.port=8888" in default
    assert "--LabApp.news_url=" in default and not any("default_url" in a for a in default)
    settings = next(a for a in default if a.startswith("--LabApp.app_settings_dir="))
    overrides = json.loads((Path(settings.split("=", 1)[1]) / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def test_jupyter_opens_the_quickstart_when_it_is_there(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    lab.add_arguments(parser)
    (tmp_path / "01-quickstart.ipynb").write_text("{}")
    command = lab.jupyter_command(parser.parse_args([]), tmp_path)
    assert "--LabApp.default_url=/lab/tree/01-quickstart.ipynb" in command


def test_simulator_only_needs_an_env_file() -> None:
    parser = argparse.ArgumentParser()
    lab.add_arguments(parser)
    with pytest.raises(EsxnbError, match="--env-file"):
        lab.run(parser.parse_args(["--simulator-only"]))


def test_env_file_is_private_and_shell_quoted(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "lab.env"
    lab.write_env_file(target, {"ESXNB_URI": "vpx://h/DC0?x=1&y=2", "ESXNB_PASSWORD": "it's $secret"})
    assert target.stat().st_mode & 0o777 == 0o600
    shown = subprocess.run(
        ["bash", "-c", f'. "{target}"; printf "%s|%s" "$ESXNB_URI" "$ESXNB_PASSWORD"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown == "vpx://h/DC0?x=1&y=2|it's $secret"


def test_cli_wires_the_lab_command() -> None:
    from esxnb import cli

    args = cli.build_parser().parse_args(["lab", "--no-browser", "--port", "8899"])
    assert args.run is lab.run and args.port == 8899 and args.no_browser


# -- the notebook side: esxnb.labenv ------------------------------------------------


def test_open_lab_from_environment_uses_credentials_from_env(tmp_path: Path) -> None:
    with Simulator("esx", vms=1) as sim:
        environ = {
            "ESXNB_URI": sim.uri,
            "ESXNB_USERNAME": sim.username,
            "ESXNB_PASSWORD": sim.password,
            "ESXNB_CA_FILE": sim.ca_file,
        }
        old = {k: os.environ.get(k) for k in environ}
        os.environ.update(environ)
        try:
            found = labenv.open_lab()
            assert found.simulators == [] and found.uri == sim.uri and found.ca_file == sim.ca_file
            with found.connect() as conn:
                assert conn.info()["username"] == sim.username
            assert sim.password not in repr(found) + repr(found.credentials(sim.host))
        finally:
            for key, value in old.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def test_open_lab_without_credentials_fails_clearly_outside_a_notebook(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LIBVIRT_AUTH_FILE", str(tmp_path / "none.conf"))
    monkeypatch.delenv("ESXNB_PASSWORD", raising=False)
    found = labenv.open_lab(environ={"ESXNB_URI": "esx://127.0.0.1:1/"})
    with pytest.raises(CredentialError, match="127.0.0.1"):
        found.credentials("127.0.0.1")


@pytest.mark.simulator
def test_open_lab_starts_and_stops_its_own_simulator(monkeypatch) -> None:
    for name in ("ESXNB_URI", "ESXNB_USERNAME", "ESXNB_PASSWORD", "ESXNB_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    own = labenv.open_lab(mode="esx", vms=1)
    try:
        assert own.simulator is not None and own.simulator.running
        assert os.environ["ESXNB_URI"] == own.uri  # exported for forms and shell commands
        with own.connect() as conn:
            assert not conn.is_vcenter
        assert own.simulator.password not in repr(own)
    finally:
        own.close()
    assert not own.simulators[0].running
    assert "ESXNB_URI" not in os.environ and "ESXNB_PASSWORD" not in os.environ


@pytest.mark.simulator
def test_notebooks_under_the_lab_get_its_simulator(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    """``lab.simulator`` works under ``esxnb lab`` as standalone: a handle on the lab's
    simulator; ``private=True`` gets a copy of the lab's estate; the lab's one is never
    stopped from a notebook."""
    with Simulator(estate="demo", seed=3, vms=20) as sim:
        env = labenv.simulator_environment(sim)
        for name, value in env.items():  # as in a kernel under `esxnb lab`
            monkeypatch.setenv(name, value)
        assert sim.password not in env["ESXNB_SIMULATOR"] and sim._token not in env["ESXNB_SIMULATOR"]
        shared = labenv.open_lab(environ=env)
        handle = shared.simulator
        assert handle is not None and handle.attached and (handle.host, handle.port) == (sim.host, sim.port)
        assert sim.password not in repr(handle) + repr(shared) and sim._token not in repr(handle)
        with shared.connect() as conn:
            name = conn.domains().query("state == 'running'")["name"].iloc[0]
            handle.set_tools(name, "toolsNotInstalled")
            tools = conn.domains().set_index("name")["tools_status"]
            assert tools[name] == "toolsNotInstalled"
            handle.set_tools(name, "toolsOk")
        own = labenv.open_lab(environ=env, private=True)
        try:
            assert own.simulator is not None and not own.simulator.attached
            assert (
                own.simulator.port != sim.port and own.simulator.estate == "demo" and own.simulator.seed == 3
            )
            with own.connect() as mine, shared.connect() as theirs:
                assert set(mine.domains()["name"]) == set(theirs.domains()["name"])
        finally:
            own.close()
        shared.close()
        assert sim.running and sim.control("ping"), "closing a notebook's lab stopped the lab's simulator"
        # A server without the handle (a real one): simulator-only cells say they are skipped.
        real = labenv.open_lab(environ={k: v for k, v in env.items() if not k.startswith("ESXNB_SIMULATOR")})
        assert real.simulator is None and real.simulator_only("slow tasks") is None
        assert "skipped on vpx://" in capsys.readouterr().out
        # A handle whose address is not the URI's is not attached to it.
        other = dict(env, ESXNB_URI=env["ESXNB_URI"].replace(f":{sim.port}/", ":1/"))
        assert labenv.open_lab(environ=other).simulator is None


def test_attach_refuses_a_broken_description() -> None:
    from esxnb.errors import SimulatorError
    from esxnb.simulator import attach

    assert attach({}) is None
    with pytest.raises(SimulatorError, match="ESXNB_SIMULATOR is not a simulator description"):
        attach({"ESXNB_SIMULATOR": "{not json", "ESXNB_SIMULATOR_TOKEN": "t"})
    with pytest.raises(SimulatorError, match="ESXNB_SIMULATOR_TOKEN is not"):
        attach(
            {
                "ESXNB_SIMULATOR": json.dumps(
                    {
                        "url": "u",
                        "host": "h",
                        "port": 1,
                        "mode": "vpx",
                        "counts": {"vms": 2},
                        "username": "u",
                        "transport": "https",
                    }
                )
            }
        )
