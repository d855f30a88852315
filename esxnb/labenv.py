"""Where the example notebooks get their server: ``$ESXNB_URI`` or a local simulator.

``esxnb lab`` and ``binder/start`` hand a server to the notebooks through the environment:

``ESXNB_URI``
    the server's URI (never with a password in it)
``ESXNB_USERNAME`` / ``ESXNB_PASSWORD``
    read by :mod:`esxnb.credentials` after libvirt's auth.conf
``ESXNB_CA_FILE``
    the CA bundle that verifies the server's certificate
``ESXNB_ESX_URIS``
    (migration notebook) space-separated ``esx://`` URIs of hosts managed by the vCenter
``ESXNB_SIMULATOR`` / ``ESXNB_SIMULATOR_TOKEN``
    when the server is a simulator ``esxnb lab`` started: what it is and its control token, so
    ``lab.simulator`` works in the notebooks as it does standalone (:mod:`esxnb.simulator`)

:func:`open_lab` reads them; when ``ESXNB_URI`` is unset it starts a small simulator in the
notebook's own kernel (the demo estate, see :class:`esxnb.simulator.Simulator`), exports the
same variables to the kernel's environment (so forms and ``!esxnb ...`` commands find it), and
stops it when the kernel exits. ``open_lab(private=True)`` is for notebooks that change the
estate: under ``esxnb lab`` they get a simulator of their own like the lab's (same estate and
seed), so the order notebooks run in never changes what they show; against a real server it
changes nothing (such notebooks put back what they change). Passwords stay in memory or in the
environment: nothing here prints them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .credentials import CredentialRequest, Credentials, prompt_credentials, request_credentials
from .errors import CredentialError
from .uri import URI, default_username, parse_uri

if TYPE_CHECKING:
    from .connection import Connection
    from .simulator import Simulator

__all__ = [
    "ENV_URI",
    "ENV_USERNAME",
    "ENV_PASSWORD",
    "ENV_CA_FILE",
    "ENV_ESX_URIS",
    "Lab",
    "open_lab",
    "open_migration_lab",
    "simulator_environment",
    "busiest_host_uri",
    "TOPOLOGY_OPTIONS",
]

ENV_URI = "ESXNB_URI"
ENV_USERNAME = "ESXNB_USERNAME"
ENV_PASSWORD = "ESXNB_PASSWORD"
ENV_CA_FILE = "ESXNB_CA_FILE"
ENV_ESX_URIS = "ESXNB_ESX_URIS"

# Loopback addresses for the migration topology: a vCenter and two ESX hosts it manages,
# all on one port as libvirt expects (it reaches the vCenter at the ESX URI's port).
_VCENTER_ADDRESS = "127.0.0.3"

# Simulator options that describe govmomi's plain inventory (the demo estate has its own).
TOPOLOGY_OPTIONS = frozenset(
    {"datacenters", "folders", "clusters", "hosts", "standalone_hosts", "pools", "datastores"}
)
_ESX_ADDRESSES = ("127.0.0.2", "127.0.0.4")


def busiest_host_uri(sim: Simulator) -> str:
    """``sim.uri`` with its path naming the host that runs the most VMs (vpx mode).

    govmomi spreads a cluster's VMs over its hosts at random, so the simulator's default host
    may run none; notebooks want one with domains on it.
    """
    if sim.mode != "vpx":
        return sim.uri
    from .connection import connect

    uri = parse_uri(sim.uri)
    with connect(uri.replace(path="/"), auth=(sim.username, sim.password), ca_file=sim.ca_file) as conn:
        hosts = conn.hosts()
    if hosts.empty:
        return sim.uri
    best = hosts.sort_values(["vms", "name"], ascending=[False, True]).iloc[0]
    return str(uri.replace(path=str(best["path"])))


def simulator_environment(sim: Simulator) -> dict[str, str]:
    """The ``ESXNB_*`` variables that point a notebook at ``sim`` (at its busiest host), with
    the handle that lets it use ``sim``'s control API."""
    from .simulator import describe

    uri = busiest_host_uri(sim)
    env = {ENV_URI: uri, ENV_USERNAME: sim.username, ENV_PASSWORD: sim.password, **describe(sim)}
    ca_file = getattr(sim, "ca_file", None)
    if ca_file:
        env[ENV_CA_FILE] = str(ca_file)
    elif parse_uri(uri).transport == "https":
        env[ENV_URI] = str(parse_uri(uri).replace(no_verify=True))
    return env


def _kernel_can_prompt() -> bool:
    """True inside a Jupyter kernel whose front end accepts input (never in headless runs)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    kernel = getattr(get_ipython(), "kernel", None)
    return bool(kernel is not None and getattr(kernel, "_allow_stdin", False))


def _environment_auth(uri: URI) -> Callable[[str], Credentials]:
    """auth.conf, then ESXNB_USERNAME/ESXNB_PASSWORD, then a notebook prompt when one is possible.

    A challenge other than the URI's host is the vCenter reached through ``?vcenter=``.
    """

    def auth(challenge: str) -> Credentials:
        scheme = uri.scheme if challenge == uri.hostname else "vpx"
        request = CredentialRequest(
            challenge=challenge,
            scheme=scheme,
            default_username=default_username(scheme),
            username=uri.username if challenge == uri.hostname else None,
        )
        try:
            return request_credentials(request)
        except CredentialError:
            if _kernel_can_prompt():
                return prompt_credentials(request)
            raise

    return auth


def _simulator_auth(simulators: Iterable[Simulator]) -> Callable[[str], tuple[str, str]]:
    """Answers each simulator's own credentials, told apart by host name as libvirt's challenge allows."""
    by_host = {sim.host: (sim.username, sim.password) for sim in simulators}

    def auth(challenge: str) -> tuple[str, str]:
        try:
            return by_host[challenge]
        except KeyError:
            raise CredentialError(f"no local simulator listens on {challenge}") from None

    return auth


class Lab:
    """A server for a notebook: ``uri`` plus how to log in; ``connect()`` opens connections to it.

    ``simulators`` lists the simulators this lab started itself (empty when the server came
    from ``ESXNB_URI``); ``close()`` stops them. ``attached`` is a handle on the simulator
    behind ``ESXNB_URI`` when ``esxnb lab`` started one (never stopped from here).
    """

    def __init__(
        self,
        uri: str,
        *,
        auth: Callable[[URI], Any],
        ca_file: str | None = None,
        simulators: Iterable[Simulator] = (),
        esx_uris: Iterable[str] = (),
        cleanup: Iterable[Path] = (),
        origin: str | None = None,
        attached: Simulator | None = None,
    ) -> None:
        self.uri = uri
        self.origin = origin or ("a local simulator" if simulators else f"${ENV_URI}")
        self.attached = attached
        self.ca_file = ca_file
        self.simulators = list(simulators)
        self.esx_uris = list(esx_uris)
        self._auth_for = auth
        self._cleanup = list(cleanup)
        self._exported: dict[str, str] = {}
        self._previous: dict[str, str | None] = {}
        self._closed = False
        atexit.register(self.close)

    @property
    def simulator(self) -> Simulator | None:
        """The simulator behind this lab (the first it started, the vCenter in a migration lab,
        or the one ``esxnb lab`` runs), or None for a real server."""
        return self.simulators[0] if self.simulators else self.attached

    def simulator_only(self, what: str) -> Simulator | None:
        """The simulator, or None after printing that ``what`` needs one and is skipped here.

        For notebook cells that drive the simulator's control API (slow tasks, questions,
        tools states): on a real server they say so instead of silently doing nothing.
        """
        if self.simulator is None:
            print(f"[skipped on {self.uri}: {what} needs the local simulator's control API]")
        return self.simulator

    def connect(self, uri: str | URI | None = None, **kwargs: Any) -> Connection:
        """``esxnb.connect`` with this lab's credentials and CA bundle; ``uri`` defaults to the lab's."""
        from .connection import connect

        parsed = parse_uri(self.uri if uri is None else uri) if not isinstance(uri, URI) else uri
        kwargs.setdefault("auth", self._auth_for(parsed))
        kwargs.setdefault("ca_file", self.ca_file)
        return connect(parsed, **kwargs)

    def credentials(self, challenge: str) -> Credentials:
        """What this lab answers when ``challenge`` (a host name) asks for credentials.

        For a credential callback of your own; the password stays hidden in the repr.
        """
        uri = parse_uri(self.uri)
        if challenge != uri.hostname:
            for esx_uri in self.esx_uris:
                if parse_uri(esx_uri).hostname == challenge:
                    uri = parse_uri(esx_uri)
        auth = self._auth_for(uri)
        answer = auth(challenge) if callable(auth) else auth
        if isinstance(answer, Credentials):
            return answer
        username, password = answer
        return Credentials(username, password)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        for name, value in self._exported.items():
            if os.environ.get(name) == value:
                previous = self._previous.get(name)
                if previous is None:
                    del os.environ[name]
                else:
                    os.environ[name] = previous
        for sim in reversed(self.simulators):
            sim.stop()
        if self.attached is not None:
            self.attached.stop()  # lets go; esxnb lab stops it
        for path in self._cleanup:
            shutil.rmtree(path, ignore_errors=True)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<esxnb Lab {self.uri} from {self.origin}>"


def _from_environment(environ: Mapping[str, str], origin: str = f"${ENV_URI}") -> Lab:
    uri = environ[ENV_URI].strip()
    parsed = parse_uri(uri)  # a bad ESXNB_URI fails here, naming what is wrong
    esx_uris = environ.get(ENV_ESX_URIS, "").split()
    for esx_uri in esx_uris:
        parse_uri(esx_uri)
    return Lab(
        uri,
        auth=_environment_auth,
        ca_file=environ.get(ENV_CA_FILE) or None,
        esx_uris=esx_uris,
        origin=origin,
        attached=_lab_simulator(environ, parsed),
    )


def _lab_simulator(environ: Mapping[str, str], uri: URI) -> Simulator | None:
    """A handle on the simulator ``esxnb lab`` runs, when ``uri`` is that simulator."""
    from .simulator import attach

    sim = attach(environ)
    if sim is None or (sim.host, sim.port) != (uri.hostname, uri.port):
        return None
    return sim


def open_lab(
    uri: str | None = None,
    *,
    mode: str = "vpx",
    environ: Mapping[str, str] | None = None,
    private: bool = False,
    **simulator_options: Any,
) -> Lab:
    """The server named by ``uri`` or ``$ESXNB_URI``, or else a fresh local simulator.

    With a URI, credentials come from auth.conf, ``ESXNB_USERNAME``/``ESXNB_PASSWORD`` or a
    prompt, and ``ESXNB_CA_FILE`` verifies the certificate; when that server is the simulator
    ``esxnb lab`` runs, ``lab.simulator`` is a handle on it. Otherwise ``mode`` ("vpx" or "esx")
    and ``simulator_options`` describe the simulator to start: the demo estate
    (``estate="demo"``, ``seed=0``) for vpx unless inventory knobs (e.g. ``hosts=2``) or
    ``estate=None`` ask for govmomi's plain inventory.

    ``private=True``: a notebook that changes the estate gets a simulator of its own, like the
    lab's when ``esxnb lab`` runs one (a real server in ``$ESXNB_URI`` is used as it is).
    """
    environ_is_process = environ is None
    environ = dict(os.environ if environ is None else environ)
    if uri:
        environ[ENV_URI] = uri
        return _from_environment(environ, origin="the given URI")
    if environ.get(ENV_URI, "").strip():
        from .simulator import same_kind

        kind = same_kind(environ) if private else None
        if kind is None or _lab_simulator(environ, parse_uri(environ[ENV_URI])) is None:
            return _from_environment(environ)
        mode, like_lab = kind
        simulator_options = {**like_lab, **simulator_options}
    from .simulator import Simulator

    if mode == "vpx" and not TOPOLOGY_OPTIONS & simulator_options.keys():
        simulator_options.setdefault("estate", "demo")
    sim = Simulator(mode, **simulator_options)
    sim.start()
    credentials = (sim.username, sim.password)
    exported = simulator_environment(sim)
    origin = "a simulator of this notebook's own" if private else None
    lab = Lab(
        exported[ENV_URI], auth=lambda _uri: credentials, ca_file=sim.ca_file, simulators=[sim], origin=origin
    )
    if environ_is_process:
        # As under `esxnb lab`: forms, `!esxnb ...` shell commands and child processes find it
        # too (in this kernel only; close() puts back what was there).
        lab._previous = {name: os.environ.get(name) for name in exported}
        os.environ.update(exported)
        lab._exported = exported
    return lab


def open_migration_lab(*, environ: Mapping[str, str] | None = None, vms: int = 2) -> Lab:
    """A vCenter with ESX hosts it manages, for both migration styles of the spec.

    From the environment when ``ESXNB_ESX_URIS`` lists at least two ESX hosts (``ESXNB_URI`` is
    then their vCenter); otherwise a local vCenter simulator on 127.0.0.3 and two ESX simulators
    on 127.0.0.2 and 127.0.0.4 that it manages (hosts ``DC0_C0_H0`` and ``DC0_C0_H1``), all on
    one port; ``esx_uris`` lists the host running more VMs first. Each simulator has its own
    password; the lab's credential callback tells them apart by host name, the challenge
    libvirt passes.
    """
    environ = os.environ if environ is None else environ
    if environ.get(ENV_URI, "").strip() and len(environ.get(ENV_ESX_URIS, "").split()) >= 2:
        return _from_environment(environ)
    from .simulator import Simulator, free_port_on

    port = free_port_on(_VCENTER_ADDRESS, *_ESX_ADDRESSES)
    started: list[Simulator] = []
    bundle_dir = Path(tempfile.mkdtemp(prefix="esxnb-lab-"))
    try:
        vcenter = Simulator("vpx", listen=_VCENTER_ADDRESS, port=port, hosts=2, standalone_hosts=0, vms=vms)
        vcenter.start()
        started.append(vcenter)
        for index, address in enumerate(_ESX_ADDRESSES):
            esx = Simulator(
                "esx", listen=address, port=port, managed_by=vcenter, host_name=f"DC0_C0_H{index}"
            )
            esx.start()
            started.append(esx)
        # One connection verifies both an ESX host and its vCenter: one bundle with every CA.
        bundle = bundle_dir / "ca-bundle.pem"
        bundle.write_text("".join(Path(sim.ca_file).read_text() for sim in started))
    except BaseException:
        for sim in reversed(started):
            sim.stop()
        shutil.rmtree(bundle_dir, ignore_errors=True)
        raise
    auth = _simulator_auth(started)
    # govmomi places a cluster's VMs at random: list the ESX host running the most first.
    running = Counter(vm["host"] for vm in vcenter.vms())
    esx_sims = sorted(started[1:], key=lambda sim: -running[sim.host_name])
    return Lab(
        busiest_host_uri(vcenter),
        auth=lambda _uri: auth,
        ca_file=str(bundle),
        simulators=started,
        esx_uris=[f"esx://{sim.host}:{port}/?vcenter=*" for sim in esx_sims],
        cleanup=[bundle_dir],
    )
