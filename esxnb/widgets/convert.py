"""``ConvertForm``: VMX <-> libvirt domain XML, from an upload or pasted text, with a download button."""

from __future__ import annotations

import html
import os
import re
from typing import Any

import ipywidgets as widgets

from .. import errors
from ..datastore import parse_datastore_mapping
from ._common import StatusArea, connection_of, download_link, error_text, highlight, observe_connection

__all__ = ["ConvertForm", "parse_datastore_mapping"]

FROM_NATIVE = "from_native"
TO_NATIVE = "to_native"
# Hardware versions libvirt knows how to write (4 is its offline default).
HW_VERSIONS = (4, 7, 8, 9, 10, 11, 13, 14, 15, 17, 18, 19, 20, 21)
SERVER_DEFAULT = "server"


class ConvertForm(widgets.VBox):
    """Convert a VMX file to libvirt domain XML or back, like ``virsh domxml-from/to-native vmware-vmx``.

    ``connection`` (a Connection or a ConnectForm) enables "use the live connection": the
    host's real datastores resolve the file paths. Results: ``form.result`` (the text),
    ``form.result_xml`` / ``form.result_vmx`` (by direction), ``form.error`` (the last error).
    """

    def __init__(self, connection: Any = None, *, direction: str = FROM_NATIVE) -> None:
        self._source = connection
        self.result: str | None = None
        self.result_xml: str | None = None
        self.result_vmx: str | None = None
        self.error: errors.EsxnbError | None = None
        self.filename: str | None = None
        self._raw: bytes | None = None  # the uploaded bytes, kept while the text is not edited

        self.direction = widgets.ToggleButtons(
            options=[("VMX → domain XML", FROM_NATIVE), ("domain XML → VMX", TO_NATIVE)],
            value=direction,
            style={"button_width": "14em"},  # the arrow labels fit in JupyterLab's font
        )
        self.upload = widgets.FileUpload(
            accept=".vmx,.xml,text/plain,text/xml", multiple=False, description="Upload"
        )
        self.input = widgets.Textarea(
            placeholder="paste a .vmx file or a domain XML here, or upload one",
            layout=widgets.Layout(width="100%", height="14em"),
        )
        self.vmx_path = widgets.Text(
            description="VMX path",
            placeholder="[datastore] directory/name.vmx (optional)",
            layout=widgets.Layout(width="32em"),
        )
        self.datacenter_path = widgets.Text(
            description="Datacenter",
            placeholder="datacenter path (optional)",
            layout=widgets.Layout(width="32em"),
        )
        self.hw_version = widgets.Dropdown(
            description="HW version", options=[(str(v), v) for v in HW_VERSIONS], value=4
        )
        self.datastores = widgets.Textarea(
            description="Datastores",
            placeholder="volume = datastore name\ne.g. 4b0e1b9c-7dd2dc2c-d5b5-001b21327a52 = datastore1",
            layout=widgets.Layout(width="32em", height="5em"),
        )
        self.use_connection = widgets.Checkbox(
            description="use the live connection", indent=False, value=False
        )
        self.convert_button = widgets.Button(description="Convert", button_style="primary", icon="exchange")
        self.status = StatusArea()
        self.input_view = widgets.HTML(layout=widgets.Layout(width="50%", overflow="auto"))
        self.output_view = widgets.HTML(layout=widgets.Layout(width="50%", overflow="auto"))
        self.download = widgets.HTML()

        self.use_connection.layout.display = "none"
        self.upload.observe(self._on_upload, names="value")
        self.input.observe(self._on_edit, names="value")
        self.direction.observe(lambda _change: self._update_options(), names="value")
        self.use_connection.observe(lambda _change: self._update_options(), names="value")
        self.convert_button.on_click(lambda _button: self.convert())

        super().__init__(
            [
                self.direction,
                widgets.HBox([self.upload, widgets.Label("or paste below")]),
                self.input,
                widgets.VBox(
                    [
                        self.vmx_path,
                        self.datacenter_path,
                        self.hw_version,
                        self.datastores,
                        self.use_connection,
                    ]
                ),
                widgets.HBox([self.convert_button, self.download]),
                self.status,
                widgets.HBox([self.input_view, self.output_view], layout=widgets.Layout(width="100%")),
            ]
        )
        self.add_class("esxnb-convert-form")
        self._update_options()
        observe_connection(connection, self._on_connection)

    # -- inputs ----------------------------------------------------------------
    @property
    def connection(self) -> Any:
        return connection_of(self._source)

    def _on_connection(self, connection: Any) -> None:
        self.use_connection.layout.display = None
        self.use_connection.value = True

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        raw = bytes(item["content"])
        self.filename = item["name"]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # e.g. a Latin-1 VMX: the converter reads its .encoding itself
            text = raw.decode("latin-1")
        lower = self.filename.lower()
        if lower.endswith(".vmx"):
            self.direction.value = FROM_NATIVE
        elif lower.endswith(".xml"):
            self.direction.value = TO_NATIVE
        self.input.value = text
        self._raw = raw
        self.status.info(f"loaded {self.filename} ({len(raw)} bytes)")

    def _on_edit(self, change: dict) -> None:
        self._raw = None

    def _update_options(self) -> None:
        from_native = self.direction.value == FROM_NATIVE
        live = self.use_connection.value and self.connection is not None
        self.vmx_path.layout.display = None if from_native else "none"
        self.datacenter_path.layout.display = None if from_native and not live else "none"
        self.hw_version.layout.display = None if not from_native else "none"
        self.datastores.layout.display = None if not live else "none"
        options = [(str(v), v) for v in HW_VERSIONS]
        if live:
            options.insert(0, (f"server's default{self._server_hw_version()}", SERVER_DEFAULT))
        if live == getattr(self, "_live_options", None):
            return
        self._live_options = live  # going live or offline resets to that side's default
        self.hw_version.options = options
        self.hw_version.value = options[0][1]

    def _server_hw_version(self) -> str:
        try:
            return f" ({self.connection.virtual_hw_version()})"
        except errors.EsxnbError:
            return ""

    # -- converting --------------------------------------------------------------
    def convert(self) -> str | None:
        """Convert the input; returns the result (None on error, shown inline)."""
        self.result = self.error = None
        self.download.value = ""
        text = self.input.value
        if not text.strip():
            self.status.error("nothing to convert: paste a file or upload one")
            return None
        from_native = self.direction.value == FROM_NATIVE
        kind = looks_like(text)
        if kind is not None and kind != ("vmx" if from_native else "xml"):
            other = "domain XML → VMX" if kind == "xml" else "VMX → domain XML"
            found = "domain XML" if kind == "xml" else "a VMX file"
            self.error = errors.ValidationError(f"this looks like {found}: switch the direction to “{other}”")
            self.status.error(str(self.error))
            return None
        source: str | bytes = self._raw if self._raw is not None else text
        try:
            result = self._run(source, from_native)
        except errors.EsxnbError as exc:
            self._show_error(exc, text, from_native)
            return None
        self.result = result
        if from_native:
            self.result_xml = result
        else:
            self.result_vmx = result
        self.input_view.value = _pane("input", highlight(text, "vmx" if from_native else "xml"))
        self.output_view.value = _pane("output", highlight(result, "xml" if from_native else "vmx"))
        name = self._output_name(from_native)
        self.download.value = download_link(result, name, "application/xml" if from_native else "text/plain")
        self.status.ok(
            f"converted to {'domain XML' if from_native else 'VMX'} ({len(result.splitlines())} lines)"
        )
        return result

    def _run(self, source: str | bytes, from_native: bool) -> str:
        connection = self.connection if self.use_connection.value else None
        if connection is not None:
            if from_native:
                return connection.domxml_from_native(
                    source, **_optional(vmx_path=self.vmx_path.value.strip())
                )
            version = self.hw_version.value
            return connection.domxml_to_native(
                source, **_optional(virtual_hw_version=None if version == SERVER_DEFAULT else version)
            )
        from ..vmx import domxml_from_native, domxml_to_native

        datastores = parse_datastore_mapping(self.datastores.value) or None
        if from_native:
            return domxml_from_native(
                source,
                vmx_path=self.vmx_path.value.strip() or None,
                datacenter_path=self.datacenter_path.value.strip() or None,
                datastores=datastores,
            )
        return domxml_to_native(source, virtual_hw_version=int(self.hw_version.value), datastores=datastores)

    def _output_name(self, from_native: bool) -> str:
        base = os.path.splitext(os.path.basename(self.filename))[0] if self.filename else "domain"
        return f"{base or 'domain'}.{'xml' if from_native else 'vmx'}"

    def _show_error(self, exc: errors.EsxnbError, text: str, from_native: bool) -> None:
        self.error = exc
        line = getattr(exc, "line", None)
        lines = text.splitlines()
        detail = None
        if isinstance(line, int) and 1 <= line <= len(lines):
            detail = f"line {line}: {lines[line - 1].strip()}"
        self.status.error(error_text(exc), detail=detail)
        marked = (line,) if isinstance(line, int) and 1 <= line <= len(lines) else ()
        self.input_view.value = _pane(
            "input", highlight(text, "vmx" if from_native else "xml", hl_lines=marked)
        )
        self.output_view.value = ""


_VMX_LINE = re.compile(r'^\s*[A-Za-z0-9_.:\-]+\s*=\s*"', re.M)


def looks_like(text: str) -> str | None:
    """``"xml"`` for text that opens with markup, ``"vmx"`` for ``key = "value"`` lines, else None."""
    start = text.lstrip("\ufeff \t\r\n")
    if start.startswith("<"):
        return "xml"
    return "vmx" if _VMX_LINE.search(text) else None


def _optional(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "")}


def _pane(title: str, body: str) -> str:
    return (
        f"<div class='esxnb-pane esxnb-pane-{html.escape(title)}' style='border:1px solid #ddd;padding:4px'>"
        f"<div style='font-weight:bold;font-size:12px'>{html.escape(title)}</div>{body}</div>"
    )
