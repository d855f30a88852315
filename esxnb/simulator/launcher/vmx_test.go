package main

import (
	"strings"
	"testing"

	"github.com/vmware/govmomi/vim25/types"
)

func TestVMXEscapesRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", `a "quoted" |pipe|`, "tab\there\nnewline"} {
		if got := vmxUnescape(vmxEscape(s)); got != s {
			t.Errorf("%q -> %q -> %q", s, vmxEscape(s), got)
		}
	}
	if strings.ContainsAny(vmxEscape("a\"b|c\n"), "\"\n") {
		t.Error("escaped text still holds a quote or a newline")
	}
}

func TestUUIDsInVMwaresSpelling(t *testing.T) {
	u := "421a6177-5aa9-abb7-5924-fc376c18a1b4"
	vmware := vmwareUUID(u)
	if vmware != "42 1a 61 77 5a a9 ab b7-59 24 fc 37 6c 18 a1 b4" || uuidFromVMware(vmware) != u {
		t.Errorf("%s <-> %s", vmware, uuidFromVMware(vmware))
	}
	if vmwareUUID("not-a-uuid") != "not-a-uuid" || uuidFromVMware("nonsense") != "" {
		t.Error("unparseable UUIDs are not passed through / refused")
	}
}

func TestVMXLinesAndPatching(t *testing.T) {
	values := vmxValues("# comment\ndisplayName = \"web|22s|22\"\nMemSize = \"512\"\n")
	if values["displayname"] != `web"s"` || values["memsize"] != "512" {
		t.Errorf("values: %v", values)
	}
	old := "# kept\ncustom.key = \"x\"\nmemsize = \"512\"\nnumvcpus = \"1\"\n"
	before := "memsize = \"512\"\nnumvcpus = \"1\"\n"
	after := "memsize = \"1024\"\nnumvcpus = \"1\"\n"
	got := patchVMX(old, before, after)
	if !strings.Contains(got, "# kept\ncustom.key = \"x\"\nmemsize = \"1024\"\nnumvcpus = \"1\"\n") {
		t.Errorf("patched .vmx:\n%s", got)
	}
}

func TestAllocationFromVMXEntries(t *testing.T) {
	a := allocationFrom(map[string]string{"sched.cpu.min": "100", "sched.cpu.max": "2000", "sched.cpu.shares": "high"}, "sched.cpu")
	if a == nil || *a.Reservation != 100 || *a.Limit != 2000 || a.Shares.Level != types.SharesLevelHigh || a.Shares.Shares != 2000 {
		t.Errorf("cpu allocation: %+v", a)
	}
	m := allocationFrom(map[string]string{"sched.mem.shares": "normal"}, "sched.mem")
	if m == nil || m.Shares.Shares != 10000 {
		t.Errorf("memory shares are ten times the cpu ones: %+v", m)
	}
	if c := allocationFrom(map[string]string{"sched.cpu.shares": "1234"}, "sched.cpu"); c == nil || c.Shares.Level != types.SharesLevelCustom {
		t.Errorf("custom shares: %+v", c)
	}
	if allocationFrom(map[string]string{}, "sched.cpu") != nil {
		t.Error("no entries should be no allocation")
	}
}
