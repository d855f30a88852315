package main

// Minimal SOAP reading and writing for the methods the launcher answers
// itself; everything else goes to the stock simulator handler.

import (
	"bytes"
	encxml "encoding/xml"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// soapCall is what the launcher needs to know about a request.
type soapCall struct {
	Method string
	This   types.ManagedObjectReference
	// Args holds the text of the method's simple child elements (first
	// occurrence), e.g. "questionId", "answerChoice", "name", "path".
	Args map[string]string
	// Refs holds the managed object references among the children.
	Refs map[string]types.ManagedObjectReference
}

// parseCall reads the method name, _this and the direct children of the
// method element. Nested structures (specs) are skipped.
func parseCall(body []byte) (*soapCall, error) {
	d := encxml.NewDecoder(bytes.NewReader(body))
	call := &soapCall{Args: map[string]string{}, Refs: map[string]types.ManagedObjectReference{}}
	depth := 0
	inBody := false
	methodDepth := -1
	var child string
	var childType string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			if call.Method == "" {
				return nil, fmt.Errorf("no SOAP method in request: %v", err)
			}
			return call, nil
		}
		switch t := tok.(type) {
		case encxml.StartElement:
			depth++
			switch {
			case !inBody && t.Name.Local == "Body":
				inBody = true
			case inBody && call.Method == "":
				call.Method = t.Name.Local
				methodDepth = depth
			case methodDepth > 0 && depth == methodDepth+1:
				child = t.Name.Local
				childType = ""
				for _, a := range t.Attr {
					if a.Name.Local == "type" {
						childType = a.Value
					}
				}
				text.Reset()
			}
		case encxml.CharData:
			if methodDepth > 0 && depth == methodDepth+1 {
				text.Write(t)
			}
		case encxml.EndElement:
			if methodDepth > 0 && depth == methodDepth+1 && child != "" {
				value := strings.TrimSpace(text.String())
				if child == "_this" {
					call.This = types.ManagedObjectReference{Type: childType, Value: value}
				} else {
					if _, seen := call.Args[child]; !seen {
						call.Args[child] = value
					}
					if childType != "" {
						call.Refs[child] = types.ManagedObjectReference{Type: childType, Value: value}
					}
				}
				child = ""
			}
			if depth == methodDepth {
				return call, nil
			}
			depth--
		}
	}
}

const envelopeStart = `<?xml version="1.0" encoding="UTF-8"?>` +
	`<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" ` +
	`xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
	`xmlns:xsd="http://www.w3.org/2001/XMLSchema" ` +
	`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>`
const envelopeEnd = `</soapenv:Body></soapenv:Envelope>`

func xmlText(s string) string {
	var b bytes.Buffer
	_ = encxml.EscapeText(&b, []byte(s))
	return b.String()
}

// writeVoid answers a method that returns nothing.
func writeVoid(w http.ResponseWriter, method string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `%s<%sResponse xmlns="urn:vim25"></%sResponse>%s`, envelopeStart, method, method, envelopeEnd)
}

// writeTaskRef answers a *_Task method with the task's reference.
func writeTaskRef(w http.ResponseWriter, method string, task types.ManagedObjectReference) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `%s<%sResponse xmlns="urn:vim25"><returnval type="%s">%s</returnval></%sResponse>%s`,
		envelopeStart, method, task.Type, xmlText(task.Value), method, envelopeEnd)
}

// newFault makes a fault of the named vim25 type (e.g. "InvalidState");
// unknown names are refused.
func newFault(name string) (types.BaseMethodFault, error) {
	typ, ok := types.TypeFunc()(name)
	if !ok {
		return nil, fmt.Errorf("unknown fault type %q", name)
	}
	v, ok := reflect.New(typ).Interface().(types.BaseMethodFault)
	if !ok {
		return nil, fmt.Errorf("%q is not a fault type", name)
	}
	return v, nil
}

// faultDetail encodes as <TypeFault xmlns="urn:vim25" xsi:type="Type">.
type faultDetail struct {
	Fault types.BaseMethodFault
}

func (d *faultDetail) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	kind := reflect.TypeOf(d.Fault).Elem().Name()
	start.Name = xml.Name{Local: kind + "Fault"}
	start.Attr = append(start.Attr,
		xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: "urn:vim25"},
		xml.Attr{Name: xml.Name{Local: "xsi:type"}, Value: kind})
	return e.EncodeElement(d.Fault, start)
}

// writeFault answers with a SOAP fault carrying fault and message.
func writeFault(w http.ResponseWriter, fault types.BaseMethodFault, message string) {
	var detail bytes.Buffer
	enc := xml.NewEncoder(&detail)
	if err := enc.Encode(&faultDetail{fault}); err != nil {
		detail.Reset()
	}
	_ = enc.Flush()
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `%s<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring>`+
		`<detail>%s</detail></soapenv:Fault>%s`, envelopeStart, xmlText(message), detail.String(), envelopeEnd)
}

// taskRefIn finds <returnval type="Task">...</returnval> in a response.
func taskRefIn(body []byte) (types.ManagedObjectReference, bool) {
	d := encxml.NewDecoder(bytes.NewReader(body))
	inRet := false
	for {
		tok, err := d.Token()
		if err != nil {
			return types.ManagedObjectReference{}, false
		}
		switch t := tok.(type) {
		case encxml.StartElement:
			if t.Name.Local == "returnval" {
				for _, a := range t.Attr {
					if a.Name.Local == "type" && a.Value == "Task" {
						inRet = true
					}
				}
			}
		case encxml.CharData:
			if inRet {
				return types.ManagedObjectReference{Type: "Task", Value: strings.TrimSpace(string(t))}, true
			}
		}
	}
}
