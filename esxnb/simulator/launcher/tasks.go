package main

// Tasks driven by the launcher: they stay running (with progress, or while a
// question waits), can be cancelled, and finish with the result of the stock
// method they stand for.

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type asyncTask struct {
	task      *simulator.Task
	cancelled chan struct{}
	once      sync.Once
	finished  sync.Once
	onCancel  func() // extra clean-up when cancelled (e.g. clear a question)
}

// descriptionID follows vCenter: PowerOnVM_Task on a VM -> VirtualMachine.powerOn.
func descriptionID(objType, method string) string {
	id := strings.TrimSuffix(method, "_Task")
	id = strings.TrimSuffix(id, "VM")
	if id == "" {
		id = method
	}
	return objType + "." + strings.ToLower(id[:1]) + id[1:]
}

// startTask creates a task for method on obj, already in state running.
func (st *state) startTask(obj mo.Reference, method string, cancelable bool) *asyncTask {
	t := simulator.CreateTask(obj, strings.TrimSuffix(method, "_Task"), nil)
	ref := obj.Reference()
	entityName := ref.Value
	if e, ok := obj.(mo.Entity); ok {
		entityName = e.Entity().Name
	}
	simulator.Map.Update(t, []types.PropertyChange{
		{Name: "info.name", Val: method},
		{Name: "info.descriptionId", Val: descriptionID(ref.Type, method)},
		{Name: "info.entityName", Val: entityName},
		{Name: "info.cancelable", Val: cancelable},
		{Name: "info.reason", Val: &types.TaskReasonUser{UserName: st.userName()}},
		{Name: "info.startTime", Val: time.Now()},
		{Name: "info.state", Val: types.TaskInfoStateRunning},
		{Name: "info.progress", Val: int32(0)},
	})
	at := &asyncTask{task: t, cancelled: make(chan struct{})}
	st.mu.Lock()
	st.tasks[t.Self.Value] = at
	st.mu.Unlock()
	return at
}

func (at *asyncTask) progress(p int32) {
	simulator.Map.Update(at.task, []types.PropertyChange{{Name: "info.progress", Val: p}})
}

// finish completes the task once; a nil fault means success.
func (st *state) finish(at *asyncTask, result types.AnyType, fault types.BaseMethodFault, message string) {
	at.finished.Do(func() {
		state := types.TaskInfoStateSuccess
		var lmf interface{}
		if fault != nil {
			state = types.TaskInfoStateError
			if message == "" {
				message = faultName(fault)
			}
			lmf = types.LocalizedMethodFault{Fault: fault, LocalizedMessage: message}
			result = nil
		}
		changes := []types.PropertyChange{
			{Name: "info.completeTime", Val: time.Now()},
			{Name: "info.state", Val: state},
			{Name: "info.result", Val: result},
			{Name: "info.error", Val: lmf},
			{Name: "info.cancelable", Val: false},
		}
		if fault == nil {
			changes = append(changes, types.PropertyChange{Name: "info.progress", Val: int32(100)})
		}
		if fault != nil {
			if _, ok := fault.(*types.RequestCanceled); ok {
				changes = append(changes, types.PropertyChange{Name: "info.cancelled", Val: true})
			}
		}
		simulator.Map.Update(at.task, changes)
		st.mu.Lock()
		delete(st.tasks, at.task.Self.Value)
		st.mu.Unlock()
	})
}

func faultName(f types.BaseMethodFault) string {
	return reflect.TypeOf(f).Elem().Name()
}

// readableMessage replaces the stock "*types.InvalidPowerState" messages.
func readableMessage(msg string, f types.BaseMethodFault) string {
	if msg == "" || strings.HasPrefix(msg, "*types.") {
		if p, ok := f.(*types.InvalidPowerState); ok {
			return fmt.Sprintf("The attempted operation cannot be performed in the current state (%s).", p.ExistingState)
		}
		return faultName(f)
	}
	return msg
}

// dispatch runs a SOAP request body through the stock method, in process,
// the way the simulator's own dispatcher does. For *_Task methods it returns
// the finished stock task's result or fault, and the stock task's reference.
func (st *state) dispatch(body []byte) (types.AnyType, types.BaseMethodFault, string, *types.ManagedObjectReference) {
	method, err := simulator.UnmarshalBody(types.TypeFunc(), body)
	if err != nil {
		return nil, &types.InvalidRequest{}, err.Error(), nil
	}
	handler := simulator.Map.Get(method.This)
	if handler == nil {
		return nil, &types.ManagedObjectNotFound{Obj: method.This}, "managed object not found: " + method.This.Value, nil
	}
	name := strings.Title(method.Name)
	if strings.HasSuffix(name, "_Task") {
		name = strings.TrimSuffix(name, "_Task") + "Task"
	}
	m := reflect.ValueOf(handler).MethodByName(name)
	if !m.IsValid() {
		return nil, &types.MethodNotFound{Receiver: method.This, Method: method.Name}, method.Name + " is not implemented", nil
	}
	this := method.This
	var args []reflect.Value
	if m.Type().NumIn() == 2 {
		args = append(args, reflect.ValueOf(st.internalCtx(&this)))
	}
	args = append(args, reflect.ValueOf(method.Body))
	var res []reflect.Value
	simulator.Map.WithLock(handler, func() { res = m.Call(args) })
	out := res[0].Interface().(soap.HasFault)
	if f := out.Fault(); f != nil {
		fault, _ := f.Detail.Fault.(types.BaseMethodFault)
		if fault == nil {
			fault = &types.SystemError{Reason: f.String}
		}
		return nil, fault, readableMessage(f.String, fault), nil
	}
	resv := reflect.ValueOf(out).Elem().FieldByName("Res")
	if !resv.IsValid() || resv.IsNil() {
		return nil, nil, "", nil
	}
	ret := resv.Elem().FieldByName("Returnval")
	if !ret.IsValid() {
		return nil, nil, "", nil
	}
	val := ret.Interface()
	if ref, ok := val.(types.ManagedObjectReference); ok && ref.Type == "Task" {
		if t, ok := simulator.Map.Get(ref).(*simulator.Task); ok {
			if t.Info.Error != nil {
				return nil, t.Info.Error.Fault, readableMessage(t.Info.Error.LocalizedMessage, t.Info.Error.Fault), &ref
			}
			return t.Info.Result, nil, "", &ref
		}
	}
	return val, nil, "", nil
}

// runStock finishes at with the outcome of the stock method in body, and
// applies the launcher's fix-ups for VM-changing methods.
func (st *state) runStock(at *asyncTask, call *soapCall, body []byte) {
	before := st.beforeStock(call)
	result, fault, message, stockTask := st.dispatch(body)
	if stockTask != nil && vmChangingMethods[call.Method] {
		st.afterTask(call, before, *stockTask)
	}
	st.finish(at, result, fault, message)
}

// internalBody makes the SOAP body for a call the launcher makes itself.
func internalBody(method string, this types.ManagedObjectReference) []byte {
	return []byte(fmt.Sprintf(`%s<%s xmlns="urn:vim25"><_this type="%s">%s</_this></%s>%s`,
		envelopeStart, method, this.Type, xmlText(this.Value), method, envelopeEnd))
}

// createVM runs the stock CreateVM_Task in folder, in process, and returns
// the new VM.
func (st *state) createVM(folder *simulator.Folder, spec types.VirtualMachineConfigSpec, pool, host types.ManagedObjectReference) (types.ManagedObjectReference, error) {
	ctx := st.internalCtx(&folder.Self)
	var taskRef types.ManagedObjectReference
	var fault *soap.Fault
	simulator.Map.WithLock(folder, func() {
		body := folder.CreateVMTask(ctx, &types.CreateVM_Task{This: folder.Self, Config: spec, Pool: pool, Host: &host})
		if fault = body.Fault(); fault == nil {
			taskRef = body.(*methods.CreateVM_TaskBody).Res.Returnval
		}
	})
	if fault != nil {
		return taskRef, fmt.Errorf("creating %s: %s", spec.Name, fault.String)
	}
	task := simulator.Map.Get(taskRef).(*simulator.Task)
	if task.Info.Error != nil {
		return taskRef, fmt.Errorf("creating %s: %s", spec.Name, faultName(task.Info.Error.Fault))
	}
	return task.Info.Result.(types.ManagedObjectReference), nil
}
