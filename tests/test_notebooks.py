"""The example notebooks and runbooks run headless, and binder/ sets up a working simulator.

Every notebook is executed with nbclient against a demo-estate simulator handed over through
``ESXNB_*`` variables (as ``esxnb lab`` and Binder do), in two orders, and its outputs are
checked for its demo outputs, for the simulator's secrets, and for changes to the shared estate. The quickstart also runs with no ``ESXNB_URI`` (it then starts its own
simulator). The runbooks run through the ``papermill`` command with ``-p`` parameters.

The binder test runs ``binder/postBuild`` with ``ESXNB_SKIP_PIP_INSTALL=1`` (esxnb is already
installed in this virtualenv, so pip is skipped) and a temporary HOME, with ``ESXNB_CACHE``
pointing at the existing build cache so the simulator is not rebuilt; then ``binder/start``
with a command that connects to the simulator it started in the background.
"""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from esxnb.labenv import simulator_environment
from esxnb.simulator import Simulator, ensure_built

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
BINDER = ROOT / "binder"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
RUNBOOKS = [path for path in NOTEBOOKS if path.name.startswith("runbook-")]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.notebooks


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ESXNB_* server, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESXNB_") and k != "LIBVIRT_AUTH_FILE"}
    if "ESXNB_CACHE" in os.environ:
        env["ESXNB_CACHE"] = os.environ["ESXNB_CACHE"]
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _sim_env(sim: Simulator) -> dict[str, str]:
    """What ``esxnb lab`` hands to Jupyter for ``sim`` (URI of its busiest host, credentials, CA,
    the control handle)."""
    return simulator_environment(sim)


def _execute(path: Path, env: dict[str, str], cwd: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=120, startup_timeout=60, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute(env=env)
    return nb


def _outputs_text(nb: nbformat.NotebookNode) -> str:
    return json.dumps([cell.get("outputs", []) for cell in nb.cells]) + json.dumps(nb.metadata)


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    return [
        f"{out.get('ename')}: {out.get('evalue')}"
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


# -- what is committed -----------------------------------------------------------


def test_the_expected_notebooks_exist() -> None:
    names = {path.name for path in NOTEBOOKS}
    for expected in [
        "01-quickstart.ipynb",
        "02-connecting.ipynb",
        "03-exploring-domains.ipynb",
        "04-converting-configs.ipynb",
        "05-lifecycle-and-scheduler.ipynb",
        "06-migration.ipynb",
        "07-forms.ipynb",
        "08-estate-report.ipynb",
        "09-events-and-tasks.ipynb",
        "10-performance.ipynb",
        "11-live.ipynb",
        "12-health-check.ipynb",
        "13-snapshots.ipynb",
        "14-storage-and-networks.ipynb",
        "dashboard-estate.ipynb",
        "runbook-evacuate-host.ipynb",
        "runbook-audit-scheduler.ipynb",
        "runbook-health-check.ipynb",
        "runbook-snapshot-cleanup.ipynb",
        "runbook-capacity-report.ipynb",
    ]:
        assert expected in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} of {path.name} has outputs"
            assert cell.execution_count is None, f"cell {index} of {path.name} has an execution count"
    assert "widgets" not in nb.metadata, f"{path.name} carries saved widget state"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_starts_with_an_intro(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    lines = [line for line in first.source.splitlines() if line.strip()]
    assert lines[0].startswith("# "), f"{path.name}: the intro should open with a title"
    assert len(" ".join(lines[1:]).split()) >= 25, f"{path.name}: the intro should say what it teaches"


@pytest.mark.parametrize("path", RUNBOOKS, ids=_ids(RUNBOOKS))
def test_runbooks_have_a_parameters_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    tagged = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    assert re.search(r"^uri\s*=", tagged[0].source, re.M), "a runbook takes the server as parameter 'uri'"


# -- executing them ----------------------------------------------------------------


@pytest.fixture
def fresh_sim() -> Iterator[Simulator]:
    """A small vCenter per notebook: notebooks change state (power, scheduler, migrations)."""
    with Simulator("vpx", hosts=2, standalone_hosts=1, vms=2) as sim:
        yield sim


# What each notebook shows on the demo estate (text outputs; plots are checked as images).
DEMO_MARKERS = {
    "01-quickstart": ["running", "esx-ams-", "NotFoundError"],
    "02-connecting": ["connected as", "WrongServerTypeError"],
    "03-exploring-domains": ["domains have a reservation or a limit", "vcpus_per_core", "image/png"],
    "04-converting-configs": ["vmware:datacenterpath", "memsize"],
    "05-lifecycle-and-scheduler": ["ToolsNotAvailableError", "QuestionError", "I copied it", "50% running"],
    "06-migration": ["ESX hosts:", "now on:"],
    "07-forms": ["domains;", "application/vnd.jupyter.widget-view+json", "MigrateForm"],
    "08-estate-report": [
        "vInfo",
        "consolidation_needed",
        "powered off",
        "image/png",
        "EstateExplorer:",
        "memory_overcommit",
    ],
    "09-events-and-tasks": ["VmMigratedEvent", "VirtualMachine.relocateVm", "image/png"],
    "10-performance": ["QueryPerf call(s)", "cpu.usage.average", "image/png", "PerfChart"],
    "12-health-check": [
        "finding(s) on",
        "consolidation_needed",
        "skipped: none",
        "image/png",
        "application/vnd.jupyter.widget-view+json",
    ],
    "13-snapshots": [
        "older than 30 days",
        "<domainsnapshot>",
        "after revert",
        "deleted;",
        "image/png",
        "application/vnd.jupyter.widget-view+json",
    ],
    "14-storage-and-networks": [
        "notebook/scratch-copy.vmdk",
        "not overwriting it",
        "orphaned disk(s)",
        "lab-prod",
        "image/png",
    ],
    "dashboard-estate": [
        "application/vnd.jupyter.widget-view+json",
        "Datastores near full",
        "Oldest snapshot",
    ],
    "11-live": ["changes logged", "paused", "application/vnd.jupyter.widget-view+json"],
    "runbook-audit-scheduler": ["reservation above maximum"],
    "runbook-evacuate-host": ["planned (dry run)"],
    "runbook-health-check": ["critical", "consolidation_needed", "health check done"],
    "runbook-capacity-report": ["room_for_average_vms", "ams-dev", "3 breach(es)", "image/png"],
    "runbook-snapshot-cleanup": ["would delete (dry run)", "nothing deleted", "image/png"],
}


def _estate(sim: Simulator) -> list[tuple]:
    """What the whole lab server shows: every domain's state, place, size and scheduler."""
    import esxnb

    with esxnb.connect(
        f"vpx://{sim.host}:{sim.port}/", auth=(sim.username, sim.password), ca_file=sim.ca_file
    ) as c:
        domains = c.domains()[["uuid", "name", "state", "host", "max_memory_mib", "vcpus"]]
        sched = c.scheduler()[["uuid", "reservation_mhz", "limit_mhz", "shares_value"]]
        rows = domains.merge(sched, on="uuid").astype(str)
    return sorted(rows.itertuples(index=False, name=None))


def test_every_notebook_has_demo_markers() -> None:
    assert set(DEMO_MARKERS) == {path.stem for path in NOTEBOOKS}


@pytest.mark.simulator
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_notebooks_under_the_lab_in_any_order(order: str, tmp_path: Path) -> None:
    """As ``make lab`` runs them: one demo-estate simulator handed over through ``ESXNB_*``
    (with its control handle); every notebook shows its demo outputs, and none changes what
    the next one sees."""
    with Simulator(estate="demo", seed=0) as sim:
        env = _clean_env(**_sim_env(sim))
        before = _estate(sim)
        for path in NOTEBOOKS if order == "forward" else NOTEBOOKS[::-1]:
            nb = _execute(path, env, tmp_path)
            assert not _errors(nb), f"{path.name}: {_errors(nb)}"
            assert all(cell.execution_count for cell in nb.cells if cell.cell_type == "code"), path.name
            text = _outputs_text(nb)
            assert sim.password not in text and sim._token not in text, f"{path.name} leaked a secret"
            assert "skipped on" not in text and "needs the local simulator" not in text, path.name
            for marker in DEMO_MARKERS[path.stem]:
                assert marker in text, f"{path.name} does not show {marker!r}"
            assert _estate(sim) == before, f"{path.name} changed the lab's estate"


STANDALONE = [path for path in NOTEBOOKS if path not in RUNBOOKS]


@pytest.mark.simulator
@pytest.mark.parametrize("path", STANDALONE, ids=_ids(STANDALONE))
def test_every_notebook_runs_standalone(path: Path, tmp_path: Path) -> None:
    """With no ``ESXNB_*`` at all (a fresh checkout, papermill, CI): each notebook starts the
    simulator it needs and shows what it shows under the lab."""
    nb = _execute(path, _clean_env(), tmp_path)
    assert not _errors(nb), f"{path.name}: {_errors(nb)}"
    text = _outputs_text(nb)
    assert "skipped on" not in text and "needs the local simulator" not in text, path.name
    for marker in DEMO_MARKERS[path.stem]:
        assert marker in text, f"{path.name} does not show {marker!r} on its own"


@pytest.mark.simulator
def test_quickstart_starts_its_own_simulator(tmp_path: Path) -> None:
    nb = _execute(NOTEBOOKS_DIR / "01-quickstart.ipynb", _clean_env(), tmp_path)
    text = _outputs_text(nb)
    assert "from a local simulator" in text
    assert re.search(r"vpx://127\.0\.0\.1:\d+/dc-ams/", text), "it connected to its own demo-estate simulator"
    assert "running" in text, "it listed domains"


@pytest.mark.simulator
def test_exploring_shows_the_demo_estate_on_its_own_simulator(tmp_path: Path) -> None:
    nb = _execute(NOTEBOOKS_DIR / "03-exploring-domains.ipynb", _clean_env(), tmp_path)
    text = _outputs_text(nb)
    for state in ("running", "paused", "shut off"):
        assert state in text
    assert text.count("image/png") == 4, "it drew its four plots"
    assert "Microsoft Windows Server 2019" in text and "vcpus_per_core" in text


@pytest.mark.simulator
def test_lifecycle_shows_tools_and_questions_on_its_own_simulator(tmp_path: Path) -> None:
    text = _outputs_text(_execute(NOTEBOOKS_DIR / "05-lifecycle-and-scheduler.ipynb", _clean_env(), tmp_path))
    assert "ToolsNotAvailableError" in text
    assert "QuestionError" in text and "I copied it" in text
    assert re.search(r"\b50% running", text), "power-on progress was shown step by step"


def _papermill(
    path: Path, out: Path, env: dict[str, str], *params: tuple[str, str]
) -> subprocess.CompletedProcess:
    """The documented command line, run from the repository root."""
    command = [
        str(BIN / "papermill"),
        str(path.relative_to(ROOT)),
        str(out),
        "--no-progress-bar",
        "-k",
        "python3",
    ]
    for name, value in params:
        command += ["-p", name, value]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.simulator
def test_evacuate_runbook_dry_run_moves_nothing(tmp_path: Path) -> None:
    report = tmp_path / "plan.csv"
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-evacuate-host.ipynb",
        tmp_path / "out.ipynb",
        _clean_env(),
        ("report_path", str(report)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _read_csv(report)
    assert rows, "the plan lists the domains on the host"
    assert {row["outcome"] for row in rows} == {"planned (dry run)"}
    assert all(row["destination"] and row["destination"] != row["source"] for row in rows)


@pytest.mark.simulator
def test_evacuate_runbook_empties_the_host(fresh_sim: Simulator, tmp_path: Path) -> None:
    import esxnb

    env = _sim_env(fresh_sim)
    auth = (fresh_sim.username, fresh_sim.password)
    with esxnb.connect(env["ESXNB_URI"], auth=auth, ca_file=fresh_sim.ca_file) as conn:
        before = set(conn.domains()["name"])
        host = conn.location.host_name
    assert before, "the host to evacuate has domains"
    report = tmp_path / "outcome.csv"
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-evacuate-host.ipynb",
        tmp_path / "out.ipynb",
        _clean_env(**env),
        ("dry_run", "False"),
        ("report_path", str(report)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _read_csv(report)
    assert {row["domain"] for row in rows} == before
    assert {row["outcome"] for row in rows} == {"migrated"}
    with esxnb.connect(env["ESXNB_URI"], auth=auth, ca_file=fresh_sim.ca_file) as conn:
        assert conn.domains().empty, f"{host} still has domains"
    dc_uri = esxnb.parse_uri(fresh_sim.uri).replace(path="/DC0")
    with esxnb.connect(dc_uri, auth=auth, ca_file=fresh_sim.ca_file) as dc:
        where = dc.domains().set_index("name")["host"]
    for row in rows:
        assert where[row["domain"]] == row["destination"], "the server agrees with the report"
    assert fresh_sim.password not in (tmp_path / "out.ipynb").read_text()


@pytest.mark.simulator
def test_audit_runbook_reports_violations(tmp_path: Path) -> None:
    report = tmp_path / "violations.csv"
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-audit-scheduler.ipynb",
        tmp_path / "out.ipynb",
        _clean_env(),
        ("max_reservation_mhz", "100"),
        ("report_path", str(report)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _read_csv(report)
    rules = {row["rule"] for row in rows}
    assert "reservation above maximum" in rules
    for row in rows:
        if row["rule"] == "reservation above maximum":
            assert int(row["value"]) > 100


@pytest.mark.simulator
def test_audit_runbook_fails_on_violation_when_asked(tmp_path: Path) -> None:
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-audit-scheduler.ipynb",
        tmp_path / "out.ipynb",
        _clean_env(),
        ("max_reservation_mhz", "100"),
        ("fail_on_violation", "True"),
    )
    assert result.returncode != 0
    assert "PolicyViolation" in result.stderr + (tmp_path / "out.ipynb").read_text()


@pytest.mark.simulator
def test_audit_runbook_passes_a_clean_estate(fresh_sim: Simulator, tmp_path: Path) -> None:
    report = tmp_path / "violations.csv"
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-audit-scheduler.ipynb",
        tmp_path / "out.ipynb",
        _clean_env(**_sim_env(fresh_sim)),
        ("fail_on_violation", "True"),
        ("report_path", str(report)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert _read_csv(report) == []


# -- binder ------------------------------------------------------------------------


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


_CHECK = """
import os, sys
from pathlib import Path
from esxnb.labenv import open_lab
lab = open_lab()
with lab.connect() as conn:
    print("URI", os.environ["ESXNB_URI"])
    print("PRODUCT", conn.info()["product"])
    print("DOMAINS", len(conn.domains()))
Path(sys.argv[1]).write_text(os.environ["ESXNB_PASSWORD"])
"""


@pytest.mark.simulator
def test_binder_postbuild_and_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cache = os.environ.get("ESXNB_CACHE") or str(Path.home() / ".cache" / "esxnb")
    ensure_built()  # so postBuild finds the launcher in the cache instead of compiling it
    env = _clean_env(HOME=str(home), ESXNB_CACHE=cache, ESXNB_SKIP_PIP_INSTALL="1", TMPDIR=str(tmp_path))
    env.pop("JUPYTERLAB_SETTINGS_DIR", None)

    build = subprocess.run([str(BINDER / "postBuild")], env=env, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    assert "skipping pip install" in build.stdout
    settings = (
        home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
    )
    assert json.loads(settings.read_text()) == {"checkForUpdates": False, "fetchNews": "false"}

    secret_file = tmp_path / "seen-password"
    start = subprocess.run(
        [str(BINDER / "start"), sys.executable, "-c", _CHECK, str(secret_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert start.returncode == 0, start.stdout + start.stderr
    found = dict(line.split(" ", 1) for line in start.stdout.splitlines() if " " in line)
    assert found["URI"].startswith("vpx://127.0.0.1:")
    assert "vCenter" in found["PRODUCT"]
    assert int(found["DOMAINS"]) >= 1
    password = secret_file.read_text()
    assert password and password not in start.stdout + start.stderr

    # The env file with the password is gone; the log does not hold it.
    lab_dirs = list(tmp_path.glob("esxnb-lab.*"))
    assert len(lab_dirs) == 1
    assert not (lab_dirs[0] / "lab.env").exists()
    assert password not in (lab_dirs[0] / "simulator.log").read_text()

    # The background simulator stops by itself once the process it served has exited.
    port = int(found["URI"].split(":")[2].split("/")[0])
    deadline = time.monotonic() + 20
    while _port_open("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _port_open("127.0.0.1", port), "the binder simulator outlived Jupyter"


def test_binder_files_are_consistent() -> None:
    assert os.access(BINDER / "postBuild", os.X_OK) and os.access(BINDER / "start", os.X_OK)
    start = (BINDER / "start").read_text()
    assert start.rstrip().endswith('exec "$@"'), "repo2docker's start must hand over to Jupyter"
    assert "set -e" in (BINDER / "postBuild").read_text()
    apt = (BINDER / "apt.txt").read_text().split()
    assert {"golang-go", "golang-github-vmware-govmomi-dev"} <= set(apt)
    requirements = [
        re.split(r"[<>=!~\[ ]", line, maxsplit=1)[0].lower()
        for line in (BINDER / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for package in ["pyvmomi", "pandas", "lxml", "ipywidgets", "jupyterlab", "matplotlib", "papermill"]:
        assert package in requirements
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"


def test_binder_dockerfile_from_repo2docker(tmp_path: Path) -> None:
    """repo2docker itself reads binder/ (no image is built: there is no Docker daemon here).

    The Dockerfile it would build must use Python 3.11, install apt.txt's packages and
    requirements.txt, run postBuild at build time, and launch through binder/start.
    """
    pytest.importorskip("repo2docker", reason="jupyter-repo2docker is in the test extras")
    result = subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-build", "--no-run", "--debug", str(ROOT)],
        env=_clean_env(HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    dockerfile = result.stdout + result.stderr  # --debug prints the Dockerfile
    assert "python=3.11" in dockerfile
    apt_install = re.search(r"apt-get install --yes --no-install-recommends ([^&]+)&&", dockerfile)
    assert apt_install, dockerfile[-3000:]
    assert set(apt_install.group(1).split()) == set((BINDER / "apt.txt").read_text().split())
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile
    assert 'R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile


@pytest.mark.simulator
def test_health_runbook_fails_on_critical_and_writes_its_report(tmp_path: Path) -> None:
    import pandas as pd

    report = tmp_path / "health.xlsx"
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-health-check.ipynb",
        tmp_path / "out.ipynb",
        _clean_env(),
        ("fail_on", "critical"),
        ("report_path", str(report)),
    )
    assert result.returncode != 0
    assert "HealthCheckFailed" in result.stderr and "at or above 'critical'" in result.stderr
    findings = pd.read_excel(report, sheet_name="findings")
    summary = pd.read_excel(report, sheet_name="summary")
    assert {"critical", "warning", "info"} <= set(findings["severity"])
    assert "datastore_free" in set(findings.loc[findings["severity"] == "critical", "rule"])
    assert set(summary["rule"]) >= {"snapshot_old", "orphaned_files", "host_state"}


@pytest.mark.simulator
def test_health_runbook_takes_thresholds_and_keeps_an_existing_report(tmp_path: Path) -> None:
    report = tmp_path / "health.csv"
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-health-check.ipynb",
        tmp_path / "out.ipynb",
        _clean_env(),
        ("snapshot_age_days", "100000"),
        ("datastore_free_pct", "0"),
        ("report_path", str(report)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rules = {row["rule"] for row in _read_csv(report)}
    assert "snapshot_old" not in rules and "datastore_free" not in rules
    assert "orphaned_files" in rules

    report.write_text("keep me\n")
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-health-check.ipynb",
        tmp_path / "again.ipynb",
        _clean_env(),
        ("report_path", str(report)),
    )
    assert result.returncode != 0 and "exists" in result.stderr
    assert report.read_text() == "keep me\n"


@pytest.fixture
def demo_sim() -> Iterator[Simulator]:
    """The lab's demo estate, for one test that changes it."""
    with Simulator(estate="demo", seed=0) as sim:
        yield sim


def _snapshot_ids(sim: Simulator) -> set[tuple[str, str]]:
    import esxnb

    with esxnb.connect(
        f"vpx://{sim.host}:{sim.port}/", auth=(sim.username, sim.password), ca_file=sim.ca_file
    ) as conn:
        frame = conn.snapshots()
    return set(zip(frame["domain"], frame["moref"]))


@pytest.mark.simulator
def test_snapshot_cleanup_dry_run_and_guard_delete_nothing(demo_sim: Simulator, tmp_path: Path) -> None:
    before = _snapshot_ids(demo_sim)
    report = tmp_path / "plan.csv"
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-snapshot-cleanup.ipynb",
        tmp_path / "out.ipynb",
        _clean_env(**_sim_env(demo_sim)),
        ("older_than_days", "300"),
        ("report_path", str(report)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _read_csv(report)
    assert rows and all(float(row["age_days"]) > 300 for row in rows)
    assert {row["outcome"] for row in rows} == {"would delete (dry run)"}

    result = _papermill(
        NOTEBOOKS_DIR / "runbook-snapshot-cleanup.ipynb",
        tmp_path / "guarded.ipynb",
        _clean_env(**_sim_env(demo_sim)),
        ("older_than_days", "300"),
        ("dry_run", "False"),
        ("max_deletions", "3"),
    )
    assert result.returncode != 0 and "more than max_deletions=3: nothing deleted" in result.stderr
    assert _snapshot_ids(demo_sim) == before


@pytest.mark.simulator
def test_snapshot_cleanup_deletes_what_it_selects(demo_sim: Simulator, tmp_path: Path) -> None:
    before = _snapshot_ids(demo_sim)
    report = tmp_path / "done.csv"
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-snapshot-cleanup.ipynb",
        tmp_path / "out.ipynb",
        _clean_env(**_sim_env(demo_sim)),
        ("older_than_days", "300"),
        ("domain_pattern", "ams-*"),
        ("dry_run", "False"),
        ("max_deletions", "100"),
        ("report_path", str(report)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _read_csv(report)
    assert {row["outcome"] for row in rows} == {"deleted"}, "every selected snapshot, names used twice too"
    deleted = {(row["domain"], row["name"]) for row in rows}
    assert deleted and all(domain.startswith("ams-") for domain, _ in deleted)
    after = _snapshot_ids(demo_sim)
    assert after < before
    assert len(before) - len(after) == len(rows), "exactly the reported snapshots are gone"
    assert all(not domain.startswith("fra-") for domain, _ in before - after)


@pytest.mark.simulator
def test_capacity_runbook_reports_per_cluster_and_fails_on_breach(
    demo_sim: Simulator, tmp_path: Path
) -> None:
    import pandas as pd

    import esxnb

    report = tmp_path / "capacity.xlsx"
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-capacity-report.ipynb",
        tmp_path / "out.ipynb",
        _clean_env(**_sim_env(demo_sim)),
        ("report_path", str(report)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    book = pd.read_excel(report, sheet_name=None)
    assert set(book) == {"clusters", "hosts", "datastores", "breaches"}
    clusters = book["clusters"].set_index("cluster")
    # The same figure read another way: running domains' vCPUs on each cluster's hosts.
    with esxnb.connect(
        f"vpx://{demo_sim.host}:{demo_sim.port}/",
        auth=(demo_sim.username, demo_sim.password),
        ca_file=demo_sim.ca_file,
    ) as conn:
        cluster_of = dict(zip(conn.hosts()["name"], conn.hosts()["cluster"]))
        domains = conn.domains()
    running = domains[domains["state"] == "running"]
    for name in ("ams-prod", "fra-prod"):
        expected = running[running["host"].map(cluster_of) == name]["vcpus"].sum()
        assert clusters.loc[name, "vcpus"] == expected
    breaches = book["breaches"]
    assert ("ams-dev", "vcpus_per_core") in set(zip(breaches["object"], breaches["check"]))
    assert ("ams-prod-vmfs02", "free_pct") in set(zip(breaches["object"], breaches["check"]))

    result = _papermill(
        NOTEBOOKS_DIR / "runbook-capacity-report.ipynb",
        tmp_path / "fail.ipynb",
        _clean_env(**_sim_env(demo_sim)),
        ("fail_on_breach", "True"),
    )
    assert result.returncode != 0 and "CapacityBreach" in result.stderr and "ams-dev" in result.stderr
    result = _papermill(
        NOTEBOOKS_DIR / "runbook-capacity-report.ipynb",
        tmp_path / "pass.ipynb",
        _clean_env(**_sim_env(demo_sim)),
        ("fail_on_breach", "True"),
        ("max_vcpus_per_core", "100"),
        ("max_memory_pct", "10000"),
        ("min_datastore_free_pct", "0"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
