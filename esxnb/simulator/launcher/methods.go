package main

// SOAP methods the launcher implements in full instead of the stock
// simulator (virtual disks, datastore search, host networking). Each file
// registers its methods in ownMethods from an init function; intercept()
// sends them here once the session is checked and injected faults had
// their turn.

import (
	"fmt"
	"net/http"
)

type ownMethod func(st *state, w http.ResponseWriter, call *soapCall, body []byte)

var ownMethods = map[string]ownMethod{}

// serveOwn answers call with the launcher's implementation; false if it has none.
func (st *state) serveOwn(w http.ResponseWriter, call *soapCall, body []byte) bool {
	handler, ok := ownMethods[call.Method]
	if !ok {
		return false
	}
	handler(st, w, call, body)
	return true
}

// writeReturn answers a method returning one simple value of xsiType.
func writeReturn(w http.ResponseWriter, method, xsiType, value string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `%s<%sResponse xmlns="urn:vim25"><returnval xsi:type="%s">%s</returnval></%sResponse>%s`,
		envelopeStart, method, xsiType, xmlText(value), method, envelopeEnd)
}
