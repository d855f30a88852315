"""ConvertForm driven headless: paste/upload, options, side-by-side output, download, inline errors."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from pyVmomi import vim

from esxnb import datastore_files, errors
from esxnb.connection import Connection
from esxnb.simulator import Simulator
from esxnb.widgets import ConnectForm, ConvertForm
from esxnb.widgets.convert import FROM_NATIVE, TO_NATIVE, parse_datastore_mapping
from helpers import connect_to

VMX = """\
config.version = "8"
virtualHW.version = "7"
displayName = "web server"
memsize = "1024"
numvcpus = "2"
scsi0.present = "true"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "true"
scsi0:0.deviceType = "scsi-hardDisk"
scsi0:0.fileName = "/vmfs/volumes/4b0e1b9c-7dd2dc2c/web/web.vmdk"
"""

DOMAIN_XML = """\
<domain type='vmware'>
  <name>db</name>
  <memory unit='KiB'>2097152</memory>
  <vcpu>VCPUS</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='[datastore1] db/db.vmdk'/>
      <target dev='sda' bus='scsi'/>
    </disk>
  </devices>
</domain>
"""


def _xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode())


def _vmx(text: str) -> dict[str, str]:
    return {
        k.strip().lower(): v.strip().strip('"')
        for k, _, v in (line.partition("=") for line in text.splitlines())
        if _
    }


def test_paste_vmx_gives_domain_xml_side_by_side_with_a_download() -> None:
    form = ConvertForm()
    form.input.value = VMX
    form.vmx_path.value = "[datastore1] web/web.vmx"
    form.datacenter_path.value = "dc1"
    result = form.convert()
    assert result is not None and form.result_xml == result and form.status.kind == "ok"
    root = _xml(result)
    assert root.findtext("name") == "web server"
    assert root.findtext("memory") == str(1024 * 1024)
    assert root.findtext("vcpu") == "2"
    assert root.find("devices/disk/source").get("file") == "[4b0e1b9c-7dd2dc2c] web/web.vmdk"
    assert root.findtext("{http://libvirt.org/schemas/domain/vmware/1.0}datacenterpath") == "dc1"
    # side by side, highlighted (pygments puts inline colour styles on the spans)
    assert "displayName" in form.input_view.value and "style=" in form.input_view.value
    assert "&lt;/domain&gt;" in form.output_view.value and "datacenterpath" in form.output_view.value
    href = re.search(r"href='data:application/xml;base64,([^']+)'", form.download.value).group(1)
    assert base64.b64decode(href).decode() == result
    assert "download='domain.xml'" in form.download.value


def test_datastore_mapping_renames_volumes() -> None:
    form = ConvertForm()
    form.input.value = VMX
    form.datastores.value = "# volume = name\n4b0e1b9c-7dd2dc2c = datastore1\n"
    result = form.convert()
    assert _xml(result).find("devices/disk/source").get("file") == "[datastore1] web/web.vmdk"


def test_datastore_mapping_errors_name_the_line() -> None:
    assert parse_datastore_mapping("a = b\n\n# c\nd=e") == {"a": "b", "d": "e"}
    with pytest.raises(errors.ValidationError, match="line 2"):
        parse_datastore_mapping("a = b\nno equals sign")
    with pytest.raises(errors.ValidationError, match="line 3: 'a' is mapped twice"):
        parse_datastore_mapping("a = b\n\na = c")
    form = ConvertForm()
    form.input.value = VMX
    form.datastores.value = "oops"
    assert form.convert() is None
    assert "datastore mapping line 1" in form.status.text


def test_upload_picks_the_direction_and_keeps_the_encoding() -> None:
    form = ConvertForm(direction=TO_NATIVE)
    raw = (
        '.encoding = "ISO-8859-1"\nconfig.version = "8"\nvirtualHW.version = "4"\ndisplayName = "Büro"\n'
    ).encode("latin-1")
    form.upload.value = (
        {
            "name": "office.vmx",
            "type": "",
            "size": len(raw),
            "content": memoryview(raw),
            "last_modified": dt.datetime.now(),
        },
    )
    assert form.direction.value == FROM_NATIVE
    assert form.filename == "office.vmx" and "loaded office.vmx" in form.status.text
    result = form.convert()
    assert _xml(result).findtext("name") == "Büro"
    assert "download='office.xml'" in form.download.value


def test_xml_to_vmx_with_hardware_version() -> None:
    form = ConvertForm(direction=TO_NATIVE)
    assert form.vmx_path.layout.display == "none" and form.hw_version.layout.display is None
    form.input.value = DOMAIN_XML.replace("VCPUS", "2")
    form.hw_version.value = 7
    result = form.convert()
    entries = _vmx(result)
    assert form.result_vmx == result
    assert entries["virtualhw.version"] == "7"
    assert entries["displayname"] == "db"
    assert entries["memsize"] == "2048"
    assert entries["scsi0:0.filename"] == "/vmfs/volumes/datastore1/db/db.vmdk"
    assert "data:text/plain;base64," in form.download.value


def test_restriction_errors_are_shown_inline() -> None:
    form = ConvertForm(direction=TO_NATIVE)
    form.input.value = DOMAIN_XML.replace("VCPUS", "3")
    assert form.convert() is None
    assert isinstance(form.error, errors.RestrictionError)
    assert "3" in form.status.text and form.status.kind == "error"
    assert form.output_view.value == "" and form.download.value == ""


def test_vmx_syntax_error_marks_the_line() -> None:
    form = ConvertForm()
    form.input.value = 'config.version = "8"\nvirtualHW.version = "4"\nthis line is broken\n'
    assert form.convert() is None
    assert isinstance(form.error, errors.VMXSyntaxError) and form.error.line == 3
    assert "line 3: this line is broken" in form.status.value
    # pygments marks the highlighted line with a background colour
    assert "background-color" in form.input_view.value


def test_xml_syntax_error_names_the_line() -> None:
    form = ConvertForm(direction=TO_NATIVE)
    form.input.value = "<domain type='vmware'>\n  <name>x</name>\n  <memory>1</mem>\n</domain>\n"
    assert form.convert() is None
    assert isinstance(form.error, errors.XMLSyntaxError) and form.error.line == 3
    assert "line 3: &lt;memory&gt;1&lt;/mem&gt;" in form.status.value


def test_nothing_to_convert() -> None:
    form = ConvertForm()
    assert form.convert() is None and "nothing to convert" in form.status.text
    assert form.use_connection.layout.display == "none"


# -- with a live connection ------------------------------------------------------------------


@pytest.fixture(scope="module")
def esx() -> Iterator[Simulator]:
    with Simulator("esx", vms=1) as sim:
        yield sim


@pytest.fixture
def conn(esx: Simulator) -> Iterator[Connection]:
    with connect_to(esx) as connection:
        yield connection


@pytest.mark.simulator
def test_live_connection_resolves_real_datastores(conn: Connection) -> None:
    vm = conn.host.vm[0]
    vmx_path = vm.config.files.vmPathName
    disk = next(
        d.backing.fileName for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)
    )
    form = ConvertForm(conn)
    assert form.use_connection.layout.display is None and form.use_connection.value is True
    form.input.value = datastore_files.download(conn, vmx_path).decode()
    form.vmx_path.value = vmx_path
    root = _xml(form.convert())
    assert root.findtext("name") == vm.name
    assert root.findtext("uuid") == vm.config.uuid
    assert root.find("devices/disk/source").get("file") == disk
    assert (
        root.findtext("{http://libvirt.org/schemas/domain/vmware/1.0}datacenterpath") == conn.datacenter_path
    )
    xml = form.result_xml

    form.direction.value = TO_NATIVE
    assert form.hw_version.value == "server"
    assert f"({conn.virtual_hw_version()})" in form.hw_version.options[0][0]
    form.input.value = xml
    entries = _vmx(form.convert())
    assert entries["virtualhw.version"] == str(conn.virtual_hw_version())
    datastore, _, rest = disk[1:].partition("] ")
    assert entries["scsi0:0.filename"].endswith(f"/{rest}")
    assert entries["scsi0:0.filename"].startswith("/vmfs/volumes/")

    form.use_connection.value = False  # offline rules again: the datastore name is kept as is
    entries = _vmx(form.convert())
    assert entries["scsi0:0.filename"] == f"/vmfs/volumes/{datastore}/{rest}"
    assert entries["virtualhw.version"] == "4"


@pytest.mark.simulator
def test_follows_a_connect_form(esx: Simulator) -> None:
    connect_form = ConnectForm(esx.uri, ca_file=esx.ca_file)
    form = ConvertForm(connect_form)
    assert form.connection is None and form.use_connection.layout.display == "none"
    connect_form.password.value = esx.password
    connection = connect_form.connect(timeout=30)
    assert form.connection is connection and form.use_connection.value is True
    connection.close()


def test_download_names_follow_the_upload(tmp_path: Path) -> None:
    form = ConvertForm()
    form.filename = "/some/dir/my vm.vmx"
    form.input.value = VMX
    form.convert()
    assert "download='my vm.xml'" in form.download.value


def test_the_wrong_kind_of_text_says_to_switch_direction() -> None:
    from esxnb.widgets.convert import looks_like

    form = ConvertForm()
    form.input.value = 'config.version = "8"\nvirtualHW.version = "13"\nmemsize = "1024"\n'
    form.direction.value = TO_NATIVE
    assert form.convert() is None
    assert "looks like a VMX file: switch the direction to “VMX → domain XML”" in form.status.text
    form.input.value = "<domain type='vmware'><name>x</name></domain>"
    form.direction.value = FROM_NATIVE
    assert form.convert() is None and "looks like domain XML" in form.status.text
    assert looks_like("\ufeff  <?xml version='1.0'?><domain/>") == "xml" and looks_like("hello") is None
    assert form.direction.style.button_width == "14em"
