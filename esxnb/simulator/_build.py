"""Build and cache the Go launcher of the govmomi simulator.

The binary is cached as ``${ESXNB_CACHE:-~/.cache/esxnb}/vcsim-<hash>`` where
the hash covers the launcher's Go sources, the govmomi simulator sources and
``go version``, so any change rebuilds. Concurrent builds are serialised by a
lock file and each writes a temporary name that is renamed into place.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from esxnb.errors import SimulatorError

LAUNCHER_DIR = Path(__file__).with_name("launcher")
DEFAULT_GOPATH = "/usr/share/gocode"
GOVMOMI = "github.com/vmware/govmomi"
SETUP_HINT = "`make setup` installs it (apt-get install golang-go golang-github-vmware-govmomi-dev)"


def cache_dir() -> Path:
    """``$ESXNB_CACHE`` or ``~/.cache/esxnb``."""
    root = os.environ.get("ESXNB_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "esxnb")
    return Path(root)


def gopath() -> str:
    return os.environ.get("ESXNB_GOPATH") or DEFAULT_GOPATH


def find_go() -> str:
    """Path of the ``go`` command, or SimulatorError naming what is missing."""
    found = shutil.which("go")
    if found:
        return found
    for candidate in ("/usr/lib/go/bin/go", "/usr/local/go/bin/go"):
        if os.access(candidate, os.X_OK):
            return candidate
    raise SimulatorError(
        "the Go toolchain is missing: no `go` command in PATH, /usr/lib/go/bin or /usr/local/go/bin; "
        + SETUP_HINT
    )


def govmomi_dir() -> Path:
    """The govmomi source tree in GOPATH mode, or SimulatorError."""
    path = Path(gopath()) / "src" / GOVMOMI
    if not (path / "simulator" / "model.go").is_file():
        raise SimulatorError(
            f"the govmomi Go source is missing: {path}/simulator/model.go does not exist "
            f"(GOPATH={gopath()}); " + SETUP_HINT
        )
    return path


def _go_version(go: str) -> str:
    try:
        out = subprocess.run([go, "version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SimulatorError(f"`{go} version` failed: {exc}; " + SETUP_HINT) from exc
    return out.stdout.strip()


def _sources() -> list[Path]:
    files = sorted(LAUNCHER_DIR.glob("*.go"))
    if not files:
        raise SimulatorError(f"the launcher's Go sources are missing from {LAUNCHER_DIR}")
    return files


def source_hash(go: str | None = None) -> str:
    """Hash of everything the binary depends on."""
    go = go or find_go()
    digest = hashlib.sha256()
    digest.update(_go_version(go).encode())
    for path in _sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for path in sorted((govmomi_dir() / "simulator").glob("*.go")):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:16]


def binary_path(go: str | None = None) -> Path:
    """Where the binary for the current sources is (or will be) cached."""
    return cache_dir() / f"vcsim-{source_hash(go)}"


def ensure_built(*, verbose: bool = False) -> Path:
    """Return the cached launcher binary, building it first if needed."""
    go = find_go()
    govmomi_dir()
    target = binary_path(go)
    if target.is_file() and os.access(target, os.X_OK):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():  # built by someone else while we waited
            return target
        _build(go, target, verbose=verbose)
    return target


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GO111MODULE="off",
        GOPATH=gopath(),
        GOCACHE=str(cache_dir() / "gocache"),
        GOFLAGS="",
        CGO_ENABLED="0",
    )
    return env


def _copy_sources(tmp: str) -> Path:
    # Build from a copy: the package may be installed read-only.
    src = Path(tmp) / "launcher"
    src.mkdir()
    for path in _sources():
        shutil.copy2(path, src / path.name)
    return src


def run_go_tests(timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``go test`` on the launcher's package (its ``*_test.go`` files), in GOPATH mode as it is built."""
    go = find_go()
    govmomi_dir()
    cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="esxnb-gotest-", dir=cache_dir()) as tmp:
        src = _copy_sources(tmp)
        return subprocess.run(
            [go, "test", "-count=1", "-v", "."],
            cwd=src,
            env=_go_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _build(go: str, target: Path, *, verbose: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="esxnb-build-", dir=target.parent) as tmp:
        src = _copy_sources(tmp)
        out = Path(tmp) / "vcsim"
        cmd = [go, "build", "-trimpath", "-o", str(out), "-ldflags", "-s -w", "."]
        if verbose:
            print(f"building the simulator launcher: {' '.join(cmd)} (in {src})", flush=True)
        try:
            result = subprocess.run(cmd, cwd=src, env=_go_env(), capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired as exc:
            raise SimulatorError("building the simulator launcher took more than 15 minutes") from exc
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-30:])
            raise SimulatorError(f"building the simulator launcher failed ({' '.join(cmd)}):\n{tail}")
        os.chmod(out, 0o755)
        os.replace(out, target)
