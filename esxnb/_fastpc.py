"""PropertyCollector retrievals decoded straight into rows, without pyvmomi's object decoder.

For 10,000 VMs a RetrievePropertiesEx answer is tens of megabytes; pyvmomi turns every
property into a typed Python object and spends most of the call doing it. Here the request
is still serialized by pyvmomi and sent over the session's own HTTP(S) connection pool (same
cookie, TLS context, timeout and proxy tunnel), but the answer is parsed by lxml (the first
page as it arrives, pages read ahead whole and off the GIL; see :class:`_Page`) and decoded
into plain values: ``str``, ``int``, ``bool``, ``float``, :class:`Ref` for managed object
references, lists and dicts for arrays and data objects. Faults are decoded by pyvmomi (they
are small) so they map to the same esxnb errors as any other call.
"""

from __future__ import annotations

import http.client
import io
import re
import ssl
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from lxml import etree
from pyVmomi import vim, vmodl
from pyVmomi.SoapAdapter import SoapResponseDeserializer

from . import errors
from ._decode import MAX_VALUE_TEXT, XSI_TYPE, decode, fault_type, leaf_reader, local_name, tag_name
from ._faults import to_esxnb_error
from ._refs import Ref, ref_of

__all__ = [
    "Ref",
    "Refused",
    "Table",
    "Retrieval",
    "FastCollector",
    "StaleSessionError",
    "ref_of",
    "MAX_VALUE_TEXT",
]

PC = vmodl.query.PropertyCollector

_VIM = "{urn:vim25}"
_OBJECTS = _VIM + "objects"
_TOKEN = _VIM + "token"
_OBJ = _VIM + "obj"
_PROPSET = _VIM + "propSet"
_MISSINGSET = _VIM + "missingSet"
_NAME = _VIM + "name"
_VAL = _VIM + "val"
_PATH = _VIM + "path"
_RETURNVAL = _VIM + "returnval"
_RESPONSES = (_VIM + "RetrievePropertiesExResponse", _VIM + "ContinueRetrievePropertiesExResponse")
_SOAP_FAULT = "{http://schemas.xmlsoap.org/soap/envelope/}Fault"
_DIAGNOSIS = 1 << 16  # bytes of an unexpected answer kept to say what it was
_CHUNK = 1 << 16
_WHOLE_LIMIT = 64 << 20  # bytes of a page read ahead that are parsed as one document, at most
# The paging token where vCenter and the simulator put it, first in the result: read from the
# first bytes of a page read ahead, so the page after it is asked for before this one is even
# complete (the parser checks it later).
_EARLY_TOKEN = re.compile(rb"<returnval>\s*<token>([^<&\s]{1,512})</token>")
_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": True}


def _whole_parser() -> Any:
    return etree.XMLParser(**_PARSER_OPTIONS)


class StaleSessionError(errors.SessionExpiredError):
    """The server no longer knows the session (or an object that lived in it, like a view)."""


@dataclass
class Table:
    """The objects of one managed object type: ``refs`` and, aligned, ``rows`` of ``{path: value}``."""

    refs: list[Ref] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def column(self, path: str) -> list[Any]:
        """The values of one property path (None where unset)."""
        return [row.get(path) for row in self.rows]

    def __len__(self) -> int:
        return len(self.refs)


class Refused(NamedTuple):
    """A property the server would not show (a ``missingSet`` entry other than a vanished
    object): ``fault`` is its type, e.g. ``NoPermission``."""

    ref: Ref
    path: str
    fault: str


@dataclass
class Retrieval:
    """What one retrieval brought back, by managed object type; ``refused`` lists the
    properties the server would not show (never to be read as unset)."""

    tables: dict[str, Table] = field(default_factory=dict)
    missing_objects: set[Ref] = field(default_factory=set)
    refused: list[Refused] = field(default_factory=list)
    round_trips: int = 0

    def table(self, *types: str) -> Table:
        """The objects of these types together (e.g. ComputeResource and ClusterComputeResource)."""
        if len(types) == 1:
            return self.tables.get(types[0], Table())
        merged = Table()
        for kind in types:
            found = self.tables.get(kind)
            if found is not None:
                merged.refs.extend(found.refs)
                merged.rows.extend(found.rows)
        return merged

    def properties(self) -> dict[Ref, dict[str, Any]]:
        """Every object's ``{path: value}``, keyed by its :class:`Ref`."""
        return {ref: row for table in self.tables.values() for ref, row in zip(table.refs, table.rows)}

    def merge(self, page: Retrieval) -> None:
        """Add a later page of the same retrieval."""
        for kind, table in page.tables.items():
            mine = self.tables.setdefault(kind, Table())
            mine.refs.extend(table.refs)
            mine.rows.extend(table.rows)
        self.missing_objects |= page.missing_objects
        self.refused.extend(page.refused)
        self.round_trips += page.round_trips


# -- the collector ----------------------------------------------------------------


class _Page:
    """Decodes one RetrievePropertiesEx / ContinueRetrievePropertiesEx answer into a Retrieval.

    Only ``objects`` and ``token`` directly inside the answer's ``returnval`` count (a value
    may hold elements of the same names); an answer that is no such result (a SOAP fault sent
    with status 200, a proxy's HTML page) is an error naming what came back, never an empty
    inventory.

    Pages of one retrieval decode one after the other, in order, each while it holds the
    ``turn`` lock (side by side they would only share the GIL). The first page streams: the
    pull parser decodes objects as the bytes arrive. A page read ahead (``ahead``) keeps its
    bytes and, once complete, is parsed in one call: lxml parses a whole document without
    the GIL, so this runs on another core while the page before is decoded; its token is
    told at once and its objects are decoded when its turn comes. A page over
    ``_WHOLE_LIMIT`` bytes streams instead (a server that ignores maxObjects must not make
    esxnb hold its whole answer as one tree). :meth:`release` gives the turn back.
    """

    def __init__(
        self,
        into: Retrieval,
        on_token: Callable[[str], None] | None = None,
        turn: threading.Lock | None = None,
        *,
        ahead: bool = False,
    ) -> None:
        self.into = into
        self.on_token = on_token  # told the next page's token as soon as it is read
        self.turn = turn
        self.held = False
        self.kept: list[bytes] | None = [] if ahead else None  # a page read ahead: its bytes
        self.kept_size = 0
        self.told: str | None = None  # the token on_token was given
        self.token: str | None = None
        self.not_authenticated = False
        self.answered = False  # the RetrievePropertiesEx result element was seen
        self.fault = False
        self.head = bytearray()  # the start of the answer, until it is known to be a result
        self.parser: Any = None

    def feed(self, data: bytes) -> None:
        if not self.answered and len(self.head) < _DIAGNOSIS:
            self.head += data[: _DIAGNOSIS - len(self.head)]
        if self.kept is not None:
            self.kept.append(data)
            self.kept_size += len(data)
            if self.told is None and self.on_token is not None and self.kept_size <= 2 * _DIAGNOSIS:
                early = _EARLY_TOKEN.search(self.head)
                if early is not None:
                    self._tell(early.group(1).decode("utf-8", "replace"))
            if self.kept_size <= _WHOLE_LIMIT:
                return
            kept, self.kept = self.kept, None  # too big for one tree: stream it after all
            for chunk in kept:
                self._stream(chunk)
            return
        self._stream(data)

    def close(self) -> None:
        if self.kept:
            kept, self.kept = self.kept, None
            self._answer(etree.fromstring(b"".join(kept), _whole_parser()))
            return
        self._stream(None)

    def _stream(self, data: bytes | None) -> None:
        if self.parser is None:
            self._take_turn()
            self.parser = etree.XMLPullParser(
                events=("start", "end"),
                tag=(_OBJECTS, _TOKEN, *_RESPONSES, _SOAP_FAULT),
                **_PARSER_OPTIONS,
            )
        if data is None:
            self.parser.close()
        else:
            self.parser.feed(data)
        self._drain()

    def _take_turn(self) -> None:
        if self.turn is not None and not self.held:
            self.turn.acquire()
            self.held = True

    def _read_token(self, element: Any) -> None:
        self.token = element.text
        if not self.token or self.on_token is None:
            return
        if self.told is None:
            self._tell(self.token)
        elif self.told != self.token:
            raise errors.ServerFault(
                f"the answer's paging token {self.token!r} is not {self.told!r}, as its first bytes said"
            )

    def _tell(self, token: str) -> None:
        self.told = token
        if self.on_token is not None:
            self.on_token(token)

    def release(self) -> None:
        """Give the turn back (if this page holds it)."""
        if self.turn is not None and self.held:
            self.held = False
            self.turn.release()

    def _answer(self, root: Any) -> None:
        """A whole answer: its token told first, then its objects decoded in this page's turn."""
        results = []
        for response in root.iter(*_RESPONSES):
            self.answered = True
            results.extend(response.iterchildren(_RETURNVAL))
        self.fault = next(root.iter(_SOAP_FAULT), None) is not None
        for result in results:
            for token in result.iterchildren(_TOKEN):
                self._read_token(token)
        self._take_turn()
        for result in results:
            for element in result.iterchildren(_OBJECTS):
                self._object(element)
                element.clear()  # memory is given back as the page is decoded

    @staticmethod
    def _top_level(element: Any) -> bool:
        parent = element.getparent()
        if parent is None or parent.tag != _RETURNVAL:
            return False
        grandparent = parent.getparent()
        return grandparent is not None and grandparent.tag in _RESPONSES

    def _drain(self) -> None:
        for event, element in self.parser.read_events():
            tag = element.tag
            if event == "start":
                if tag in _RESPONSES:
                    self.answered = True
                elif tag == _SOAP_FAULT:
                    self.fault = True
                continue
            if tag not in (_OBJECTS, _TOKEN) or not self._top_level(element):
                continue
            if tag == _TOKEN:
                self._read_token(element)
                continue
            self._object(element)
            # Processed objects are dropped so memory stays flat however large the answer.
            element.clear()
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]

    def _object(self, element: Any) -> None:
        tables = self.into.tables
        ref = None
        row: dict[str, Any] = {}
        for child in element:
            tag = child.tag
            if tag == _PROPSET:
                name = val = None
                for part in child:
                    if part.tag == _NAME:
                        name = part.text
                    elif part.tag == _VAL:
                        val = part
                if name is None or val is None:
                    continue
                try:
                    # Most values are leaves (strings, numbers, references, enums): read them
                    # with a reader cached per xsi:type instead of the general decoder.
                    row[name] = decode(val) if len(val) else leaf_reader(val.get(XSI_TYPE))(val)
                except ValueError as exc:
                    where = f"{ref.type} {ref.value}" if ref is not None else "an object"
                    raise errors.ServerFault(
                        f"the server sent property {name!r} of {where} malformed: {exc}",
                        fault_type="MalformedValue",
                    ) from None
            elif tag == _OBJ:
                ref = Ref(child.get("type"), child.text or "")
            elif tag == _MISSINGSET:
                fault = fault_type(child) or "unknown fault"
                if fault == "NotAuthenticated":
                    self.not_authenticated = True
                elif fault == "ManagedObjectNotFound" and ref is not None:
                    self.into.missing_objects.add(ref)
                elif ref is not None:
                    self.into.refused.append(Refused(ref, child.findtext(_PATH) or "", fault))
        if ref is not None:
            table = tables.get(ref.type)
            if table is None:
                table = tables[ref.type] = Table()
            table.refs.append(ref)
            table.rows.append(row)

    def check_answered(self, context: str, response: Any = None) -> None:
        """Raise unless the answer was a RetrievePropertiesEx result."""
        if self.answered:
            return
        raise _unexpected_answer(bytes(self.head), context, fault=self.fault, response=response)


class FastCollector:
    """Bulk RetrievePropertiesEx (+ ContinueRetrievePropertiesEx paging) over a :class:`Session`."""

    def __init__(self, session: Any) -> None:
        self._session = session
        # The raw SoapStubAdapter under the session's re-login wrapper: its connection pool,
        # cookie, path and API version are used as they are, never changed.
        self._soap = getattr(session.stub, "soapStub", session.stub)
        self._collector = session.content.propertyCollector
        self.round_trips = 0

    def retrieve(
        self,
        specs: Sequence[Any],
        *,
        page_size: int | None = 10_000,
        context: str = "property retrieval failed",
        on_page: Callable[[Retrieval], None] | None = None,
    ) -> Retrieval:
        """All objects and properties the filter specs select, paged until the server is done;
        ``on_page`` is given each page, in order, as soon as it is decoded (in this thread).

        Raises :class:`StaleSessionError` when the server no longer knows the session (the
        caller logs in again through pyvmomi and retries) and esxnb errors for everything else.
        """
        check_open = getattr(self._session, "check_open", None)
        if check_open is not None:  # a closed connection never logs in again behind the caller's back
            check_open()
        options = PC.RetrieveOptions(maxObjects=page_size) if page_size else PC.RetrieveOptions()
        result = Retrieval()
        # The next page is asked for as soon as its token is read (servers send it before the
        # objects), so the server builds it while this one is decoded; pages merge in order.
        # Each page's own reader starts the request for the page after it (servers may repeat
        # one token string for every page, so the follow-up belongs to the page, not the token).
        # Pages decode one at a time, in their turn; pages read ahead are parsed meanwhile (see _Page).
        turn = threading.Lock()
        Page = tuple[Retrieval, "str | None", "Future[Any] | None"]
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="esxnb-page") as pool:

            def fetch(token: str) -> Page:
                page, after = Retrieval(), {}
                next_token = self._call(
                    "ContinueRetrievePropertiesEx",
                    (token,),
                    page,
                    context,
                    lambda t: after.setdefault("f", pool.submit(fetch, t)),
                    turn=turn,
                    ahead=True,
                )
                return page, next_token, after.get("f")

            first: dict[str, Future[Any]] = {}
            token = None
            pending: Future[Any] | None = None
            try:
                first_page = Retrieval()
                token = self._call(
                    "RetrievePropertiesEx",
                    (list(specs), options),
                    first_page,
                    context,
                    lambda t: first.setdefault("f", pool.submit(fetch, t)),
                    turn=turn,
                )
                pending = first.get("f")
                result.merge(first_page)
                if on_page is not None:
                    on_page(first_page)
                while token:
                    page, token, pending = (pending or pool.submit(fetch, token)).result()
                    result.merge(page)
                    if on_page is not None:
                        on_page(page)
            except BaseException:
                if pending is not None:
                    pending.cancel()
                if token:
                    self._cancel(token)
                raise
            finally:
                self.round_trips += max(result.round_trips, 1)
        return result

    # -- one HTTP exchange ----------------------------------------------------------

    def _call(
        self,
        method: str,
        args: tuple,
        result: Retrieval,
        context: str,
        on_token: Callable[[str], None] | None = None,
        *,
        turn: threading.Lock | None = None,
        ahead: bool = False,
    ) -> str | None:
        soap = self._soap
        info = self._collector._GetMethodInfo(method)
        body = soap.SerializeRequest(self._collector, info, args)
        headers = {
            "Cookie": soap.cookie,
            "SOAPAction": soap.versionId,
            "Content-Type": "text/xml; charset=UTF-8",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": "esxnb",
            **(getattr(soap, "_customHeaders", None) or {}),
        }
        connection, response = self._send(body, headers, context)
        reusable = False
        page: _Page | None = None
        try:
            result.round_trips += 1
            if response.status == 200:
                page = _Page(result, on_token, turn, ahead=ahead)
                for data in _chunks(response):
                    page.feed(data)
                page.close()
                reusable = True
                if page.not_authenticated:
                    raise StaleSessionError(f"{context}: the server no longer knows this session")
                if not page.answered and page.fault:
                    raise self._fault(bytes(page.head), info, context)
                page.check_answered(f"{context}: {method}", response)
                return page.token
            payload = b"".join(_chunks(response))
            reusable = True
            if response.status == 500:
                raise self._fault(payload, info, context)
            raise errors.ConnectionFailedError(
                f"{context}: the server answered HTTP {response.status} {response.reason} to {method}"
            )
        except etree.XMLSyntaxError as exc:
            reusable = False
            what = _describe(bytes(page.head) if page is not None else b"", response)
            raise errors.ServerFault(
                f"{context}: the server's answer is not valid XML ({exc}); it was {what}"
            ) from None
        except (OSError, http.client.HTTPException, ssl.SSLError, zlib.error) as exc:
            reusable = False
            raise to_esxnb_error(exc, context=context, timeout=self._session.timeout) from exc
        finally:
            if page is not None:
                page.release()
            if reusable:
                soap.ReturnConnection(connection)
            else:
                connection.close()

    def _send(self, body: bytes, headers: dict[str, str], context: str) -> tuple[Any, Any]:
        """POST the request on a pooled (or new) connection and wait for the answer's head."""
        soap = self._soap
        try:
            # The session's stub never hands out a pooled connection the server closed.
            connection = soap.GetConnection()
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            raise to_esxnb_error(exc, context=context, timeout=self._session.timeout) from exc
        try:
            connection.request("POST", soap.path, body, headers)
            return connection, connection.getresponse()
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            connection.close()
            raise to_esxnb_error(exc, context=context, timeout=self._session.timeout) from exc

    def _fault(self, payload: bytes, info: Any, context: str) -> errors.EsxnbError:
        try:
            fault = SoapResponseDeserializer(self._soap).Deserialize(io.BytesIO(payload), info.result)
        except Exception:  # pyvmomi cannot decode every fault a server sends: read type and text ourselves
            fault = _plain_fault(payload)
            if fault is None:
                return errors.ServerFault(
                    f"{context}: the server answered HTTP 500 without a readable SOAP fault"
                )
        if isinstance(fault, vim.fault.NotAuthenticated):
            return StaleSessionError(f"{context}: the server no longer knows this session")
        if isinstance(fault, vmodl.fault.InvalidArgument) and info.wsdlName == "ContinueRetrievePropertiesEx":
            # the paging token expired (or the server restarted): the read must start again
            return StaleSessionError(f"{context}: the server forgot the retrieval's paging token")
        if isinstance(fault, vmodl.fault.ManagedObjectNotFound):
            gone = getattr(fault, "obj", None)
            if gone is not None and getattr(gone, "_wsdlName", "") == "ContainerView":
                return StaleSessionError(
                    f"{context}: the inventory view {gone._moId} is gone with its session"
                )
        if isinstance(fault, BaseException):
            return to_esxnb_error(fault, context=context)
        return errors.ServerFault(f"{context}: unexpected answer {type(fault).__name__}")

    def _cancel(self, token: str) -> None:
        try:
            self._collector.CancelRetrievePropertiesEx(token)
        except Exception:  # best effort: the server drops unfinished retrievals with the session anyway
            pass


def _describe(head: bytes, response: Any = None) -> str:
    """What an unexpected answer was: its content type and first characters."""
    kind = response.getheader("Content-Type") if response is not None else None
    start = head[:120].decode("utf-8", "replace").strip().replace("\n", " ")
    return (
        f"{kind or 'no content type'}, starting {start!r}" if start else f"{kind or 'no content type'}, empty"
    )


def _unexpected_answer(head: bytes, context: str, *, fault: bool, response: Any = None) -> errors.EsxnbError:
    if fault:
        found = _plain_fault(head)
        if isinstance(found, errors.EsxnbError):
            return found
        if isinstance(found, BaseException):
            return to_esxnb_error(found, context=context)
    return errors.ServerFault(
        f"{context}: the server answered with something that is not a property retrieval result "
        f"({_describe(head, response)}); not taking it for an empty inventory",
        fault_type="UnexpectedAnswer",
    )


def _plain_fault(payload: bytes) -> BaseException | None:
    """A SOAP fault's type and text read without pyvmomi, as the pyvmomi fault class when known."""
    from pyVmomi.VmomiSupport import GetWsdlType

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(payload, parser)
    except etree.XMLSyntaxError:
        return None
    fault = next(root.iter(_SOAP_FAULT), None)
    if fault is None:
        return None
    message = fault.findtext("faultstring") or ""
    detail = next((child for child in fault.iterfind("detail/*") if isinstance(child.tag, str)), None)
    kind = local_name(detail.get(XSI_TYPE)) if detail is not None else None
    if kind is None and detail is not None:
        kind = tag_name(detail).removesuffix("Fault")
    try:
        cls = GetWsdlType("urn:vim25", kind) if kind else vmodl.RuntimeFault
    except (KeyError, AttributeError):
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        return errors.ServerFault(message or "unknown fault", fault_type=kind)
    return cls(msg=message)


def _chunks(response: Any) -> Iterable[bytes]:
    """The response body in chunks, gunzipped/inflated when the server compressed it."""
    encoding = (response.getheader("Content-Encoding") or "identity").lower()
    inflater = None
    if encoding == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflater = zlib.decompressobj()
    while True:
        data = response.read(_CHUNK)
        if not data:
            break
        yield inflater.decompress(data) if inflater is not None else data
    if inflater is not None:
        tail = inflater.flush()
        if tail:
            yield tail
