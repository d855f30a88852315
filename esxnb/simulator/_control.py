"""The simulator launcher's control API (``POST /esxnb/control``, token-guarded), as methods of
:class:`~esxnb.simulator.Simulator`: tools states, questions, task behaviours, injected faults
and delays, host addresses, restricted properties, paging tokens."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from typing import Any

from esxnb.errors import SimulatorError

__all__ = ["SimulatorControl"]


class SimulatorControl:
    """Mixed into :class:`~esxnb.simulator.Simulator` (which provides the launcher's URL, its
    token and TLS context)."""

    transport: str
    _token: str

    def _need(self, key: str) -> Any:  # provided by Simulator
        raise NotImplementedError

    def ssl_context(self) -> ssl.SSLContext:  # provided by Simulator
        raise NotImplementedError

    def control(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one control operation; returns the launcher's JSON answer."""
        base = self._need("url").rsplit("/sdk", 1)[0]
        body = json.dumps({"op": op, **fields}).encode()
        request = urllib.request.Request(
            base + "/esxnb/control",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Esxnb-Token": self._token},
        )
        context = self.ssl_context() if self.transport == "https" else None
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", "")
            except ValueError:
                message = ""
            raise SimulatorError(f"simulator control {op!r} refused: {message or exc}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SimulatorError(f"simulator control {op!r} failed: {exc}") from exc
        answer.pop("ok", None)
        return answer

    def set_tools(self, vm: str, status: str) -> None:
        """Set VMware tools of ``vm``: toolsOk, toolsNotRunning or toolsNotInstalled."""
        self.control("set_tools", vm=vm, status=status)

    def add_question(
        self,
        vm: str,
        text: str,
        choices: Sequence[tuple[str, str]] = (("0", "Yes"), ("1", "No")),
        default: str | None = "0",
        on: str = "PowerOnVM_Task",
        cancel_choices: Iterable[str] = (),
    ) -> None:
        """Make the next ``on`` task of ``vm`` block on a question.

        Answers listed in ``cancel_choices`` make the task fail (RequestCanceled)."""
        self.control(
            "add_question",
            vm=vm,
            text=text,
            choices=[list(c) for c in choices],
            default=default or "",
            on=on,
            cancel_choices=list(cancel_choices),
        )

    def clear_questions(self, vm: str | None = None) -> None:
        """Forget questions not yet raised (for ``vm`` or all)."""
        self.control("clear_questions", vm=vm or "")

    def set_task_behaviour(self, method: str, duration: float, steps: int = 1) -> None:
        """Tasks of ``method`` run ``duration`` s with progress in ``steps`` (0 s: back to instant)."""
        self.control("set_task_behaviour", method=method, duration=duration, steps=steps)

    def inject_fault(
        self,
        method: str,
        fault: str = "InvalidState",
        message: str = "",
        *,
        task: bool = False,
        count: int | None = None,
    ) -> None:
        """``method`` answers with ``fault`` (or its task fails with it, ``task=True``),
        ``count`` times or until :meth:`clear_faults`."""
        self.control("inject_fault", method=method, fault=fault, message=message, task=task, count=count)

    def set_delay(self, method: str = "*", seconds: float = 0.0) -> None:
        """Delay every call of ``method`` ("*": all methods) by ``seconds``."""
        self.control("set_delay", method=method, seconds=seconds)

    def clear_faults(self) -> None:
        """Remove injected faults and delays."""
        self.control("clear_faults")

    def reset(self) -> None:
        """Remove faults, delays, task behaviours and pending questions."""
        self.control("reset")

    def set_host_ip(self, host: str, ip: str) -> None:
        """Give ``host`` the management IP ``ip`` (what FindByIp searches)."""
        self.control("set_host_ip", host=host, ip=ip)

    def set_management_server(self, ip: str) -> None:
        """Set ``summary.managementServerIp`` of every host."""
        self.control("set_management_server", ip=ip)

    def restrict_property(self, obj: str, path: str, fault: str = "NoPermission") -> None:
        """Answer ``path`` (and the paths below it) of ``obj`` (a name or moref) in property
        retrievals with a ``missingSet`` entry carrying ``fault``, as vCenter answers an
        account without the privilege to read it."""
        self.control("restrict_property", object=obj, path=path, fault=fault)

    def clear_restrictions(self) -> None:
        self.control("clear_restrictions")

    def expire_tokens(self) -> int:
        """Forget every paging token of unfinished retrievals; how many there were."""
        return int(self.control("expire_tokens")["expired"])

    def vms(self, host: str | None = None) -> list[dict[str, Any]]:
        """VMs (name, uuid, instance_uuid, memory_mb, num_cpu, guest_id,
        annotation, power_state, host), optionally of one host."""
        return self.control("vms", host=host or "")["vms"]
