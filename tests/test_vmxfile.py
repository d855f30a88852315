"""The VMX reader/writer: grammar, case-insensitive keys, encodings, escapes, errors."""

from __future__ import annotations

import pytest

from esxnb.errors import ConversionError, VMXSyntaxError
from esxnb.vmx import VMXFile, format_vmx, parse_vmx
from esxnb.vmx._vmxfile import MAX_VMX_SIZE, _parse_fast, _parse_text, escape_hex, unescape_hex


def test_keys_are_case_insensitive_and_keep_their_spelling():
    vmx = parse_vmx('displayName = "web"\nSCSI0:0.FileName = "a.vmdk"\n')
    assert vmx.get("DISPLAYNAME") == "web"
    assert vmx.get("scsi0:0.filename") == "a.vmdk"
    assert "Scsi0:0.fileName" in vmx
    assert "memsize" not in vmx
    assert vmx.get("memsize", "32") == "32"
    assert vmx.items() == [("displayName", "web"), ("SCSI0:0.FileName", "a.vmdk")]
    assert len(vmx) == 2


def test_comments_blank_lines_and_line_numbers():
    text = "#!/usr/bin/vmware\n\n# the name\ndisplayName = \"a\" # trailing comment\n\n  memsize = '64'\n"
    vmx = parse_vmx(text)
    assert vmx.entries() == [("displayName", "a", 4), ("memsize", "64", 6)]
    assert vmx.line("MEMSIZE") == 6
    assert vmx.line("numvcpus") is None


def test_first_of_a_repeated_key_wins_like_libvirt():
    vmx = parse_vmx('memsize = "64"\nMemSize = "128"\n')
    assert vmx.get("memsize") == "64"
    assert vmx.line("memsize") == 1
    assert vmx.items() == [("memsize", "64"), ("MemSize", "128")]


def test_semicolons_crlf_and_triple_quotes():
    vmx = parse_vmx('a = "1"; b = "2"\r\nnote = """two\nlines"""\r\nc = "3"')
    assert vmx.entries() == [("a", "1", 1), ("b", "2", 1), ("note", "two\nlines", 2), ("c", "3", 4)]


def test_empty_and_blank_files_have_no_entries():
    assert len(parse_vmx("")) == 0
    assert len(parse_vmx("\n  \n# only a comment\n")) == 0


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("memsize = 64\n", 1, "must be quoted"),
        ('a = "1"\nmemsize "64"\n', 2, "expecting '='"),
        ('a = "1"\n\nb = "unterminated\n', 3, "unterminated"),
        ('a = "1"\n= "x"\n', 2, "expecting a key"),
        ('a = "1" b = "2"\n', 1, "after the value of 'a'"),
        ('a = "1"\nb =\n', 2, "has no value"),
        ('a = "1"\n9lives = "x"\n', 2, "expecting a key"),
        ('a = "x\x00y"\n', 1, "NUL"),
        ('a = "1"\ndisplayName = "caf\udce9"\n', 2, "U+DCE9 in VMX text is a lone surrogate"),
    ],
)
def test_syntax_errors_name_the_line(text, line, words):
    with pytest.raises(VMXSyntaxError) as info:
        parse_vmx(text)
    assert info.value.line == line
    assert words in str(info.value)
    assert str(info.value).startswith(f"line {line}: ")


def test_bytes_follow_the_declared_encoding():
    data = '.encoding = "windows-1252"\ndisplayName = "Caf\u00e9 \u20ac"\n'.encode("cp1252")
    vmx = parse_vmx(data)
    assert vmx.get("displayName") == "Caf\u00e9 \u20ac"
    assert vmx.encoding == "windows-1252"


def test_bytes_default_to_utf8():
    vmx = parse_vmx('displayName = "Gr\u00fc\u00dfe"\n'.encode())
    assert vmx.get("displayname") == "Gr\u00fc\u00dfe"
    assert vmx.encoding is None
    assert parse_vmx(b'.encoding = "UTF-8"\na = "b"\n').encoding == "UTF-8"


def test_invalid_utf8_names_the_line_and_the_fix():
    with pytest.raises(VMXSyntaxError) as info:
        parse_vmx(b'a = "1"\ndisplayName = "caf\xe9"\n')
    assert info.value.line == 2
    assert ".encoding" in str(info.value)


def test_unknown_encoding_is_refused():
    with pytest.raises(VMXSyntaxError, match="unknown character set 'klingon-8'") as info:
        parse_vmx(b'.encoding = "klingon-8"\na = "\xff"\n')
    assert info.value.line == 1


def test_bytes_not_valid_in_the_declared_encoding():
    with pytest.raises(VMXSyntaxError, match="not valid shift_jis"):
        parse_vmx(b'.encoding = "shift_jis"\na = "\x81"\n')


def test_size_and_type_limits():
    with pytest.raises(VMXSyntaxError, match="more than"):
        parse_vmx("#" * (MAX_VMX_SIZE + 1))
    with pytest.raises(VMXSyntaxError, match="str or bytes"):
        parse_vmx(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        'a = "1"\nb = "2"\n',
        '#!/usr/bin/vmware\na = "1"\r\n\r\nb = "2"',
        'a = "1"\nb = "x # not a comment"\n',
        'A.B:c-d_e = "1"\n.encoding = "UTF-8"\n',
    ],
)
def test_fast_path_agrees_with_the_full_parser(text):
    fast = _parse_fast(text)
    assert fast is not None
    assert list(zip(*fast)) == [(k.lower(), v) for k, v, _ in _parse_text(text)]


@pytest.mark.parametrize(
    "text",
    [
        'a = "1"\n# comment\nb = "2"\n',
        'a = "1"; b = "2"\n',
        "a = '1'\n",
        'a="1"\n',
        'a = "1" x\n',
        '\u212aey = "1"\n',
    ],
)
def test_unusual_layouts_take_the_full_parser(text):
    assert _parse_fast(text) is None


def test_vmxfile_can_be_built_from_pairs():
    vmx = VMXFile([("Memsize", "64"), ("numvcpus", "2")], lines=[3, 7], encoding="UTF-8")
    assert vmx.get("memsize") == "64"
    assert vmx.line("NUMVCPUS") == 7
    assert vmx.encoding == "UTF-8"
    with pytest.raises(ValueError):
        VMXFile([("a", "b")], lines=[1, 2])


def test_format_vmx_writes_quoted_lines():
    assert format_vmx([("config.version", "8"), ("displayName", "a b")]) == (
        'config.version = "8"\ndisplayName = "a b"\n'
    )
    assert format_vmx([]) == ""


@pytest.mark.parametrize("value", ['say "hi"', "two\nlines", "cr\r"])
def test_format_vmx_refuses_values_a_vmx_cannot_hold(value):
    with pytest.raises(ConversionError, match="'annotation'"):
        format_vmx([("annotation", value)])


def test_format_then_parse_round_trips():
    entries = [("displayName", "x|22y"), ("memsize", "1024"), ("annotation", "100% sure # really")]
    assert parse_vmx(format_vmx(entries)).items() == entries


def test_escape_hex_like_libvirt():
    assert escape_hex('a"b|c', "|", '"') == "a|22b|7cc"
    assert escape_hex("dir/name\\x%", "%", "/\\") == "dir%2fname%5cx%25"
    assert escape_hex("plain", "|", '"') == "plain"


def test_unescape_hex_like_libvirt():
    assert unescape_hex("a|22b|7cc", "|") == 'a"b|c'
    assert unescape_hex("%c3%a4%2F", "%") == "\u00e4/"
    assert unescape_hex("no escapes", "|") == "no escapes"


@pytest.mark.parametrize("value", ["trailing|", "short|2", "bad|zz", "|g0"])
def test_unescape_hex_refuses_bad_escapes(value):
    with pytest.raises(VMXSyntaxError, match="two hex digits"):
        unescape_hex(value, "|")


def test_unescape_hex_refuses_bytes_that_are_not_utf8():
    with pytest.raises(VMXSyntaxError, match="not valid UTF-8"):
        unescape_hex("|ff|fe", "|")


def test_escape_round_trip_of_every_ascii_character():
    text = "".join(chr(c) for c in range(1, 128))
    assert unescape_hex(escape_hex(text, "|", '"'), "|") == text
    assert unescape_hex(escape_hex(text, "%", "/\\"), "%") == text
