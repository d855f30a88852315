package main

import (
	"strings"
	"testing"
)

const testEnvelope = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope ` +
	`xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
	`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>%s</soapenv:Body></soapenv:Envelope>`

func wrap(body string) string { return strings.Replace(testEnvelope, "%s", body, 1) }

func TestRealWire(t *testing.T) {
	long := `xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type=`
	cases := []struct{ name, in, want string }{
		{
			"references get their type",
			`<val ` + long + `"ArrayOfManagedObjectReference"><ManagedObjectReference type="HostSystem">h-1</ManagedObjectReference><ManagedObjectReference type="HostSystem">h-2</ManagedObjectReference></val>`,
			`<val xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference type="HostSystem" xsi:type="ManagedObjectReference">h-1</ManagedObjectReference><ManagedObjectReference type="HostSystem" xsi:type="ManagedObjectReference">h-2</ManagedObjectReference></val>`,
		},
		{
			"primitive items get the xsd type",
			`<val ` + long + `"ArrayOfString"><string>a</string><string>b&lt;c</string></val><val ` + long + `"xsd:int">3</val>`,
			`<val xsi:type="ArrayOfString"><string xsi:type="xsd:string">a</string><string xsi:type="xsd:string">b&lt;c</string></val><val xsi:type="xsd:int">3</val>`,
		},
		{
			"typed items and nested elements stay as they are",
			`<val ` + long + `"ArrayOfVirtualDevice"><VirtualDevice ` + long + `"VirtualDisk"><key>1</key><backing><fileName>x</fileName></backing></VirtualDevice><VirtualDevice><key>2</key></VirtualDevice></val>`,
			`<val xsi:type="ArrayOfVirtualDevice"><VirtualDevice xsi:type="VirtualDisk"><key>1</key><backing><fileName>x</fileName></backing></VirtualDevice><VirtualDevice xsi:type="VirtualDevice"><key>2</key></VirtualDevice></val>`,
		},
		{
			"empty arrays, self-closing items",
			`<val ` + long + `"ArrayOfString"/><val ` + long + `"ArrayOfOptionValue"><OptionValue/></val>`,
			`<val xsi:type="ArrayOfString"/><val xsi:type="ArrayOfOptionValue"><OptionValue xsi:type="OptionValue"/></val>`,
		},
	}
	for _, c := range cases {
		got := string(realWire([]byte(wrap(c.in))))
		if got != wrap(c.want) {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, wrap(c.want))
		}
	}
}

func TestRealWireLeavesForeignAnswersAlone(t *testing.T) {
	in := `<html><body><val xsi:type="ArrayOfString"><string>a</string></val></body></html>`
	if got := string(realWire([]byte(in))); got != in {
		t.Errorf("an answer without the SOAP envelope's xsi declaration changed: %s", got)
	}
}

func TestSplitObjects(t *testing.T) {
	answer := []byte(`<x><returnval><token>t</token><objects><obj type="A">1</obj></objects>` +
		`<objects><obj type="A">2</obj><propSet><name>n</name><val>v</val></propSet></objects></returnval></x>`)
	for name, split := range map[string]func([]byte) ([]byte, [][]byte, []byte, bool){
		"fast": splitObjectsFast, "xml": splitObjects,
	} {
		head, objects, tail, ok := split(answer)
		if !ok || len(objects) != 2 || string(head) != `<x><returnval><token>t</token>` ||
			string(tail) != `</returnval></x>` || !strings.HasSuffix(string(objects[1]), `</objects>`) {
			t.Errorf("%s: %v %q %q %q", name, ok, head, objects, tail)
		}
	}
	nested := []byte(`<x><returnval><objects><obj type="A">1</obj><propSet><name>n</name><val><objects>` +
		`</objects></val></propSet></objects></returnval></x>`)
	if _, _, _, ok := splitObjectsFast(nested); ok {
		t.Errorf("the fast split took an objects element inside a value for a top-level one")
	}
	if _, objects, _, ok := splitObjects(nested); !ok || len(objects) != 1 {
		t.Errorf("the XML split found %d objects, want 1", len(objects))
	}
}
