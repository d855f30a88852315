"""Shared widget bits: a status area, a progress bar that tasks can drive, a background runner."""

from __future__ import annotations

import base64
import html
import logging
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..errors import EsxnbError

__all__ = [
    "BackgroundRunner",
    "Confirmation",
    "StatusArea",
    "TaskProgress",
    "connection_of",
    "download_link",
    "error_text",
    "highlight",
    "observe_connection",
]

log = logging.getLogger("esxnb.widgets")

_COLOURS = {"info": "#555", "ok": "#1a7f37", "error": "#b42318", "busy": "#175cd3"}


def error_text(exc: BaseException) -> str:
    """What the user sees for an exception: esxnb errors speak for themselves."""
    if isinstance(exc, EsxnbError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


class StatusArea(widgets.HTML):
    """One line (or a few) of coloured, HTML-escaped status text; ``kind`` is info/ok/error/busy."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.kind = ""
        self.text = ""

    def show(self, kind: str, text: str, *, detail: str | None = None) -> None:
        self.kind = kind
        self.text = text
        body = f"<span style='color:{_COLOURS[kind]}'>{html.escape(text)}</span>"
        if detail:
            body += f"<br><span style='color:#555'>{html.escape(detail)}</span>"
        self.value = f"<div class='esxnb-status esxnb-status-{kind}'>{body}</div>"

    def info(self, text: str, **kw: Any) -> None:
        self.show("info", text, **kw)

    def ok(self, text: str, **kw: Any) -> None:
        self.show("ok", text, **kw)

    def busy(self, text: str, **kw: Any) -> None:
        self.show("busy", text, **kw)

    def error(self, text: str, **kw: Any) -> None:
        self.show("error", text, **kw)

    def clear(self) -> None:
        self.kind = ""
        self.text = ""
        self.value = ""


class Confirmation(widgets.HBox):
    """A hidden "Really ...? [Confirm] [Keep]" row: :meth:`ask` shows the question and runs
    ``on_confirm`` when Confirm is pressed; Keep (or :meth:`hide`) puts it away, doing nothing.
    Destructive actions of every form go through one of these."""

    def __init__(self, keep_label: str = "Keep them", **kw: Any) -> None:
        self.text = widgets.HTML()
        self.confirm_button = widgets.Button(description="Confirm", button_style="danger")
        self.keep_button = widgets.Button(description=keep_label)
        super().__init__(
            [self.text, self.confirm_button, self.keep_button], layout=widgets.Layout(display="none"), **kw
        )
        self.add_class("esxnb-confirmation")
        self._on_confirm: Callable[[], None] | None = None
        self._on_keep: Callable[[], None] | None = None
        self.confirm_button.on_click(lambda _b: self.confirm())
        self.keep_button.on_click(lambda _b: self.keep())

    @property
    def pending(self) -> bool:
        return self._on_confirm is not None

    def ask(
        self, question_html: str, on_confirm: Callable[[], None], on_keep: Callable[[], None] | None = None
    ) -> None:
        """Show ``question_html`` (already escaped) and wait for Confirm or Keep."""
        self._on_confirm, self._on_keep = on_confirm, on_keep
        self.text.value = question_html
        self.layout.display = None

    def confirm(self) -> None:
        action = self._on_confirm
        self.hide()
        if action is not None:
            action()

    def keep(self) -> None:
        action = self._on_keep
        self.hide()
        if action is not None:
            action()

    def hide(self) -> None:
        self._on_confirm = self._on_keep = None
        self.layout.display = "none"
        self.text.value = ""


class TaskProgress(widgets.HBox):
    """A labelled progress bar; call it as ``progress(percent, message)`` from any thread."""

    def __init__(self, title: str = "", **kw: Any) -> None:
        self.title = widgets.Label(title, layout=widgets.Layout(min_width="12em"))
        self.bar = widgets.IntProgress(value=0, min=0, max=100, layout=widgets.Layout(width="16em"))
        self.message = widgets.Label("")
        super().__init__([self.title, self.bar, self.message], **kw)
        self.add_class("esxnb-progress")

    def __call__(self, percent: int | None, message: str = "") -> None:
        if percent is not None:
            self.bar.value = max(0, min(100, int(percent)))
        if message:
            self.message.value = message

    def reset(self, title: str | None = None) -> None:
        if title is not None:
            self.title.value = title
        self.bar.value = 0
        self.bar.bar_style = ""
        self.message.value = ""

    def finish(self, ok: bool, message: str) -> None:
        if ok:
            self.bar.value = 100
        self.bar.bar_style = "success" if ok else "danger"
        self.message.value = message


class BackgroundRunner:
    """Runs one job at a time in a daemon thread so the kernel keeps answering.

    ``cancel_event`` is set by :meth:`cancel`; jobs pass it to the esxnb calls they make
    (``Domain.start(cancel_event=...)``, ``Connection.migrate(..., cancel_event=...)``), which
    cancel the server task when the server allows it.
    ``on_done(result)`` / ``on_error(exc)`` run in the worker thread.
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self.cancel_event = threading.Event()
        self.last_error: BaseException | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(
        self,
        job: Callable[[], Any],
        *,
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
        on_finally: Callable[[], None] | None = None,
        name: str = "esxnb-widget-job",
    ) -> bool:
        """Start ``job``; False (nothing started) when one is still running."""
        if self.busy:
            return False
        self.cancel_event = threading.Event()
        self.last_error = None

        def run() -> None:
            try:
                result = job()
            except BaseException as exc:  # shown in the form, never lost in the thread
                self.last_error = exc
                if not isinstance(exc, EsxnbError):
                    log.exception("widget job %s failed", name)
                _safely(on_error, exc)
            else:
                _safely(on_done, result)
            finally:
                if on_finally is not None:
                    _safely(on_finally)

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()
        return True

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running job; True when nothing is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.busy


def _safely(callback: Callable[..., None], *args: Any) -> None:
    try:
        callback(*args)
    except Exception:  # a broken display callback must not kill the worker thread silently
        log.exception("widget callback failed")


def connection_of(source: Any) -> Any:
    """A Connection, or the ``.connection`` of a form that makes one (None until it has)."""
    if source is None:
        return None
    if hasattr(source, "session") and hasattr(source, "uri"):
        return source
    return getattr(source, "connection", None)


def observe_connection(source: Any, callback: Callable[[Any], None]) -> None:
    """Call ``callback(connection)`` now when there is one, and whenever ``source`` (a form) makes a new one."""
    current = connection_of(source)
    if current is not None:
        callback(current)
    if source is not None and current is not source and hasattr(source, "observe"):

        def changed(change: dict) -> None:
            if change["new"] is not None:
                _safely(callback, change["new"])  # one broken follower must not break the others

        source.observe(changed, names="connection")


def highlight(text: str, language: str, *, hl_lines: tuple[int, ...] = ()) -> str:
    """Syntax-highlighted HTML with inline styles (works in Lab, Notebook 7 and Voila without CSS)."""
    from pygments import highlight as pygments_highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import IniLexer, XmlLexer

    lexer = XmlLexer() if language == "xml" else IniLexer()
    formatter = HtmlFormatter(
        noclasses=True,
        linenos="inline",
        hl_lines=list(hl_lines),
        style="default",
        cssstyles="margin:0;font-size:12px;line-height:1.35",
        prestyles="margin:0;white-space:pre",
    )
    return pygments_highlight(text, lexer, formatter)


def download_link(data: str | bytes, filename: str, mime: str) -> str:
    """An ``<a download>`` button carrying the data as a data: URI (no server round trip needed)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    href = f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"
    return (
        f"<a class='esxnb-download jupyter-button' download='{html.escape(filename, quote=True)}' "
        f"href='{href}' style='display:inline-block;padding:2px 12px;border:1px solid #999;"
        f"border-radius:3px;text-decoration:none;color:inherit'>⬇ Download {html.escape(filename)}</a>"
    )
