package main

// Paged retrievals computed page by page, as vCenter does.
//
// RetrieveOptions.maxObjects "causes RetrievePropertiesEx to suspend the
// retrieval when the count of objects reaches the specified maximum"; the
// rest is computed when ContinueRetrievePropertiesEx asks for it. 0.24
// ignores maxObjects and builds and encodes the whole answer before the first
// byte leaves, so a client that asks for the next page while it decodes this
// one (esxnb does) cannot overlap with the server, unlike on a vCenter.
//
// Here a paged RetrievePropertiesEx first selects its objects (the same
// request with no property paths: cheap), then each page is the stock
// collector run on that page's objects with every property spec of the
// request. 0.24 gives each object the properties of every matching property
// spec of the request whatever filter spec selected it, so a page holds what
// the whole answer would have held for those objects, in the same order. An
// object gone between pages is left out (reportMissingObjectsInResults).

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/vim25/types"
)

var (
	specSetPattern     = regexp.MustCompile(`(?s)<specSet>.*?</specSet>`)
	propSpecPattern    = regexp.MustCompile(`(?s)<propSet>.*?</propSet>`)
	pathSetPattern     = regexp.MustCompile(`<pathSet>[^<]*</pathSet>`)
	allTruePattern     = regexp.MustCompile(`<all>\s*(true|1)\s*</all>`)
	selectedObjPattern = regexp.MustCompile(`<objects><obj type="([^"]+)">([^<]*)</obj>`)
)

type objectRef struct{ kind, value string }

// lazyRequest rebuilds one page's request from the original one.
type lazyRequest struct {
	head, tail []byte // the original body around its filter specs
	props      []byte // every <propSet> of every filter spec
}

func (lr *lazyRequest) body(refs []objectRef) []byte {
	var b bytes.Buffer
	b.Write(lr.head)
	b.WriteString("<specSet>")
	b.Write(lr.props)
	for _, ref := range refs {
		fmt.Fprintf(&b, `<objectSet><obj type="%s">%s</obj><skip>false</skip></objectSet>`, xmlText(ref.kind), xmlText(ref.value))
	}
	b.WriteString("<reportMissingObjectsInResults>true</reportMissingObjectsInResults></specSet>")
	b.Write(lr.tail)
	return b.Bytes()
}

// stockAnswer is what the stock handler answered.
type stockAnswer struct {
	code   int
	header http.Header
	body   []byte
}

func (a *stockAnswer) writeTo(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.code)
	_, _ = w.Write(a.body)
}

// stockCall runs body through the stock handler with r's headers (its session).
func (st *state) stockCall(r *http.Request, body []byte) *stockAnswer {
	req := r.Clone(r.Context())
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	rec := httptest.NewRecorder()
	st.stock.ServeHTTP(rec, req)
	return &stockAnswer{rec.Code, rec.Header(), rec.Body.Bytes()}
}

// retrieveLazily answers a RetrievePropertiesEx with maxObjects below its
// object count with the first page only, keeping the selection for the
// next ones. False when the request is not such a one (or the selection
// failed): the caller answers it the stock way, faults included.
func (st *state) retrieveLazily(w http.ResponseWriter, r *http.Request, body []byte) bool {
	m := maxObjectsPattern.FindSubmatch(body)
	if m == nil {
		return false
	}
	pageMax, _ := strconv.Atoi(string(m[1]))
	specs := specSetPattern.FindAllIndex(body, -1)
	if pageMax <= 0 || len(specs) == 0 {
		return false
	}
	lr := &lazyRequest{head: body[:specs[0][0]], tail: body[specs[len(specs)-1][1]:]}
	var props bytes.Buffer
	for _, loc := range specs {
		for _, p := range propSpecPattern.FindAll(body[loc[0]:loc[1]], -1) {
			props.Write(p)
		}
	}
	lr.props = props.Bytes()

	selection := allTruePattern.ReplaceAll(pathSetPattern.ReplaceAll(body, nil), []byte("<all>false</all>"))
	selected := st.stockCall(r, selection)
	if selected.code != http.StatusOK {
		return false
	}
	var refs []objectRef
	for _, m := range selectedObjPattern.FindAllSubmatch(selected.body, -1) {
		refs = append(refs, objectRef{html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2]))})
	}
	if len(refs) <= pageMax {
		return false // one page: the stock answer as it is
	}
	first := st.stockCall(r, lr.body(refs[:pageMax]))
	if first.code != http.StatusOK {
		return false
	}
	rt := st.retrievals
	rt.mu.Lock()
	head, objects, tail, ok := rt.restrictedObjects(first.body)
	token := uuid.New().String()
	if ok {
		rt.pages[token] = &pagedRetrieval{session: sessionCookie(r), pageMax: pageMax, lazy: lr, pending: refs[pageMax:]}
	}
	rt.mu.Unlock()
	if !ok {
		return false
	}
	first.body = withToken(head, objects, tail, token)
	first.writeTo(w)
	return true
}

// nextLazyPage retrieves the objects of the next page of a lazy retrieval;
// what the stock handler answered when it failed.
func (st *state) nextLazyPage(r *http.Request, lr *lazyRequest, refs []objectRef) ([][]byte, *stockAnswer) {
	answer := st.stockCall(r, lr.body(refs))
	if answer.code != http.StatusOK {
		return nil, answer
	}
	if !bytes.Contains(answer.body, objectsOpen) {
		return nil, nil // every object of the page is gone
	}
	rt := st.retrievals
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, objects, _, ok := rt.restrictedObjects(answer.body); ok {
		return objects, nil
	}
	rec := httptest.NewRecorder()
	writeFault(rec, &types.SystemError{Reason: "unreadable page"}, "the page's answer has no objects where expected")
	return nil, &stockAnswer{rec.Code, rec.Header(), rec.Body.Bytes()}
}
