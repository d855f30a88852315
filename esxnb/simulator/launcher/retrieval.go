package main

// What the launcher changes in property collector answers: paging that
// honours RetrievePropertiesEx's maxObjects (0.24 ignores it and never
// returns a token) and properties a restricted account may not see.
//
// Paging: an answer with more objects than maxObjects keeps the first ones
// and a token; ContinueRetrievePropertiesEx hands out the next pages,
// CancelRetrievePropertiesEx drops the rest. Tokens belong to the session
// that made them and are forgotten when it ends, as on vCenter; the control
// operation expire_tokens forgets them all (a token that expired mid-read).
//
// Restrictions (control restrict_property): for the given objects the given
// property, and the paths below it, are replaced by a missingSet entry with a
// NoPermission fault, as vCenter answers an account without the privilege.

import (
	"bytes"
	encxml "encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type restriction struct {
	Object string // moref value or object name
	Path   string
	Fault  string
}

type pagedRetrieval struct {
	session string
	pageMax int
	objects [][]byte // encoded objects still to hand out
	// a lazy retrieval (lazypages.go): the objects still to retrieve, a page at a time
	lazy    *lazyRequest
	pending []objectRef
}

type retrievals struct {
	mu           sync.Mutex
	pages        map[string]*pagedRetrieval
	restrictions []restriction
}

var maxObjectsPattern = regexp.MustCompile(`<maxObjects>\s*(\d+)\s*</maxObjects>`)

var objectsOpen, objectsClose = []byte("<objects>"), []byte("</objects>")

// splitObjectsFast is splitObjects for the usual answer, where no value
// holds an element called objects: a byte scan (an XML pass over a 15 MB
// answer costs a third of a second). ok is false when the scan cannot be
// sure; then the XML pass decides.
func splitObjectsFast(body []byte) (head []byte, objects [][]byte, tail []byte, ok bool) {
	first := bytes.Index(body, objectsOpen)
	if first < 0 {
		return nil, nil, nil, false
	}
	at := first
	for at < len(body) && bytes.HasPrefix(body[at:], objectsOpen) {
		end := bytes.Index(body[at+len(objectsOpen):], objectsClose)
		if end < 0 {
			return nil, nil, nil, false
		}
		end += at + len(objectsOpen) + len(objectsClose)
		if bytes.Contains(body[at+len(objectsOpen):end-len(objectsClose)], objectsOpen) {
			return nil, nil, nil, false // an objects element inside a value
		}
		objects = append(objects, body[at:end])
		at = end
	}
	if bytes.Contains(body[at:], objectsOpen) {
		return nil, nil, nil, false
	}
	return body[:first], objects, body[at:], true
}

// splitObjects cuts a RetrievePropertiesEx-like answer into what comes before
// its first top-level <objects>, the <objects> elements, and what follows
// the last (token included). ok is false for answers of another shape.
func splitObjects(body []byte) (head []byte, objects [][]byte, tail []byte, ok bool) {
	d := encxml.NewDecoder(bytes.NewReader(body))
	depth, returnDepth := 0, -1
	first, last := -1, -1
	start := int64(0)
	for {
		offset := d.InputOffset()
		tok, err := d.RawToken()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case encxml.StartElement:
			depth++
			switch {
			case t.Name.Local == "returnval" && returnDepth < 0:
				returnDepth = depth
			case t.Name.Local == "objects" && depth == returnDepth+1:
				start = offset
				if first < 0 {
					first = int(offset)
				}
			}
		case encxml.EndElement:
			if t.Name.Local == "objects" && depth == returnDepth+1 {
				end := d.InputOffset()
				objects = append(objects, body[start:end])
				last = int(end)
			}
			if depth == returnDepth {
				returnDepth = -2 // only the first returnval
			}
			depth--
		}
	}
	if first < 0 {
		return nil, nil, nil, false
	}
	return body[:first], objects, body[last:], true
}

var tokenPattern = regexp.MustCompile(`<token>[^<]*</token>`)

// withToken rebuilds an answer from its parts, with token (or none) first
// in returnval, where RetrieveResult puts it (a client can ask for the next
// page before it has read this one).
func withToken(head []byte, objects [][]byte, tail []byte, token string) []byte {
	head = tokenPattern.ReplaceAll(head, nil)
	tail = tokenPattern.ReplaceAll(tail, nil)
	var out bytes.Buffer
	out.Write(head)
	if token != "" {
		fmt.Fprintf(&out, "<token>%s</token>", xmlText(token))
	}
	for _, o := range objects {
		out.Write(o)
	}
	out.Write(tail)
	return out.Bytes()
}

var objPattern = regexp.MustCompile(`^<objects><obj type="([^"]+)">([^<]*)</obj>`)
var propSetPattern = regexp.MustCompile(`<propSet><name>([^<]*)</name>`)

// restrict applies the restrictions to one <objects> element.
func (r *retrievals) restrict(object []byte) []byte {
	m := objPattern.FindSubmatch(object)
	if m == nil {
		return object
	}
	kind, value := string(m[1]), string(m[2])
	name := ""
	if obj := simulator.Map.Get(types.ManagedObjectReference{Type: kind, Value: value}); obj != nil {
		if e, ok := obj.(mo.Entity); ok {
			name = e.Entity().Name
		}
	}
	for _, rule := range r.restrictions {
		if rule.Object != value && (name == "" || rule.Object != name) {
			continue
		}
		object = removePropSets(object, rule.Path)
		missing := fmt.Sprintf(`<missingSet><path>%s</path><fault><fault xsi:type="%s">`+
			`<object type="%s">%s</object><privilegeId>System.Read</privilegeId></fault>`+
			`<localizedMessage>Permission to perform this operation was denied.</localizedMessage></fault></missingSet>`,
			xmlText(rule.Path), rule.Fault, kind, xmlText(value))
		object = append(object[:len(object)-len("</objects>")], []byte(missing+"</objects>")...)
	}
	return object
}

// removePropSets drops the <propSet>s of path and the paths below it.
func removePropSets(object []byte, path string) []byte {
	var out bytes.Buffer
	rest := object
	for {
		loc := propSetPattern.FindSubmatchIndex(rest)
		if loc == nil {
			out.Write(rest)
			return out.Bytes()
		}
		name := string(rest[loc[2]:loc[3]])
		end := bytes.Index(rest[loc[0]:], []byte("</propSet>"))
		if end < 0 {
			out.Write(rest)
			return out.Bytes()
		}
		end += loc[0] + len("</propSet>")
		out.Write(rest[:loc[0]])
		if name != path && !strings.HasPrefix(name, path+".") {
			out.Write(rest[loc[0]:end])
		}
		rest = rest[end:]
	}
}

// restrictedObjects splits an answer into what comes before its objects,
// the objects with the restrictions applied, and what follows (rt.mu held).
func (rt *retrievals) restrictedObjects(answer []byte) (head []byte, objects [][]byte, tail []byte, ok bool) {
	head, objects, tail, ok = splitObjectsFast(answer)
	if !ok {
		head, objects, tail, ok = splitObjects(answer)
	}
	if !ok {
		return nil, nil, nil, false
	}
	if len(rt.restrictions) > 0 {
		for i := range objects {
			objects[i] = rt.restrict(objects[i])
		}
	}
	return head, objects, tail, true
}

// retrieveAnswer rewrites a stock RetrievePropertiesEx answer: restrictions,
// then the first page. Paged requests are retrieved page by page instead
// (lazypages.go); pages cut from the whole answer here serve the requests
// that way cannot read.
func (st *state) retrieveAnswer(r *http.Request, body, answer []byte) []byte {
	rt := st.retrievals
	rt.mu.Lock()
	defer rt.mu.Unlock()
	pageMax := 0
	if m := maxObjectsPattern.FindSubmatch(body); m != nil {
		pageMax, _ = strconv.Atoi(string(m[1]))
	}
	if len(rt.restrictions) == 0 && (pageMax <= 0 || bytes.Count(answer, objectsOpen) <= pageMax) {
		return answer // nothing to change: the stock answer as it is
	}
	head, objects, tail, ok := rt.restrictedObjects(answer)
	if !ok {
		return answer
	}
	if pageMax <= 0 || len(objects) <= pageMax {
		return withToken(head, objects, tail, "")
	}
	token := uuid.New().String()
	rt.pages[token] = &pagedRetrieval{session: sessionCookie(r), pageMax: pageMax, objects: objects[pageMax:]}
	return withToken(head, objects[:pageMax], tail, token)
}

// continueRetrieval answers ContinueRetrievePropertiesEx and
// CancelRetrievePropertiesEx from the stored pages.
func (st *state) continueRetrieval(w http.ResponseWriter, r *http.Request, call *soapCall) {
	token := call.Args["token"]
	rt := st.retrievals
	rt.mu.Lock()
	paged, ok := rt.pages[token]
	if ok && paged.session != sessionCookie(r) {
		ok = false // another session's token: unknown here, as on vCenter
	}
	if !ok {
		rt.mu.Unlock()
		writeFault(w, &types.InvalidArgument{InvalidProperty: "token"},
			fmt.Sprintf("the retrieval token %q is not known (expired, finished or cancelled)", token))
		return
	}
	if call.Method == "CancelRetrievePropertiesEx" {
		delete(rt.pages, token)
		rt.mu.Unlock()
		writeVoid(w, call.Method)
		return
	}
	var page [][]byte
	var refs []objectRef
	n := paged.pageMax
	if paged.lazy != nil {
		if n > len(paged.pending) {
			n = len(paged.pending)
		}
		refs, paged.pending = paged.pending[:n], paged.pending[n:]
	} else {
		if n > len(paged.objects) {
			n = len(paged.objects)
		}
		page, paged.objects = paged.objects[:n], paged.objects[n:]
	}
	next := ""
	if len(paged.objects) > 0 || len(paged.pending) > 0 {
		next = token
	} else {
		delete(rt.pages, token)
	}
	rt.mu.Unlock()
	if paged.lazy != nil {
		var failed *stockAnswer
		if page, failed = st.nextLazyPage(r, paged.lazy, refs); failed != nil {
			rt.mu.Lock()
			delete(rt.pages, token)
			rt.mu.Unlock()
			failed.writeTo(w) // the stock collector's own fault, as the whole answer would have had it
			return
		}
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, `%s<%sResponse xmlns="urn:vim25"><returnval>`, envelopeStart, call.Method)
	if next != "" {
		fmt.Fprintf(&out, "<token>%s</token>", xmlText(next))
	}
	for _, o := range page {
		out.Write(o)
	}
	fmt.Fprintf(&out, `</returnval></%sResponse>%s`, call.Method, envelopeEnd)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

func sessionCookie(r *http.Request) string {
	if c, err := r.Cookie("vmware_soap_session"); err == nil {
		return c.Value
	}
	return ""
}

// expireTokens forgets every paged retrieval (control expire_tokens).
func (st *state) expireTokens() int {
	rt := st.retrievals
	rt.mu.Lock()
	defer rt.mu.Unlock()
	n := len(rt.pages)
	rt.pages = map[string]*pagedRetrieval{}
	return n
}

func (st *state) clearRestrictions() {
	st.retrievals.mu.Lock()
	st.retrievals.restrictions = nil
	st.retrievals.mu.Unlock()
}
