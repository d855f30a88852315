package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vim25/types"
)

func TestParseCallReadsMethodThisArgsAndRefs(t *testing.T) {
	body := envelopeStart + `<AnswerVM xmlns="urn:vim25"><_this type="VirtualMachine">vm-7</_this>` +
		`<questionId>q-1</questionId><answerChoice> 0 </answerChoice><host type="HostSystem">host-9</host>` +
		`<spec><name>nested, not an argument</name></spec></AnswerVM>` + envelopeEnd
	call, err := parseCall([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if call.Method != "AnswerVM" || call.This != (types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-7"}) {
		t.Errorf("method/this: %+v", call)
	}
	if call.Args["questionId"] != "q-1" || call.Args["answerChoice"] != "0" {
		t.Errorf("args: %v", call.Args)
	}
	if call.Refs["host"].Value != "host-9" || call.Args["name"] != "" {
		t.Errorf("refs %v, nested name leaked: %q", call.Refs, call.Args["name"])
	}
	if _, err := parseCall([]byte("<not-soap/>")); err == nil {
		t.Error("a body without a SOAP method was accepted")
	}
}

func TestFaultsAndTaskReferencesRoundTrip(t *testing.T) {
	rec := httptest.NewRecorder()
	writeFault(rec, &types.InvalidState{}, "no <way> & no")
	out := rec.Body.String()
	if rec.Code != 500 || !strings.Contains(out, `xsi:type="InvalidState"`) || !strings.Contains(out, "no &lt;way&gt; &amp; no") {
		t.Errorf("fault answer: %d %s", rec.Code, out)
	}
	rec = httptest.NewRecorder()
	writeTaskRef(rec, "PowerOnVM_Task", types.ManagedObjectReference{Type: "Task", Value: "task-3"})
	if ref, ok := taskRefIn(rec.Body.Bytes()); !ok || ref.Value != "task-3" {
		t.Errorf("task reference read back as %v %v", ref, ok)
	}
	if _, err := newFault("NoSuchFault"); err == nil {
		t.Error("an unknown fault type was accepted")
	}
}
