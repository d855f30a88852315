"""Every form in a real JupyterLab, Notebook 7 and Voila, driven through headless Chromium.

Fill, click, check, screenshot. Run with ``pytest -m browser tests/browser``; screenshots land in
``test-output/screenshots`` (or ``$ESXNB_SCREENSHOT_DIR``), one per form and front end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from helpers import connect_to

from .conftest import Server, labels as _labels, run_all_cells, shot as _shot

# A hung page or server fails its test within minutes, not at the suite's 10-minute limit.
pytestmark = [pytest.mark.browser, pytest.mark.simulator, pytest.mark.timeout(180)]

VMX = """config.version = "8"
virtualHW.version = "7"
displayName = "browser test"
memsize = "512"
numvcpus = "2"
"""


def _check_connect_form(page, server: Server, screenshot_dir: Path, shot: str) -> None:
    """Live URI validation, the pre-filled user, Connect: product and version shown, password cleared."""
    sim = server.sim
    form = page.locator(".esxnb-connect-form")
    form.wait_for(timeout=60_000)  # Voila runs the whole notebook before showing it
    uri_box = form.locator(".widget-text input[type='text']").first
    assert uri_box.input_value() == server.uri
    assert "/DC0" in form.locator(".esxnb-parsed-uri").inner_text()
    uri_box.fill(server.uri + "?bogus=1")
    form.get_by_text("unknown query parameter 'bogus'").wait_for()
    uri_box.fill(server.uri)
    form.locator(".esxnb-parsed-uri").wait_for()
    assert form.locator(".widget-text input[type='text']").nth(1).input_value() == sim.username
    form.locator("input[type='password']").first.fill(sim.password)
    form.get_by_role("button", name="Connect").click()
    try:
        form.locator(".esxnb-status-ok").wait_for()
    except Exception:  # keep what the page showed, for the CI log and artefacts
        page.screenshot(path=str(screenshot_dir / f"failed-{shot}.png"))
        print(form.inner_text())
        raise
    status = form.locator(".esxnb-status-ok").inner_text()
    assert "Connected to VMware vCenter Server" in status and "datacenter DC0" in status
    with connect_to(sim, server.uri) as direct:
        info = direct.info()
    assert f"Connected to {info['name']} {info['version']} (build {info['build']})" in status
    assert form.locator("input[type='password']").first.input_value() == ""
    _shot(form, screenshot_dir, shot)
    # The green message describes that URI: edit it and the message goes.
    uri_box.fill(server.uri + "x")
    form.get_by_text("not connected with these settings yet: press Connect").wait_for()
    assert form.locator(".esxnb-status-ok").count() == 0
    # esx:// at a vCenter: the wrong server type, not "wrong user name or password".
    esx_uri = server.uri.replace("vpx://", "esx://").split("/DC0")[0] + "/"
    uri_box.fill(esx_uri)
    form.locator("input[type='password']").first.fill("not needed")
    form.get_by_role("button", name="Connect").click()
    form.locator(".esxnb-status-error").wait_for()
    error = form.locator(".esxnb-status-error").inner_text()
    assert "to be an ESX host but found" in error and "password" not in error.lower(), error
    _shot(form, screenshot_dir, shot + "-wrong-type")
    uri_box.fill(server.uri)  # back as the other forms expect it
    form.locator("input[type='password']").first.fill(sim.password)
    form.get_by_role("button", name="Connect").click()
    form.locator(".esxnb-status-ok").wait_for()


def _check_convert_form(page, screenshot_dir: Path, shot: str) -> None:
    """VMX to domain XML with a download link; a bad line is reported inline by number."""
    form = page.locator(".esxnb-convert-form")
    form.locator("textarea").first.fill(VMX)
    form.get_by_role("button", name="Convert").click()
    form.locator(".esxnb-status-ok").wait_for()
    output = form.locator(".esxnb-pane-output").inner_text()
    assert "<name>browser test</name>" in output and "<vcpu placement='static'>2</vcpu>" in output
    assert form.locator("a.esxnb-download").get_attribute("download") == "domain.xml"
    _shot(form, screenshot_dir, shot)
    form.locator("textarea").first.fill(VMX + "broken line\n")
    form.get_by_role("button", name="Convert").click()
    form.locator(".esxnb-status-error").wait_for()
    assert "line 6: broken line" in form.locator(".esxnb-status-error").inner_text()


def _option(raw_labels: list[str], prefix: str) -> str:
    """The option label (as the page has it, U+00A0 and all) that starts with ``prefix``.

    Taken from the unfiltered list: Playwright's ``select_option`` then waits for the option to
    be back after a filter change.
    """
    return next(label for label in raw_labels if label.replace("\xa0", " ").startswith(prefix))


def _drive_domain_browser(page, server: Server, screenshot_dir: Path, shot: str) -> None:
    """Every domain listed; filter; Suspend and Resume one, Reset another (confirmed); scheduler preview and apply.

    The three front ends share one simulator, so the domains are picked by their current state.
    """
    form = page.locator(".esxnb-domain-browser")
    form.locator("table.dataframe").wait_for()
    sim = server.sim
    with connect_to(sim, server.uri) as direct:
        frame = direct.domains().sort_values("name")
        names = list(frame["name"])
        table = form.locator("table.dataframe").inner_text()
        assert names and all(name in table for name in names), (names, table)
        running = list(frame.loc[frame["state"] == "running", "name"])
        first, second = running[0], running[1]
        selection = form.locator(".widget-select-multiple select")
        raw_labels = selection.locator("option").all_inner_texts()
        assert sorted(label.replace("\xa0", " ").split(" · ")[0] for label in raw_labels) == names
        form.locator(".widget-text input[type='text']").first.fill(first)
        form.get_by_text(f"1 of {len(names)} domains").wait_for()
        selection.select_option(label=_option(raw_labels, first + " "))
        form.get_by_role("button", name="Suspend").click()
        form.get_by_text(f"suspend: done for {first}").wait_for()
        assert direct.domain(first).state == "paused"
        form.get_by_role("button", name="Resume").click()  # and back: the next front end finds it running
        form.get_by_text(f"resume: done for {first}").wait_for()
        assert direct.domain(first).state == "running"
        form.locator(".widget-text input[type='text']").first.fill("")
        form.get_by_text(f"{len(names)} of {len(names)} domains").wait_for()  # the whole list is back
        selection.select_option(label=_option(raw_labels, second + " "))
        form.get_by_role("button", name="Reset").click()
        form.get_by_text("Really hard-reset 1 domain(s)?").wait_for()
        form.get_by_text(f"confirm to reset {second}").wait_for()  # the selection reached the kernel
        form.get_by_role("button", name="Confirm").click()
        form.get_by_text(f"reset: done for {second}").wait_for()
        reservation = int(direct.scheduler().set_index("name").loc[second, "reservation_mhz"]) + 100
        form.get_by_role("textbox", name="Reservation").fill(str(reservation))
        form.get_by_role("button", name="Preview").click()
        form.locator("table.esxnb-scheduler-preview").wait_for()
        form.get_by_role("button", name="Apply").click()
        form.get_by_text(f"applied to 1 domain(s): {second}").wait_for()
        assert int(direct.scheduler().set_index("name").loc[second, "reservation_mhz"]) == reservation
    _shot(form, screenshot_dir, shot)


def _drive_migrate_form(page, server: Server, screenshot_dir: Path, shot: str) -> None:
    """Pick a running domain, see only the other hosts offered, migrate with a progress bar, check the server."""
    sim = server.sim
    sim.set_task_behaviour("RelocateVM_Task", duration=2, steps=4)  # long enough to show progress
    form = page.locator(".esxnb-migrate-form")
    with connect_to(sim, server.uri) as direct:
        frame = direct.domains().sort_values("name")
        name, source = frame.loc[frame["state"] == "running", ["name", "host"]].iloc[0]
        domain_list, destination = form.locator("select").nth(0), form.locator("select").nth(1)
        domain_list.locator("option").first.wait_for()
        labels = _labels(domain_list)
        assert sorted(label.split(" (on ")[0] for label in labels) == sorted(frame["name"])
        assert _labels(destination)[:1] == ["choose a host"], "no destination is preselected"
        domain_list.select_option(index=labels.index(f"{name} (on {source}, running)"))
        deadline = time.monotonic() + 10
        while True:  # the kernel answers the selection by offering the other hosts
            targets = [label for label in _labels(destination) if label != "choose a host"]
            if targets and not any(label.startswith(source + " ") for label in targets):
                break
            assert time.monotonic() < deadline, f"the destinations still offer the current host: {targets}"
            time.sleep(0.1)
        migrate = form.get_by_role("button", name="Migrate")
        assert migrate.is_disabled(), "Migrate is enabled before a destination is chosen"
        target = targets[0].split(" ")[0]
        destination.select_option(index=1)
        form.get_by_role("button", name="Migrate").click()
        form.get_by_text(f"Migrate {name} from {source} to").wait_for()  # asks first
        assert direct.domains().set_index("name").loc[name, "host"] == source
        _shot(form, screenshot_dir, shot + "-confirm")
        form.get_by_role("button", name="Confirm").click()
        form.get_by_text(f"{name} is now on {target}").wait_for()
        assert direct.domains().set_index("name").loc[name, "host"] == target
        deadline = time.monotonic() + 10
        while not migrate.is_disabled():  # both pickers are cleared: a second click moves nothing
            assert time.monotonic() < deadline, "Migrate stayed enabled after the move"
            time.sleep(0.1)
    _shot(form, screenshot_dir, shot)


def _check_live_table(page, server: Server, screenshot_dir: Path, shot: str) -> None:
    """A power-off done outside the page (raw pyVmomi) reaches the live table, highlighted."""
    view = page.locator(".esxnb-live-table")
    view.locator("table.esxnb-live").wait_for(timeout=30_000)
    with connect_to(server.sim, server.uri) as direct:
        frame = direct.domains()
        target = frame[frame["state"] == "running"].iloc[0]
        vm = direct.domain(target["name"]).vm
        from esxnb.tasks import wait_for_task

        wait_for_task(direct, vm.PowerOffVM_Task())
        row = view.locator(f"tr[data-moref='{target['moref']}'].esxnb-changed")
        try:
            row.get_by_text("shut off").wait_for(timeout=20_000)
            _shot(view, screenshot_dir, shot)
        finally:
            wait_for_task(direct, vm.PowerOnVM_Task())  # the next front end finds it running


def _check_saved_notebook(page, server: Server) -> None:
    """Save from the page: the widget state is in the file, the password is not."""
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    saved = server.root / "forms.ipynb"
    deadline = time.monotonic() + 20
    while "application/vnd.jupyter.widget-state" not in saved.read_text():
        assert time.monotonic() < deadline, "the notebook was not saved with its widget state"
        time.sleep(0.3)
    text = saved.read_text()
    assert server.sim.password not in text
    json.loads(text)


def _drive_every_form(page, server: Server, screenshot_dir: Path, shot_prefix: str) -> None:
    """Connect, convert, browse and migrate, as every front end must allow; a screenshot per form."""
    _check_connect_form(page, server, screenshot_dir, f"{shot_prefix}connect-form")
    _check_convert_form(page, screenshot_dir, f"{shot_prefix}convert-form")
    _drive_domain_browser(page, server, screenshot_dir, f"{shot_prefix}domain-browser")
    _drive_migrate_form(page, server, screenshot_dir, f"{shot_prefix}migrate-form")
    _check_live_table(page, server, screenshot_dir, f"{shot_prefix}live-table")


def test_forms_in_jupyterlab(lab: Server, page, screenshot_dir: Path) -> None:
    started = time.monotonic()
    run_all_cells(page, lab)
    assert page.evaluate("window.jupyterapp.name") == "JupyterLab"
    _drive_every_form(page, lab, screenshot_dir, "")
    _check_saved_notebook(page, lab)
    print(f"JupyterLab browser test took {time.monotonic() - started:.1f} s")


def test_forms_in_notebook7(notebook7: Server, page, screenshot_dir: Path) -> None:
    started = time.monotonic()
    run_all_cells(page, notebook7)
    assert page.evaluate("window.jupyterapp.name") == "Jupyter Notebook"  # not JupyterLab
    _drive_every_form(page, notebook7, screenshot_dir, "notebook7-")
    _check_saved_notebook(page, notebook7)
    print(f"Notebook 7 browser test took {time.monotonic() - started:.1f} s")


def test_forms_in_voila(voila: Server, page, screenshot_dir: Path) -> None:
    started = time.monotonic()
    page.goto(voila.notebook_url())  # Voila runs the notebook itself
    _drive_every_form(page, voila, screenshot_dir, "voila-")
    assert voila.sim.password not in page.content()
    print(f"Voila browser test took {time.monotonic() - started:.1f} s")
