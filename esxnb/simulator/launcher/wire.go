package main

// The SOAP answers as real ESX/vCenter servers encode them.
//
// govmomi 0.24 differs in two ways that matter to strict clients such as
// libvirt's ESX driver (virsh):
//
//   - the items of an array value (<val xsi:type="ArrayOfManagedObjectReference">)
//     carry no xsi:type; real servers type every item, and libvirt refuses an
//     untyped one ("AnyType is missing 'type' property");
//   - every typed element declares the XML Schema instance namespace again
//     (xmlns:XMLSchema-instance="..." XMLSchema-instance:type="..."), which
//     makes answers about 1.8 times bigger than a vCenter's although the
//     envelope already declares xsi.
//
// wireWriter buffers an answer and rewrites it on the way out.

import (
	"bytes"
	"fmt"
	"log"
	"net/http"
	"strconv"

	"github.com/vmware/govmomi/vim25/types"
)

const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

var (
	redeclaredType = []byte(` xmlns:XMLSchema-instance="` + xsiNamespace + `" XMLSchema-instance:type=`)
	longTypeAttr   = []byte(`XMLSchema-instance:type=`)
	longTypeDecl   = []byte(` xmlns:XMLSchema-instance="` + xsiNamespace + `"`)
	xsiTypeAttr    = []byte(`xsi:type=`)
	arrayTypeAttr  = []byte(`xsi:type="ArrayOf`)
	envelopeXsi    = []byte(`xmlns:xsi="` + xsiNamespace + `"`)
)

// primitiveItems maps ArrayOfX to the XML Schema type of its items.
var primitiveItems = map[string]string{
	"String": "xsd:string", "Int": "xsd:int", "Long": "xsd:long", "Short": "xsd:short",
	"Byte": "xsd:byte", "Boolean": "xsd:boolean", "Double": "xsd:double", "Float": "xsd:float",
	"DateTime": "xsd:dateTime", "Base64Binary": "xsd:base64Binary", "AnyURI": "xsd:anyURI",
}

// realWire rewrites one SOAP answer (see the file comment); an answer whose
// envelope does not declare xsi is left alone.
func realWire(body []byte) []byte {
	head := body
	if len(head) > 512 {
		head = head[:512]
	}
	if !bytes.Contains(head, envelopeXsi) {
		return body
	}
	if bytes.Contains(body, longTypeAttr) {
		body = bytes.ReplaceAll(body, redeclaredType, []byte(` xsi:type=`))
		body = bytes.ReplaceAll(body, longTypeDecl, nil)
		body = bytes.ReplaceAll(body, longTypeAttr, xsiTypeAttr)
	}
	if !bytes.Contains(body, arrayTypeAttr) {
		return body
	}
	return typeArrayItems(body)
}

// typeArrayItems adds xsi:type to every direct child of an ArrayOf* element
// that has none. Go's encoder escapes '<' and '>' in text and attribute
// values, so tags can be found by their brackets.
func typeArrayItems(body []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(body) + len(body)/8)
	rest := body
	for {
		at := bytes.Index(rest, arrayTypeAttr)
		if at < 0 {
			out.Write(rest)
			return out.Bytes()
		}
		nameStart := at + len(arrayTypeAttr)
		nameEnd := bytes.IndexByte(rest[nameStart:], '"')
		tagEnd := bytes.IndexByte(rest[at:], '>')
		if nameEnd < 0 || tagEnd < 0 {
			out.Write(rest)
			return out.Bytes()
		}
		itemType := string(rest[nameStart : nameStart+nameEnd])
		if t, ok := primitiveItems[itemType]; ok {
			itemType = t
		}
		tagEnd += at
		empty := rest[tagEnd-1] == '/' // <val xsi:type="ArrayOfString"/>
		out.Write(rest[:tagEnd+1])
		rest = rest[tagEnd+1:]
		if !empty {
			rest = typeChildren(&out, rest, itemType)
		}
	}
}

// typeChildren copies the children of an element (rest starts after its
// start tag) up to and including its end tag, typing the untyped ones.
func typeChildren(out *bytes.Buffer, rest []byte, itemType string) []byte {
	attr := []byte(` xsi:type="` + itemType + `"`)
	for {
		lt := bytes.IndexByte(rest, '<')
		if lt < 0 || lt+1 >= len(rest) {
			out.Write(rest)
			return nil
		}
		out.Write(rest[:lt])
		rest = rest[lt:]
		if rest[1] == '/' { // the array's end tag
			gt := bytes.IndexByte(rest, '>')
			if gt < 0 {
				out.Write(rest)
				return nil
			}
			out.Write(rest[:gt+1])
			return rest[gt+1:]
		}
		gt := bytes.IndexByte(rest, '>')
		if gt < 0 {
			out.Write(rest)
			return nil
		}
		tag := rest[:gt+1]
		selfClosing := gt > 0 && rest[gt-1] == '/'
		if !bytes.Contains(tag, xsiTypeAttr) {
			cut := gt
			if selfClosing {
				cut = gt - 1
			}
			out.Write(rest[:cut])
			out.Write(attr)
			out.Write(rest[cut : gt+1])
		} else {
			out.Write(tag)
		}
		rest = rest[gt+1:]
		if !selfClosing {
			rest = copyElementBody(out, rest)
		}
	}
}

// copyElementBody copies an element's content and end tag (rest starts
// after its start tag), nested elements included, unchanged. (Arrays nested
// in array items are typed fields of data objects, which clients read by
// their declared type.)
func copyElementBody(out *bytes.Buffer, rest []byte) []byte {
	depth := 1
	for depth > 0 {
		lt := bytes.IndexByte(rest, '<')
		if lt < 0 {
			out.Write(rest)
			return nil
		}
		gt := bytes.IndexByte(rest[lt:], '>')
		if gt < 0 {
			out.Write(rest)
			return nil
		}
		gt += lt
		tag := rest[lt : gt+1]
		switch {
		case tag[1] == '/':
			depth--
		case tag[len(tag)-2] == '/':
		default:
			depth++
		}
		out.Write(rest[:gt+1])
		rest = rest[gt+1:]
	}
	return rest
}

// answerPanic replaces what a panicking handler wrote with what a real
// server answers: Go's HTTP server would drop the connection instead.
// govmomi 0.24's PropertyCollector.Fetch panics (index out of range) for a
// property that is unset, such as the root folder's parent; vCenter answers
// with no value. Any other panic becomes a SystemError fault naming it.
func (ww *wireWriter) answerPanic(method string, p interface{}) {
	ww.body.Reset()
	ww.status = http.StatusOK
	if method == "Fetch" {
		fmt.Fprintf(&ww.body, `%s<FetchResponse xmlns="urn:vim25"></FetchResponse>%s`, envelopeStart, envelopeEnd)
		return
	}
	log.Printf("%s: the simulator failed: %v", method, p)
	writeFault(ww, &types.SystemError{Reason: fmt.Sprint(p)}, fmt.Sprintf("%s failed in the simulator: %v", method, p))
}

// wireWriter buffers an answer so realWire can rewrite it whole.
type wireWriter struct {
	w       http.ResponseWriter
	status  int
	body    bytes.Buffer
	renames [][2]string
}

// rename makes finish replace the element name from by to (a request
// answered by another method's handler).
func (ww *wireWriter) rename(from, to string) {
	ww.renames = append(ww.renames, [2]string{from, to})
}

func newWireWriter(w http.ResponseWriter) *wireWriter {
	return &wireWriter{w: w, status: http.StatusOK}
}

func (ww *wireWriter) Header() http.Header         { return ww.w.Header() }
func (ww *wireWriter) Write(b []byte) (int, error) { return ww.body.Write(b) }
func (ww *wireWriter) WriteHeader(status int)      { ww.status = status }

// finish sends the rewritten answer.
func (ww *wireWriter) finish() {
	body := realWire(ww.body.Bytes())
	for _, r := range ww.renames {
		body = bytes.ReplaceAll(body, []byte("<"+r[0]), []byte("<"+r[1]))
		body = bytes.ReplaceAll(body, []byte("</"+r[0]), []byte("</"+r[1]))
	}
	ww.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	ww.w.WriteHeader(ww.status)
	_, _ = ww.w.Write(body)
}
