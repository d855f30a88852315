package main

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestControlNeedsTheTokenAndKnownOperations(t *testing.T) {
	st := &state{token: "secret", rules: newRules(), retrievals: &retrievals{pages: map[string]*pagedRetrieval{}}}
	send := func(token, body string) (int, string) {
		req := httptest.NewRequest("POST", "/esxnb/control", strings.NewReader(body))
		if token != "" {
			req.Header.Set("X-Esxnb-Token", token)
		}
		rec := httptest.NewRecorder()
		st.serveControl(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, _ := send("", `{"op":"reset"}`); code != 403 {
		t.Errorf("no token: %d", code)
	}
	if code, _ := send("wrong", `{"op":"reset"}`); code != 403 {
		t.Errorf("wrong token: %d", code)
	}
	if code, out := send("secret", `{"op":"nonsense"}`); code != 400 || !strings.Contains(out, "nonsense") {
		t.Errorf("unknown op: %d %s", code, out)
	}
	if code, out := send("secret", `{"op":"reset","extra":1}`); code != 400 || !strings.Contains(out, "bad JSON") {
		t.Errorf("unknown field: %d %s", code, out)
	}
	if code, out := send("secret", `{"op":"restrict_property","object":"vm-1","path":"config"}`); code != 200 || !strings.Contains(out, `"ok":true`) {
		t.Errorf("restrict_property: %d %s", code, out)
	}
	if len(st.retrievals.restrictions) != 1 || st.retrievals.restrictions[0].Fault != "NoPermission" {
		t.Errorf("restrictions: %+v", st.retrievals.restrictions)
	}
	if code, _ := send("secret", `{"op":"reset"}`); code != 200 || len(st.retrievals.restrictions) != 0 {
		t.Errorf("reset kept restrictions: %+v", st.retrievals.restrictions)
	}
}

func TestRestrictionsReplacePropertiesWithMissingSets(t *testing.T) {
	r := &retrievals{restrictions: []restriction{{Object: "vm-1", Path: "config", Fault: "NoPermission"}}}
	object := []byte(`<objects><obj type="VirtualMachine">vm-1</obj><propSet><name>name</name><val>a</val></propSet>` +
		`<propSet><name>config.hardware</name><val>b</val></propSet></objects>`)
	got := string(r.restrict(object))
	if strings.Contains(got, "config.hardware") || !strings.Contains(got, "<name>name</name>") ||
		!strings.Contains(got, `<missingSet><path>config</path><fault><fault xsi:type="NoPermission">`) {
		t.Errorf("restricted object: %s", got)
	}
	other := []byte(`<objects><obj type="VirtualMachine">vm-2</obj><propSet><name>config</name><val>c</val></propSet></objects>`)
	if string(r.restrict(other)) != string(other) {
		t.Error("another object's properties changed")
	}
}
