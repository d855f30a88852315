package main

// The launcher's state and its HTTP front door (about 470 lines): every request passes
// here on its way to the stock handler or one of the launcher's own.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// state is everything the launcher adds around the stock simulator.
type state struct {
	opts  *options
	model *simulator.Model
	stock http.Handler // the simulator's own mux
	token string

	mu         sync.Mutex
	dsDirs     map[dsKey]string                               // (datacenter, datastore name) -> local directory
	userVMX    map[types.ManagedObjectReference]bool          // .vmx came from a client (registered)
	toolsSet   map[types.ManagedObjectReference]string        // tools mode per VM (default opts.toolsDefault)
	rules      *rules                                         // faults, delays, task behaviours, questions
	tasks      map[string]*asyncTask                          // launcher-driven tasks by moref value
	asked      map[types.ManagedObjectReference]*openQuestion // open question per VM
	follower   *follower                                      // -follow: the managing vCenter (follow.go)
	retrievals *retrievals                                    // paging and restrictions (retrieval.go)

	demo            *demoInfra                                      // -estate demo (estate.go)
	guestIdentities map[types.ManagedObjectReference]*guestIdentity // what tools report (tools.go)
	dsCapacity      map[types.ManagedObjectReference]int64          // datastores sized by the estate (dsrefresh.go)
	hist            *history                                        // events and tasks (history.go)
}

func newState(o *options, m *simulator.Model) *state {
	return &state{
		opts:       o,
		model:      m,
		token:      os.Getenv("ESXNB_SIM_TOKEN"),
		dsDirs:     map[dsKey]string{},
		userVMX:    map[types.ManagedObjectReference]bool{},
		toolsSet:   map[types.ManagedObjectReference]string{},
		rules:      newRules(),
		tasks:      map[string]*asyncTask{},
		asked:      map[types.ManagedObjectReference]*openQuestion{},
		retrievals: &retrievals{pages: map[string]*pagedRetrieval{}},

		guestIdentities: map[types.ManagedObjectReference]*guestIdentity{},
		dsCapacity:      map[types.ManagedObjectReference]int64{},
	}
}

// internalCtx is a simulator call context for calls the launcher makes
// itself (the stock in-memory client uses one like it).
func (st *state) internalCtx(caller *types.ManagedObjectReference) *simulator.Context {
	return &simulator.Context{
		Context: context.Background(),
		Session: &simulator.Session{
			UserSession: types.UserSession{Key: uuid.New().String(), UserName: st.userName()},
			Registry:    simulator.NewRegistry(),
		},
		Map:    simulator.Map,
		Caller: caller,
	}
}

func (st *state) userName() string {
	if st.opts.username != "" {
		return st.opts.username
	}
	return "vcsim"
}

// prepareInventory runs after Create(): mirrored VMs, host settings, tools
// state, and a .vmx for every VM.
func (st *state) prepareInventory() error {
	if st.opts.mirrorFile != "" {
		if err := st.createMirror(st.opts.mirrorFile); err != nil {
			return err
		}
	}
	if st.opts.hostName != "" && st.opts.mode == "esx" {
		for _, e := range simulator.Map.All("HostSystem") {
			h := e.(*simulator.HostSystem)
			h.Name = st.opts.hostName
			h.Summary.Config.Name = st.opts.hostName
		}
	}
	if st.opts.managementServerIP != "" {
		st.setManagementServer(st.opts.managementServerIP)
	}
	if st.opts.followURL != "" {
		host, ok := simulator.Map.Any("HostSystem").(*simulator.HostSystem)
		if !ok {
			return fmt.Errorf("-follow: no host")
		}
		f, err := newFollower(st.opts.followURL, st.opts.followCA, host.Name)
		if err != nil {
			return err
		}
		st.follower = f
	}
	if _, err := handlersOf(simulator.Map); err != nil {
		return err
	}
	simulator.Map.AddHandler(&updateWatcher{st: st})
	prepareHostCapabilities() // hostcaps.go
	st.prepareAutostart()     // autostart.go
	st.prepareNetworks()      // network.go
	st.preparePerfIntervals() // perfintervals.go
	if st.opts.estate == "demo" {
		if err := st.buildDemoEstate(); err != nil { // estate.go
			return err
		}
	}
	st.prepareStorage() // vdisk.go
	if st.demo != nil {
		if err := st.finishDemoEstate(newChooser(st.opts.seed + 1)); err != nil {
			return err
		}
	}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		simulator.Map.WithLock(vm, func() { fixModelCdrom(vm) })
		st.applyTools(vm)
		if err := st.writeVMX(vm, ""); err != nil {
			return err
		}
	}
	st.startHistory() // history.go: from here on, every event and task is kept
	return nil
}

func (st *state) setManagementServer(ip string) {
	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		simulator.Map.WithLock(h, func() {
			simulator.Map.Update(h, []types.PropertyChange{{Name: "summary.managementServerIp", Val: ip}})
		})
	}
}

// renderLocked renders vm's .vmx and finds its path.
func (st *state) renderLocked(vm *simulator.VirtualMachine) (file, text string, err error) {
	simulator.Map.WithLock(vm, func() {
		file, err = vmxPath(vm, st.datastoreDir)
		if err == nil {
			text = renderVMX(vm, st.opts.mode)
		}
	})
	return
}

func (st *state) isUserVMX(ref types.ManagedObjectReference) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.userVMX[ref]
}

// writeVMX (re)writes vm's .vmx atomically. A .vmx that came from a client
// (RegisterVM) is only patched: the keys whose rendering changed since
// before (the rendering before the API call) are updated, the rest is kept.
func (st *state) writeVMX(vm *simulator.VirtualMachine, before string) error {
	file, text, err := st.renderLocked(vm)
	if err != nil {
		return err
	}
	if st.isUserVMX(vm.Self) {
		if before == "" {
			return nil
		}
		old, rerr := os.ReadFile(file)
		if rerr != nil {
			return rerr
		}
		text = patchVMX(string(old), before, text)
	}
	tmp := file + ".esxnb-tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// install wraps the simulator's HTTP handler; called before the launcher
// announces its address, so no request is in flight yet.
func (st *state) install(server *simulator.Server) {
	st.stock = server.Config.Handler
	server.Config.Handler = http.HandlerFunc(st.serveHTTP)
}

// vmChangingMethods rewrite the .vmx of the VM they touch.
var vmChangingMethods = map[string]bool{
	"ReconfigVM_Task": true, "Rename_Task": true, "UpgradeVM_Task": true,
	"CreateVM_Task": true, "CloneVM_Task": true, "RegisterVM_Task": true,
	"RelocateVM_Task": true, "CreateChildVM_Task": true, "InstantClone_Task": true,
}

// placingMethods put a VM on a host and pool (ContainerViews must follow).
var placingMethods = map[string]bool{
	"CreateVM_Task": true, "CloneVM_Task": true, "RegisterVM_Task": true,
	"RelocateVM_Task": true, "CreateChildVM_Task": true, "InstantClone_Task": true,
}

func (st *state) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/esxnb/control":
		st.serveControl(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/folder/") || r.URL.Path == "/folder":
		if !st.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="VMware HTTP server"`)
			http.Error(w, "401 Unauthorized: a vmware_soap_session cookie of a logged-in session is required", http.StatusUnauthorized)
			return
		}
		st.stock.ServeHTTP(w, r)
		return
	case r.URL.Path == "/screen":
		st.serveScreen(w, r) // screenshot.go
		return
	case r.Method == http.MethodPost && (r.URL.Path == "/sdk" || r.URL.Path == "/sdk/vimService"):
	default:
		st.stock.ServeHTTP(w, r)
		return
	}

	ww := newWireWriter(w) // wire.go: answers as real servers encode them
	method := ""
	defer func() {
		if p := recover(); p != nil {
			ww.answerPanic(method, p)
		}
		ww.finish()
	}()
	w = ww

	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	call, err := parseCall(body)
	if err != nil {
		st.stock.ServeHTTP(w, r)
		return
	}
	method = call.Method
	st.follow()                          // follow.go (a host managed by a vCenter simulator)
	if call.Method == "MigrateVM_Task" { // migration.go
		body = migrateAsRelocate(call)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		ww.rename("RelocateVM_TaskResponse", "MigrateVM_TaskResponse")
		if call, err = parseCall(body); err != nil {
			st.stock.ServeHTTP(w, r)
			return
		}
	}

	if d := st.rules.delayFor(call.Method); d > 0 {
		time.Sleep(d)
	}
	if st.intercept(w, r, call, body) {
		return
	}

	switch call.Method {
	case "ContinueRetrievePropertiesEx", "CancelRetrievePropertiesEx": // retrieval.go
		if st.sessionValid(r) {
			st.continueRetrieval(w, r, call)
			return
		}
	case "RetrievePropertiesEx":
		if st.retrieveLazily(w, r, body) { // lazypages.go
			return
		}
		rec := httptest.NewRecorder()
		st.stock.ServeHTTP(rec, r)
		answer := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			answer = st.retrieveAnswer(r, body, answer)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(answer)
		return
	}
	if !vmChangingMethods[call.Method] && !snapshotMethods[call.Method] {
		st.stock.ServeHTTP(w, r)
		return
	}

	before := st.beforeStock(call)
	rec := httptest.NewRecorder()
	st.stock.ServeHTTP(rec, r)
	st.afterStock(call, before, rec.Body.Bytes())
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// authorized tells whether r may use the host's HTTP file and console
// endpoints: with the cookie of a live session or, as ESXi allows (and
// libvirt's streams do), HTTP basic authentication with the user's
// credentials.
func (st *state) authorized(r *http.Request) bool {
	if user, password, ok := r.BasicAuth(); ok && st.opts.username != "" {
		return user == st.opts.username && password == st.opts.password
	}
	return st.sessionValid(r)
}

// sessionValid tells whether r carries the cookie of a live session, by
// asking the stock handler for the server time with that cookie.
func (st *state) sessionValid(r *http.Request) bool {
	cookie, err := r.Cookie("vmware_soap_session")
	if err != nil || cookie.Value == "" {
		return false
	}
	const probe = envelopeStart + `<CurrentTime xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></CurrentTime>` + envelopeEnd
	req := httptest.NewRequest(http.MethodPost, "/sdk", strings.NewReader(probe))
	req.Header.Set("Content-Type", "text/xml")
	req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	req.RemoteAddr = r.RemoteAddr
	rec := httptest.NewRecorder()
	st.stock.ServeHTTP(rec, req)
	return rec.Code == http.StatusOK
}

// beforeStock runs before a VM-changing method reaches the stock handler.
type beforeInfo struct {
	rendered string // .vmx rendering of a client-provided VM before the call
	hostOf   map[types.ManagedObjectReference]types.ManagedObjectReference
	poolOf   map[types.ManagedObjectReference]types.ManagedObjectReference
}

func (st *state) beforeStock(call *soapCall) *beforeInfo {
	info := &beforeInfo{}
	if vm, ok := simulator.Map.Get(call.This).(*simulator.VirtualMachine); ok && st.isUserVMX(vm.Self) {
		_, info.rendered, _ = st.renderLocked(vm)
	}
	switch call.Method {
	case "RegisterVM_Task":
		st.prepareRegister(call)
	case "RelocateVM_Task":
		if vm, ok := simulator.Map.Get(call.This).(*simulator.VirtualMachine); ok {
			simulator.Map.WithLock(vm, func() {
				if vm.Runtime.Host != nil {
					info.hostOf = map[types.ManagedObjectReference]types.ManagedObjectReference{vm.Self: *vm.Runtime.Host}
				}
				if vm.ResourcePool != nil {
					info.poolOf = map[types.ManagedObjectReference]types.ManagedObjectReference{vm.Self: *vm.ResourcePool}
				}
			})
		}
	}
	return info
}

// afterStock fixes up after the stock handler: .vmx files, tools state,
// registration details, host/pool VM lists.
func (st *state) afterStock(call *soapCall, before *beforeInfo, response []byte) {
	if ref, ok := taskRefIn(response); ok {
		st.afterTask(call, before, ref)
	}
}

// afterTask does the fix-ups once the stock task ref of a VM-changing call
// has finished.
func (st *state) afterTask(call *soapCall, before *beforeInfo, ref types.ManagedObjectReference) {
	task, ok := simulator.Map.Get(ref).(*simulator.Task)
	if !ok || task.Info.State != types.TaskInfoStateSuccess {
		return
	}
	if snapshotMethods[call.Method] {
		st.afterSnapshotTask(call, task.Info.Result) // snapshots.go
		return
	}
	var vmRef types.ManagedObjectReference
	switch call.Method {
	case "CreateVM_Task", "CloneVM_Task", "RegisterVM_Task", "CreateChildVM_Task", "InstantClone_Task":
		r, ok := task.Info.Result.(types.ManagedObjectReference)
		if !ok {
			return
		}
		vmRef = r
	default:
		vmRef = call.This
	}
	vm, ok := simulator.Map.Get(vmRef).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	switch call.Method {
	case "RegisterVM_Task":
		st.finishRegister(call, vm)
	case "RelocateVM_Task":
		st.fixRelocate(vm, before)
		go st.postMigrated(vm, before.hostOf[vm.Self]) // history.go
	}
	if call.Method != "RegisterVM_Task" {
		st.applyTools(vm)
	}
	st.prepareDisks(vm) // vdisk.go
	if placingMethods[call.Method] {
		refreshViews(vm.Self)
	}
	if err := st.writeVMX(vm, before.rendered); err != nil {
		log.Printf("writing .vmx of %s: %s", vm.Self.Value, err)
	}
}

// fixRelocate moves the VM between the host.vm and pool.vm lists, which the
// stock RelocateVM_Task leaves unchanged.
func (st *state) fixRelocate(vm *simulator.VirtualMachine, before *beforeInfo) {
	var newHost, newPool *types.ManagedObjectReference
	simulator.Map.WithLock(vm, func() {
		if vm.Runtime.Host != nil {
			h := *vm.Runtime.Host
			newHost = &h
		}
		if vm.ResourcePool != nil {
			p := *vm.ResourcePool
			newPool = &p
		}
	})
	// Through Map.Update, so that WaitForUpdates watchers of host.vm and
	// pool.vm see the move too.
	edit := func(ref types.ManagedObjectReference, field func(obj interface{}) *[]types.ManagedObjectReference, add bool) {
		obj := simulator.Map.Get(ref)
		if obj == nil {
			return
		}
		simulator.Map.WithLock(obj, func() {
			list := field(obj)
			if list == nil || hasRef(*list, vm.Self) == add {
				return
			}
			next := make([]types.ManagedObjectReference, 0, len(*list)+1)
			for _, r := range *list {
				if r != vm.Self {
					next = append(next, r)
				}
			}
			if add {
				next = append(next, vm.Self)
			}
			simulator.Map.Update(obj, []types.PropertyChange{{Name: "vm", Val: next}})
		})
	}
	move := func(oldRef types.ManagedObjectReference, newRef *types.ManagedObjectReference, field func(obj interface{}) *[]types.ManagedObjectReference) {
		if newRef == nil || oldRef == *newRef {
			return
		}
		edit(oldRef, field, false)
		edit(*newRef, field, true)
	}
	hostVMs := func(obj interface{}) *[]types.ManagedObjectReference {
		if h, ok := obj.(*simulator.HostSystem); ok {
			return &h.Vm
		}
		return nil
	}
	poolVMs := func(obj interface{}) *[]types.ManagedObjectReference {
		if p, ok := obj.(*simulator.ResourcePool); ok {
			return &p.Vm
		}
		return nil
	}
	if old, ok := before.hostOf[vm.Self]; ok {
		move(old, newHost, hostVMs)
	}
	if old, ok := before.poolOf[vm.Self]; ok {
		move(old, newPool, poolVMs)
	}
}
