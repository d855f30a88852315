"""``esxnb lab``: JupyterLab on the example notebooks, with a local simulator unless ``ESXNB_URI`` is set.

The simulator (the demo estate unless ``--estate none``) reaches the notebooks as ``ESXNB_*``
environment variables of the Jupyter server (see :mod:`esxnb.labenv`): its URI, credentials, CA
file, and a handle on its control API, so ``lab.simulator`` works there as standalone.
JupyterLab opens on ``01-quickstart.ipynb`` without asking about news or update checks.
``--simulator-only`` runs just the simulator and writes those variables to ``--env-file`` for a
shell to source (``binder/start``); it stops when its parent process exits.
Ctrl-C or SIGTERM stops Jupyter, then the simulator, and ends with status 0 (a normal way to stop).
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from .errors import EsxnbError
from .labenv import ENV_PASSWORD, ENV_URI, ENV_USERNAME, simulator_environment

__all__ = ["add_arguments", "run", "main", "notebooks_dir", "jupyter_command", "write_env_file"]

_STOP_TIMEOUT = 8.0


def notebooks_dir() -> Path:
    """The repository's ``notebooks/`` (beside the package in a checkout), else ``./notebooks``."""
    for candidate in (Path(__file__).resolve().parent.parent / "notebooks", Path.cwd() / "notebooks"):
        if candidate.is_dir():
            return candidate
    raise EsxnbError("cannot find the notebooks/ folder: run from the esxnb checkout or pass --notebook-dir")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    parser.add_argument("--ip", default="127.0.0.1", help="address JupyterLab listens on (default 127.0.0.1)")
    parser.add_argument("--no-browser", action="store_true", help="don't open a web browser")
    parser.add_argument(
        "--notebook-dir", type=Path, help="folder to serve (default: the checkout's notebooks/)"
    )
    parser.add_argument("--mode", choices=("vpx", "esx"), default="vpx", help="simulator kind (default vpx)")
    parser.add_argument(
        "--estate",
        choices=("demo", "none"),
        default="demo",
        help="vpx simulator: the demo estate (default) or govmomi's plain inventory (none)",
    )
    parser.add_argument("--seed", type=int, default=0, help="the demo estate's seed (default 0)")
    parser.add_argument(
        "--vms",
        type=int,
        help="the demo estate's VMs in all (default 300); plain inventory: per host (default 2)",
    )
    parser.add_argument(
        "--simulator-only",
        action="store_true",
        help="run only the simulator, write its ESXNB_* variables to --env-file, and wait",
    )
    parser.add_argument(
        "--env-file", type=Path, help="with --simulator-only: where to write the export lines"
    )
    parser.add_argument("jupyter_args", nargs=argparse.REMAINDER, help="after --: more JupyterLab options")


FIRST_NOTEBOOK = "01-quickstart.ipynb"
# overrides.json: no "news?" toast, no update checks (a training room has no use for them).
_LAB_SETTINGS = Path(__file__).resolve().parent / "_jupyterlab_settings"


def jupyter_command(args: argparse.Namespace, root: Path) -> list[str]:
    extra = [a for a in (args.jupyter_args or []) if a != "--"]
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.ip={args.ip}",
        f"--ServerApp.port={args.port}",
        f"--LabApp.app_settings_dir={_LAB_SETTINGS}",
        "--LabApp.news_url=",
    ]
    if (root / FIRST_NOTEBOOK).is_file():
        command.append(f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}")
    if args.no_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI run as root
    return command + extra


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """``export NAME=value`` lines, readable by the owner only, replaced atomically when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        for name, value in env.items():
            handle.write(f"export {name}={shlex.quote(value)}\n")
    os.replace(partial, path)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM would skip ``finally`` blocks; turn it into KeyboardInterrupt so clean-up runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # Jupyter shuts its kernels down on SIGTERM
    try:
        process.wait(timeout=_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _die_with_parent() -> None:
    """In the child: get SIGTERM if this process dies, even by SIGKILL (Linux), so Jupyter is never orphaned."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _serve(args: argparse.Namespace, env: dict[str, str]) -> int:
    root = (args.notebook_dir or notebooks_dir()).resolve()
    if not root.is_dir():
        raise EsxnbError(f"--notebook-dir {root} is not a folder")
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    process = subprocess.Popen(jupyter_command(args, root), env=env, preexec_fn=preexec)  # noqa: PLW1509
    try:
        return process.wait()
    except KeyboardInterrupt:
        return _stopped()
    finally:
        _stop(process)


def _stopped() -> int:
    """Ctrl-C is how a lab ends: say so and succeed (make reports no error)."""
    print("esxnb lab stopped.", file=sys.stderr, flush=True)
    return 0


def _wait_for_parent() -> None:
    """Until the process that started this one exits (``binder/start`` execs into Jupyter)."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1.0)


def _describe(env: Mapping[str, str]) -> str:
    user = env.get(ENV_USERNAME, "?")
    return f"simulator ready: {ENV_URI}={env[ENV_URI]} (user {user}; password in ${ENV_PASSWORD})"


def run(args: argparse.Namespace) -> int:
    if args.simulator_only and args.env_file is None:
        raise EsxnbError("--simulator-only needs --env-file PATH (where the ESXNB_* export lines go)")
    env = dict(os.environ)
    with _sigterm_as_interrupt():
        if env.get(ENV_URI, "").strip() and not args.simulator_only:
            print(f"using the server in {ENV_URI}={env[ENV_URI]}", file=sys.stderr, flush=True)
            return _serve(args, env)
        from .simulator import Simulator

        options: dict[str, object] = {"vms": args.vms}
        if args.mode == "vpx" and args.estate == "demo":
            options.update(estate="demo", seed=args.seed)
        try:
            with Simulator(args.mode, **options) as sim:
                sim_env = simulator_environment(sim)
                print(_describe(sim_env), file=sys.stderr, flush=True)
                if args.simulator_only:
                    write_env_file(args.env_file, sim_env)
                    try:
                        _wait_for_parent()
                    finally:
                        args.env_file.unlink(missing_ok=True)
                    return 0
                env.update(sim_env)
                return _serve(args, env)
        except KeyboardInterrupt:
            return _stopped()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="esxnb lab", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except EsxnbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
