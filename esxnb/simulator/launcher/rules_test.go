package main

import (
	"testing"
	"time"
)

func TestFaultRulesCountDownAndDelaysAdd(t *testing.T) {
	r := newRules()
	r.faults["PowerOnVM_Task"] = &faultRule{Fault: "InvalidState", Count: 2}
	r.faults["Destroy_Task"] = &faultRule{Fault: "TaskInProgress", Count: -1}
	for i := 0; i < 2; i++ {
		if f := r.takeFault("PowerOnVM_Task"); f == nil || f.Fault != "InvalidState" {
			t.Fatalf("use %d: %v", i, f)
		}
	}
	if f := r.takeFault("PowerOnVM_Task"); f != nil {
		t.Errorf("a fault with count 2 answered a third time: %v", f)
	}
	for i := 0; i < 5; i++ {
		if r.takeFault("Destroy_Task") == nil {
			t.Fatalf("an until-cleared fault stopped after %d uses", i)
		}
	}
	r.delays["*"], r.delays["Login"] = time.Second, 2*time.Second
	if d := r.delayFor("Login"); d != 3*time.Second {
		t.Errorf("delay %v, want 3s", d)
	}
	r.questions["vm1"] = []*questionRule{{On: "PowerOnVM_Task", Text: "first"}, {On: "PowerOnVM_Task", Text: "second"}}
	if q := r.takeQuestion("vm1", "PowerOnVM_Task"); q == nil || q.Text != "first" {
		t.Errorf("questions are not first in, first out: %v", q)
	}
	r.clear()
	if r.takeFault("Destroy_Task") != nil || r.delayFor("Login") != 0 || r.takeQuestion("vm1", "PowerOnVM_Task") != nil {
		t.Error("clear left rules behind")
	}
}
