"""Every exception esxnb raises, in one tree::

    EsxnbError
    ├── URIError                      malformed URI, unknown scheme or extra parameter
    │   └── UnsupportedTransportError esx+ssh://, esx+tcp://, ... (client-side driver)
    ├── CredentialError               no credentials could be obtained
    ├── ConnectionFailedError         cannot reach or talk to the server
    │   ├── CertificateError          TLS verification failed
    │   ├── TimeoutError              the server did not answer in time
    │   ├── WrongServerTypeError      esx:// to a vCenter, vpx:// to a host...
    │   └── ProxyError                proxy unsupported or unreachable
    ├── AuthenticationError           the server refused the credentials
    ├── SessionExpiredError           session gone and no way to log in again
    ├── ConnectionClosedError         the connection was closed: connect again
    ├── NotFoundError                 domain, host, datacenter, path part... not found
    ├── ServerFault                   a vSphere fault, with the server's message
    ├── ConversionError               VMX <-> domain XML conversion refused
    │   ├── VMXSyntaxError            malformed VMX text (names the line)
    │   ├── XMLSyntaxError            malformed or unsafe domain XML
    │   └── RestrictionError          a value breaks an ESX restriction
    ├── ValidationError               a bad argument (scheduler values, names...)
    ├── HealthCheckFailed             health findings reached a runbook's fail_on level
    ├── OperationError                a domain operation cannot be done
    │   ├── ToolsNotAvailableError    needs VMware tools in the guest
    │   ├── ExistsError               the name is taken (snapshot, network, volume...)
    │   │   └── DomainExistsError     define would overwrite a domain or VMX
    │   └── InvalidStateError         wrong power state for the operation
    ├── TaskError                     a vSphere task failed or was cancelled
    │   ├── TaskTimeoutError          a task (or power-state wait) took too long
    │   ├── TaskCancelledError        the caller's cancel_event stopped it
    │   └── QuestionError             a question blocks the task (auto_answer=0)
    ├── MigrationError                migration refused or failed
    │   ├── MigrationTimeoutError     (also a TaskTimeoutError)
    │   └── MigrationCancelledError   (also a TaskCancelledError)
    └── SimulatorError                the simulator harness cannot start

All errors keep the server's own message where there is one, and never hold
credentials in their text.

One warning: ``IncompleteDataWarning`` (a ``UserWarning``), when the server refused to show
some properties of a table (``NoPermission`` for a restricted account...); the table's
``df.attrs["missing"]`` lists what was refused, for which objects.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "EsxnbError",
    "URIError",
    "UnsupportedTransportError",
    "CredentialError",
    "ConnectionFailedError",
    "CertificateError",
    "TimeoutError",
    "WrongServerTypeError",
    "ProxyError",
    "AuthenticationError",
    "SessionExpiredError",
    "ConnectionClosedError",
    "NotFoundError",
    "ServerFault",
    "ConversionError",
    "VMXSyntaxError",
    "XMLSyntaxError",
    "RestrictionError",
    "ValidationError",
    "HealthCheckFailed",
    "OperationError",
    "ToolsNotAvailableError",
    "ExistsError",
    "DomainExistsError",
    "InvalidStateError",
    "TaskError",
    "TaskTimeoutError",
    "TaskCancelledError",
    "QuestionError",
    "MigrationError",
    "MigrationTimeoutError",
    "MigrationCancelledError",
    "SimulatorError",
    "IncompleteDataWarning",
]


class EsxnbError(Exception):
    """Base of every esxnb error."""


class URIError(EsxnbError, ValueError):
    pass


class UnsupportedTransportError(URIError):
    pass


class CredentialError(EsxnbError):
    pass


class ConnectionFailedError(EsxnbError):
    pass


class CertificateError(ConnectionFailedError):
    pass


class TimeoutError(ConnectionFailedError):  # noqa: A001 - deliberate, lives in esxnb.errors
    pass


class WrongServerTypeError(ConnectionFailedError):
    pass


class ProxyError(ConnectionFailedError):
    pass


class AuthenticationError(EsxnbError):
    pass


class SessionExpiredError(EsxnbError):
    pass


class ConnectionClosedError(EsxnbError):
    """Used after ``close()``: a closed connection never logs in again by itself."""


class NotFoundError(EsxnbError, LookupError):
    """Something named does not exist; ``suggestions`` lists close matches."""

    def __init__(self, message: str, *, suggestions: Sequence[str] = ()) -> None:
        self.suggestions = list(suggestions)
        if self.suggestions:
            message = f"{message} (did you mean: {', '.join(self.suggestions)}?)"
        super().__init__(message)


class ServerFault(EsxnbError):
    """A vSphere fault; ``fault_type`` is its type name, ``message`` the server's text."""

    def __init__(self, message: str, *, fault_type: str | None = None) -> None:
        self.fault_type = fault_type
        self.message = message
        super().__init__(f"{fault_type}: {message}" if fault_type else message)


class ConversionError(EsxnbError, ValueError):
    pass


class VMXSyntaxError(ConversionError):
    """Malformed VMX text; ``line`` is the 1-based line number when known."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class XMLSyntaxError(ConversionError):
    """Malformed or unsafe XML; ``line`` is the 1-based line number when known."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class RestrictionError(ConversionError):
    pass


class ValidationError(EsxnbError, ValueError):
    pass


class HealthCheckFailed(EsxnbError):
    """Findings at least as severe as the level asked for (``esxnb.estate.fail_on``); a runbook
    ends with it so that papermill, cron or CI see a non-zero exit."""


class OperationError(EsxnbError):
    pass


class ToolsNotAvailableError(OperationError):
    pass


class ExistsError(OperationError):
    pass


class DomainExistsError(ExistsError):
    pass


class InvalidStateError(OperationError):
    pass


class TaskError(EsxnbError):
    """A task failed; ``fault_type`` and ``message`` come from the server."""

    def __init__(self, message: str, *, fault_type: str | None = None, task: str | None = None) -> None:
        self.fault_type = fault_type
        self.message = message
        self.task = task
        super().__init__(message)


class TaskTimeoutError(TaskError):
    pass


class TaskCancelledError(TaskError):
    """The caller's ``cancel_event`` stopped the operation.

    ``server_cancelled`` tells whether a server task was cancelled. It is False both when
    the server refused (the task goes on; ``task`` names it) and when nothing had been
    started yet (``task`` is None).
    """

    def __init__(self, message: str, *, task: str | None = None, server_cancelled: bool = False) -> None:
        super().__init__(message, fault_type="RequestCanceled", task=task)
        self.server_cancelled = server_cancelled


class QuestionError(TaskError):
    """A question blocks a task; carries its text, choices and default."""

    def __init__(
        self,
        question: str,
        choices: Sequence[tuple[str, str]],
        *,
        default: str | None = None,
        task: str | None = None,
        cancelled: bool = False,
    ) -> None:
        self.question = question
        self.choices = list(choices)
        self.default = default
        self.cancelled = cancelled
        labels = ", ".join(f"{key}={label}" for key, label in self.choices)
        tail = " The task was cancelled." if cancelled else ""
        super().__init__(
            f"question blocks the task: {question!r} (choices: {labels}; default: {default}). "
            f"Answer it or connect with auto_answer=1.{tail}",
            fault_type="Question",
            task=task,
        )


class MigrationError(EsxnbError):
    pass


class MigrationTimeoutError(MigrationError, TaskTimeoutError):
    """The relocation task did not finish in time (it may still be running on the vCenter)."""


class MigrationCancelledError(MigrationError, TaskCancelledError):
    """The caller's ``cancel_event`` stopped the migration; the text says where the domain is."""


class SimulatorError(EsxnbError):
    pass


class IncompleteDataWarning(UserWarning):
    """Some values of a table are missing because the server refused to show them."""
