"""Every form in a real JupyterLab, driven through headless Chromium: fill, click, check, screenshot.

Run with ``pytest -m browser tests/browser``; screenshots land in ``test-output/screenshots``
(or ``$ESXNB_SCREENSHOT_DIR``), one per form.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from esxnb.connection import connect

from .conftest import Lab

pytestmark = [pytest.mark.browser, pytest.mark.simulator]

VMX = """config.version = "8"
virtualHW.version = "7"
displayName = "browser test"
memsize = "512"
numvcpus = "2"
"""
TIMEOUT_MS = 30_000


def _wait_kernel_idle(page) -> None:
    """The status bar says Idle about 1.5 s after the toolbar; cells run before that are lost."""
    page.wait_for_selector("text=| Idle", timeout=60_000)


def _shot(locator, directory: Path, name: str) -> Path:
    path = directory / f"{name}.png"
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def test_forms_in_jupyterlab(lab: Lab, chromium, screenshot_dir: Path) -> None:
    started = time.monotonic()
    sim = lab.sim
    sim.set_task_behaviour("RelocateVM_Task", duration=2, steps=4)
    page = chromium.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(lab.notebook_url("forms.ipynb"))
    page.wait_for_selector(".jp-Notebook")
    _wait_kernel_idle(page)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

    # -- ConnectForm ------------------------------------------------------------------------
    form = page.locator(".esxnb-connect-form")
    form.wait_for()
    uri_box = form.locator(".widget-text input[type='text']").first
    assert uri_box.input_value() == lab.uri
    assert "/DC0" in form.locator(".esxnb-parsed-uri").inner_text()
    uri_box.fill(lab.uri + "?bogus=1")
    form.get_by_text("unknown query parameter 'bogus'").wait_for()
    uri_box.fill(lab.uri)
    form.locator(".esxnb-parsed-uri").wait_for()
    assert form.locator(".widget-text input[type='text']").nth(1).input_value() == sim.username
    form.locator("input[type='password']").first.fill(sim.password)
    form.get_by_role("button", name="Connect").click()
    try:
        form.locator(".esxnb-status-ok").wait_for()
    except Exception:  # keep what the page showed, for the CI log and artefacts
        page.screenshot(path=str(screenshot_dir / "failed-connect.png"))
        print(form.inner_text())
        raise
    status = form.locator(".esxnb-status-ok").inner_text()
    assert "Connected to VMware vCenter Server" in status and "datacenter DC0" in status
    assert form.locator("input[type='password']").first.input_value() == ""
    _shot(form, screenshot_dir, "connect-form")

    # -- ConvertForm --------------------------------------------------------------------------
    form = page.locator(".esxnb-convert-form")
    form.locator("textarea").first.fill(VMX)
    form.get_by_role("button", name="Convert").click()
    form.locator(".esxnb-status-ok").wait_for()
    output = form.locator(".esxnb-pane-output").inner_text()
    assert "<name>browser test</name>" in output and "<vcpu placement='static'>2</vcpu>" in output
    assert form.locator("a.esxnb-download").get_attribute("download") == "domain.xml"
    _shot(form, screenshot_dir, "convert-form")
    form.locator("textarea").first.fill(VMX + "broken line\n")
    form.get_by_role("button", name="Convert").click()
    form.locator(".esxnb-status-error").wait_for()
    assert "line 6: broken line" in form.locator(".esxnb-status-error").inner_text()

    # -- DomainBrowser ----------------------------------------------------------------------
    form = page.locator(".esxnb-domain-browser")
    form.locator("table.dataframe").wait_for()
    with connect(lab.uri, auth=(sim.username, sim.password), ca_file=sim.ca_file) as server:
        names = sorted(server.domains()["name"])
        first, second = names[0], names[1]
        selection = form.locator(".widget-select-multiple select")
        labels = selection.locator("option").all_inner_texts()  # ipywidgets shows spaces as U+00A0
        assert sorted(label.replace("\xa0", " ").split(" · ")[0] for label in labels) == names
        form.locator(".widget-text input[type='text']").first.fill(first)
        form.get_by_text(f"1 of {len(names)} domains").wait_for()
        selection.select_option(
            label=next(label for label in labels if label.replace("\xa0", " ").startswith(first + " "))
        )
        form.get_by_role("button", name="Suspend").click()
        form.get_by_text(f"suspend: done for {first}").wait_for()
        assert server.domain(first).state == "paused"
        form.locator(".widget-text input[type='text']").first.fill("")
        selection.select_option(
            label=next(label for label in labels if label.replace("\xa0", " ").startswith(second + " "))
        )
        form.get_by_role("button", name="Reset").click()
        form.get_by_text("Really hard-reset 1 domain(s)?").wait_for()
        form.get_by_role("button", name="Confirm").click()
        form.get_by_text(f"reset: done for {second}").wait_for()
        form.get_by_role("textbox", name="Reservation").fill("300")
        form.get_by_role("button", name="Preview").click()
        form.locator("table.esxnb-scheduler-preview").wait_for()
        form.get_by_role("button", name="Apply").click()
        form.get_by_text(f"applied to 1 domain(s): {second}").wait_for()
        assert int(server.scheduler().set_index("name").loc[second, "reservation_mhz"]) == 300
    _shot(form, screenshot_dir, "domain-browser")

    # -- MigrateForm (the relocation task runs 2 s with progress steps) ----------------------
    form = page.locator(".esxnb-migrate-form")
    with connect(lab.uri, auth=(sim.username, sim.password), ca_file=sim.ca_file) as server:
        placement = dict(zip(server.domains()["name"], server.domains()["host"], strict=True))
        name = sorted(n for n, host in placement.items() if host == "DC0_H0")[0]
        domain_list, destination = form.locator("select").nth(0), form.locator("select").nth(1)
        domain_list.locator("option").first.wait_for()
        labels = [label.replace("\xa0", " ") for label in domain_list.locator("option").all_inner_texts()]
        assert f"{name} (on DC0_H0, running)" in labels
        domain_list.select_option(index=labels.index(f"{name} (on DC0_H0, running)"))
        deadline = time.monotonic() + 10
        while True:  # the kernel answers the selection by offering the other hosts
            targets = [
                label.replace("\xa0", " ") for label in destination.locator("option").all_inner_texts()
            ]
            if targets and not any(label.startswith("DC0_H0 ") for label in targets):
                break
            assert time.monotonic() < deadline, f"the destinations still offer the current host: {targets}"
            time.sleep(0.1)
        target = next(label for label in targets if label.startswith("DC0_C0_H1 "))
        destination.select_option(index=targets.index(target))
        form.get_by_role("button", name="Migrate").click()
        form.get_by_text(f"{name} is now on DC0_C0_H1").wait_for()
        assert server.domains().set_index("name").loc[name, "host"] == "DC0_C0_H1"
    _shot(form, screenshot_dir, "migrate-form")

    # -- save: the password must not be in the notebook, widget state included --------------
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    saved = lab.root / "forms.ipynb"
    deadline = time.monotonic() + 20
    while (
        "esxnb-connect-form" not in saved.read_text()
        and "application/vnd.jupyter.widget-state" not in saved.read_text()
    ):
        assert time.monotonic() < deadline, "the notebook was not saved with its widget state"
        time.sleep(0.3)
    text = saved.read_text()
    assert sim.password not in text
    json.loads(text)
    print(f"browser test took {time.monotonic() - started:.1f} s")


def test_forms_in_voila(voila: Lab, chromium, screenshot_dir: Path) -> None:
    sim = voila.sim
    page = chromium.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    # Voila's default template asks a CDN for fonts: fail anything off loopback at once
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(voila.url) else route.abort(),
    )
    page.goto(f"{voila.url}/?token={voila.token}")
    form = page.locator(".esxnb-connect-form")
    form.wait_for(timeout=60_000)  # Voila runs the whole notebook before showing it
    form.locator("input[type='password']").first.fill(sim.password)
    form.get_by_role("button", name="Connect").click()
    form.locator(".esxnb-status-ok").wait_for()
    assert "Connected to VMware vCenter Server" in form.locator(".esxnb-status-ok").inner_text()
    _shot(form, screenshot_dir, "voila-connect-form")
    browser = page.locator(".esxnb-domain-browser")
    browser.locator("table.dataframe").wait_for()  # followed the connect form's connection
    with connect(voila.uri, auth=(sim.username, sim.password), ca_file=sim.ca_file) as server:
        for name in server.domains()["name"]:
            assert name in browser.locator("table.dataframe").inner_text()
    _shot(browser, screenshot_dir, "voila-domain-browser")
    assert sim.password not in page.content()
