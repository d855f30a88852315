package main

// Event and task history as a vCenter keeps it. govmomi 0.24 keeps the last 1000 events only,
// filters them by type and entity alone (time and user are a TODO in its source), and has no
// TaskHistoryCollector at all; its tasks all say they were started by "vcsim". Here:
//
//   - every event is kept (history, up to maxHistory), read through a stock collector the
//     launcher holds, so events the stock code posts are all seen;
//   - CreateCollectorForEvents answers with a collector over that whole history that
//     applies the full EventFilterSpec: entity with recursion, time (begin/end), user names
//     (and systemUser), event type ids, chain id; ReadNext/ReadPreviousEvents,
//     Rewind/ResetCollector, SetCollectorPageSize and DestroyCollector work on it;
//   - CreateCollectorForTasks answers with a TaskHistoryCollector over every task created
//     (entity with recursion, time, user, states) and ReadNext/ReadPreviousTasks;
//   - tasks carry the user who started them (the simulator's one user).

import (
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"text/template"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const maxHistory = 200000

func init() {
	ownMethods["CreateCollectorForEvents"] = (*state).createEventCollector
	ownMethods["CreateCollectorForTasks"] = (*state).createTaskCollector
}

// history is what the launcher remembers of events and tasks.
type history struct {
	mu       sync.Mutex
	events   []types.BaseEvent
	lastKey  int32
	tasks    []types.ManagedObjectReference
	capture  types.ManagedObjectReference // the stock collector every event reaches
	serial   int
	children map[types.ManagedObjectReference]bool
}

// messageFixes replace event message templates 0.24 ships broken (posting such an event
// panics in template.Must).
var messageFixes = map[string]string{
	"VmMigratedEvent": "Migration of virtual machine {{.Vm.Name}} from {{.SourceHost.Name}} to {{.Host.Name}} completed",
}

// startHistory installs the stock collector whose page updates hand every new event over.
func (st *state) startHistory() {
	st.hist = &history{}
	em, ok := simulator.Map.Get(*st.model.ServiceContent.EventManager).(*simulator.EventManager)
	if !ok {
		return
	}
	simulator.Map.WithLock(em, func() {
		for i := range em.Description.EventInfo {
			info := &em.Description.EventInfo[i]
			if fix, ok := messageFixes[info.Key]; ok {
				info.FullFormat = fix
			} else if _, err := template.New(info.Key).Parse(info.FullFormat); err != nil {
				info.FullFormat = "" // better no message than a panic
			}
		}
	})
	ctx := st.internalCtx(&em.Self)
	var ref types.ManagedObjectReference
	simulator.Map.WithLock(em, func() {
		body := em.CreateCollectorForEvents(ctx, &types.CreateCollectorForEvents{This: em.Self,
			Filter: types.EventFilterSpec{MaxCount: 1}})
		if res, ok := body.(*methods.CreateCollectorForEventsBody); ok && res.Res != nil {
			ref = res.Res.Returnval
		}
	})
	st.hist.capture = ref
}

// sawUpdate takes the newest event from the capture collector's page, and stamps new tasks
// with their user. Called by the update watcher for every property change.
func (st *state) sawUpdate(obj mo.Reference, changes []types.PropertyChange) {
	h := st.hist
	if h == nil || obj.Reference() != h.capture {
		return
	}
	for _, c := range changes {
		var page []types.BaseEvent
		switch v := c.Val.(type) {
		case []types.BaseEvent:
			page = v
		case *types.ArrayOfEvent: // Map.Update wraps arrays
			page = v.Event
		case types.ArrayOfEvent:
			page = v.Event
		}
		if c.Name != "latestPage" || page == nil {
			continue
		}
		h.mu.Lock()
		for _, e := range page {
			if k := e.GetEvent().Key; k > h.lastKey {
				h.lastKey = k
				h.events = append(h.events, e)
			}
		}
		if len(h.events) > maxHistory {
			h.events = h.events[len(h.events)-maxHistory:]
		}
		h.mu.Unlock()
	}
}

func (st *state) sawTask(task *simulator.Task) {
	if st.hist == nil {
		return
	}
	task.Info.Reason = &types.TaskReasonUser{UserName: st.userName()}
	if task.Info.Entity != nil { // 0.24 puts the moref where the name belongs
		if e, ok := simulator.Map.Get(*task.Info.Entity).(mo.Entity); ok {
			task.Info.EntityName = e.Entity().Name
		}
	}
	go st.postTaskEvent(task.Info) // later: the caller may hold locks the event manager needs
	st.hist.mu.Lock()
	st.hist.tasks = append(st.hist.tasks, task.Self)
	if len(st.hist.tasks) > maxHistory {
		st.hist.tasks = st.hist.tasks[1:]
	}
	st.hist.mu.Unlock()
}

// postTaskEvent records the TaskEvent a vCenter posts when a task starts (0.24 posts none).
func (st *state) postTaskEvent(info types.TaskInfo) {
	em, ok := simulator.Map.Get(*st.model.ServiceContent.EventManager).(*simulator.EventManager)
	if !ok {
		return
	}
	event := &types.TaskEvent{Info: info}
	event.FullFormattedMessage = "Task: " + info.DescriptionId
	if info.Entity != nil {
		arg := types.EntityEventArgument{Name: info.EntityName}
		switch info.Entity.Type {
		case "VirtualMachine":
			event.Vm = &types.VmEventArgument{EntityEventArgument: arg, Vm: *info.Entity}
		case "HostSystem":
			event.Host = &types.HostEventArgument{EntityEventArgument: arg, Host: *info.Entity}
		}
	}
	ctx := st.internalCtx(&em.Self)
	simulator.Map.WithLock(em, func() { em.PostEvent(ctx, &types.PostEvent{This: em.Self, EventToPost: event}) })
}

// postMigrated records the VmMigratedEvent a vCenter posts after a VM changed host.
func (st *state) postMigrated(vm *simulator.VirtualMachine, from types.ManagedObjectReference) {
	em, ok := simulator.Map.Get(*st.model.ServiceContent.EventManager).(*simulator.EventManager)
	if !ok || from.Value == "" {
		return
	}
	var name string
	var to types.ManagedObjectReference
	simulator.Map.WithLock(vm, func() {
		name = vm.Name
		if vm.Runtime.Host != nil {
			to = *vm.Runtime.Host
		}
	})
	if to == from || to.Value == "" {
		return
	}
	hostArg := func(ref types.ManagedObjectReference) types.HostEventArgument {
		arg := types.HostEventArgument{Host: ref}
		if h, ok := simulator.Map.Get(ref).(*simulator.HostSystem); ok {
			arg.Name = h.Name
		}
		return arg
	}
	target, source := hostArg(to), hostArg(from)
	event := &types.VmMigratedEvent{SourceHost: source}
	event.Vm = &types.VmEventArgument{EntityEventArgument: types.EntityEventArgument{Name: name}, Vm: vm.Self}
	event.Host = &target
	ctx := st.internalCtx(&em.Self)
	simulator.Map.WithLock(em, func() { em.PostEvent(ctx, &types.PostEvent{This: em.Self, EventToPost: event}) })
}

// -- the filters --------------------------------------------------------------------------

// within tells whether ref is entity or below it, as the recursion option asks.
func within(ref, entity types.ManagedObjectReference, recursion types.EventFilterSpecRecursionOption) bool {
	if ref == entity {
		return recursion != types.EventFilterSpecRecursionOptionChildren
	}
	if recursion == types.EventFilterSpecRecursionOptionSelf {
		return false
	}
	for obj := simulator.Map.Get(ref); obj != nil; {
		e, ok := obj.(mo.Entity)
		if !ok || e.Entity().Parent == nil {
			return false
		}
		parent := *e.Entity().Parent
		if parent == entity {
			return true
		}
		obj = simulator.Map.Get(parent)
	}
	return false
}

func eventEntities(e *types.Event) []types.ManagedObjectReference {
	var out []types.ManagedObjectReference
	if e.Vm != nil {
		out = append(out, e.Vm.Vm)
	}
	if e.Host != nil {
		out = append(out, e.Host.Host)
	}
	if e.ComputeResource != nil {
		out = append(out, e.ComputeResource.ComputeResource)
	}
	if e.Datacenter != nil {
		out = append(out, e.Datacenter.Datacenter)
	}
	if e.Ds != nil {
		out = append(out, e.Ds.Datastore)
	}
	return out
}

func eventTypeMatches(event types.BaseEvent, ids []string) bool {
	if len(ids) == 0 {
		return true
	}
	kind := reflect.ValueOf(event).Elem().Type()
	for _, id := range ids {
		if kind.Name() == id {
			return true
		}
		if f, ok := kind.FieldByName(id); ok && f.Anonymous {
			return true
		}
	}
	return false
}

func userMatches(name string, spec *types.EventFilterSpecByUsername) bool {
	if spec == nil {
		return true
	}
	if name == "" {
		return spec.SystemUser
	}
	for _, u := range spec.UserList {
		if u == name {
			return true
		}
	}
	return false
}

func timeMatches(t time.Time, begin, end *time.Time) bool {
	return (begin == nil || !t.Before(*begin)) && (end == nil || !t.After(*end))
}

func eventMatches(event types.BaseEvent, f *types.EventFilterSpec) bool {
	e := event.GetEvent()
	if f.Entity != nil {
		found := false
		for _, ref := range eventEntities(e) {
			found = found || within(ref, f.Entity.Entity, f.Entity.Recursion)
		}
		if !found {
			return false
		}
	}
	if f.Time != nil && !timeMatches(e.CreatedTime, f.Time.BeginTime, f.Time.EndTime) {
		return false
	}
	if f.EventChainId != 0 && e.ChainId != f.EventChainId {
		return false
	}
	return userMatches(e.UserName, f.UserName) && eventTypeMatches(event, append(append([]string{}, f.EventTypeId...), f.Type...))
}

// -- the collectors -------------------------------------------------------------------------

// historyCollector is a page-less view over the launcher's history: position pos in the
// list of matching items, oldest first (ReadNext reads forward from it). count says how many
// items match now.
type historyCollector struct {
	st    *state
	pos   int
	count func() int
}

// window moves the position by up to max items and returns the slice bounds read.
func (c *historyCollector) window(n, max int, forward bool) (int, int) {
	if forward {
		start, end := c.pos, c.pos+max
		if end > n {
			end = n
		}
		if start > end {
			start = end
		}
		c.pos = end
		return start, end
	}
	end, start := c.pos, c.pos-max
	if start < 0 {
		start = 0
	}
	if end > n {
		end = n
	}
	c.pos = start
	return start, end
}

// readPage is one ReadNext/ReadPrevious over items, or the fault for a bad maxCount.
func readPage[T any](c *historyCollector, items []T, max int32, forward bool) ([]T, *soap.Fault) {
	if max <= 0 || max > 1000 {
		return nil, simulator.Fault("maxCount must be 1..1000", &types.InvalidArgument{InvalidProperty: "maxCount"})
	}
	start, end := c.window(len(items), int(max), forward)
	return items[start:end], nil
}

func (c *historyCollector) RewindCollector(ctx *simulator.Context, req *types.RewindCollector) soap.HasFault {
	c.pos = 0
	return &methods.RewindCollectorBody{Res: new(types.RewindCollectorResponse)}
}

func (c *historyCollector) ResetCollector(ctx *simulator.Context, req *types.ResetCollector) soap.HasFault {
	c.pos = c.count()
	return &methods.ResetCollectorBody{Res: new(types.ResetCollectorResponse)}
}

func (c *historyCollector) SetCollectorPageSize(ctx *simulator.Context, req *types.SetCollectorPageSize) soap.HasFault {
	return &methods.SetCollectorPageSizeBody{Res: new(types.SetCollectorPageSizeResponse)}
}

func (c *historyCollector) DestroyCollector(ctx *simulator.Context, req *types.DestroyCollector) soap.HasFault {
	simulator.Map.Remove(req.This)
	return &methods.DestroyCollectorBody{Res: new(types.DestroyCollectorResponse)}
}

type eventCollector struct {
	mo.EventHistoryCollector
	historyCollector
	filter types.EventFilterSpec
}

func (c *eventCollector) matching() []types.BaseEvent {
	h := c.st.hist
	h.mu.Lock()
	all := append([]types.BaseEvent{}, h.events...)
	h.mu.Unlock()
	var out []types.BaseEvent
	for _, e := range all {
		if eventMatches(e, &c.filter) {
			out = append(out, e)
		}
	}
	return out
}

func (c *eventCollector) ReadNextEvents(ctx *simulator.Context, req *types.ReadNextEvents) soap.HasFault {
	events, fault := readPage(&c.historyCollector, c.matching(), req.MaxCount, true)
	body := &methods.ReadNextEventsBody{Fault_: fault}
	if fault == nil {
		body.Res = &types.ReadNextEventsResponse{Returnval: events}
	}
	return body
}

func (c *eventCollector) ReadPreviousEvents(ctx *simulator.Context, req *types.ReadPreviousEvents) soap.HasFault {
	events, fault := readPage(&c.historyCollector, c.matching(), req.MaxCount, false)
	body := &methods.ReadPreviousEventsBody{Fault_: fault}
	if fault == nil {
		body.Res = &types.ReadPreviousEventsResponse{Returnval: events}
	}
	return body
}

type taskCollector struct {
	mo.TaskHistoryCollector
	historyCollector
	filter types.TaskFilterSpec
}

func (c *taskCollector) matching() []types.TaskInfo {
	h := c.st.hist
	h.mu.Lock()
	refs := append([]types.ManagedObjectReference{}, h.tasks...)
	h.mu.Unlock()
	f := &c.filter
	var out []types.TaskInfo
	for _, ref := range refs {
		task, ok := simulator.Map.Get(ref).(*simulator.Task)
		if !ok {
			continue
		}
		var info types.TaskInfo
		simulator.Map.WithLock(task, func() { info = task.Info })
		if f.Entity != nil && (info.Entity == nil || !within(*info.Entity, f.Entity.Entity, types.EventFilterSpecRecursionOption(f.Entity.Recursion))) {
			continue
		}
		if f.Time != nil {
			var when *time.Time
			switch f.Time.TimeType {
			case types.TaskFilterSpecTimeOptionStartedTime:
				when = info.StartTime
			case types.TaskFilterSpecTimeOptionCompletedTime:
				when = info.CompleteTime
			default:
				when = &info.QueueTime
			}
			if when == nil || !timeMatches(*when, f.Time.BeginTime, f.Time.EndTime) {
				continue
			}
		}
		if f.UserName != nil {
			user := ""
			if r, ok := info.Reason.(*types.TaskReasonUser); ok {
				user = r.UserName
			}
			if !userMatches(user, &types.EventFilterSpecByUsername{SystemUser: f.UserName.SystemUser, UserList: f.UserName.UserList}) {
				continue
			}
		}
		if len(f.State) > 0 {
			found := false
			for _, s := range f.State {
				found = found || s == info.State
			}
			if !found {
				continue
			}
		}
		out = append(out, info)
	}
	return out
}

func (c *taskCollector) ReadNextTasks(ctx *simulator.Context, req *types.ReadNextTasks) soap.HasFault {
	tasks, fault := readPage(&c.historyCollector, c.matching(), req.MaxCount, true)
	body := &methods.ReadNextTasksBody{Fault_: fault}
	if fault == nil {
		body.Res = &types.ReadNextTasksResponse{Returnval: tasks}
	}
	return body
}

func (c *taskCollector) ReadPreviousTasks(ctx *simulator.Context, req *types.ReadPreviousTasks) soap.HasFault {
	tasks, fault := readPage(&c.historyCollector, c.matching(), req.MaxCount, false)
	body := &methods.ReadPreviousTasksBody{Fault_: fault}
	if fault == nil {
		body.Res = &types.ReadPreviousTasksResponse{Returnval: tasks}
	}
	return body
}

// -- the SOAP side -----------------------------------------------------------------------------

func (st *state) nextCollectorRef(kind string) types.ManagedObjectReference {
	st.hist.mu.Lock()
	st.hist.serial++
	n := st.hist.serial
	st.hist.mu.Unlock()
	return types.ManagedObjectReference{Type: kind, Value: fmt.Sprintf("esxnb-%s-%d", kind, n)}
}

func (st *state) createEventCollector(w http.ResponseWriter, call *soapCall, body []byte) {
	decoded, ok := decode(w, body)
	if !ok {
		return
	}
	req, ok := decoded.(*types.CreateCollectorForEvents)
	if !ok || st.hist == nil {
		writeFault(w, &types.InvalidRequest{}, "not a CreateCollectorForEvents request")
		return
	}
	c := &eventCollector{filter: req.Filter}
	c.st = st
	c.count = func() int { return len(c.matching()) }
	c.Self = st.nextCollectorRef("EventHistoryCollector")
	c.Filter = req.Filter
	simulator.Map.Put(c)
	writeTaskRef(w, call.Method, c.Self)
}

func (st *state) createTaskCollector(w http.ResponseWriter, call *soapCall, body []byte) {
	decoded, ok := decode(w, body)
	if !ok {
		return
	}
	req, ok := decoded.(*types.CreateCollectorForTasks)
	if !ok || st.hist == nil {
		writeFault(w, &types.InvalidRequest{}, "not a CreateCollectorForTasks request")
		return
	}
	c := &taskCollector{filter: req.Filter}
	c.st = st
	c.count = func() int { return len(c.matching()) }
	c.Self = st.nextCollectorRef("TaskHistoryCollector")
	c.Filter = req.Filter
	simulator.Map.Put(c)
	writeTaskRef(w, call.Method, c.Self)
}
