package main

// Injected faults carry what a real server puts in them. A fault made with
// new() has empty required properties (an untyped <object type="">, an empty
// enum), which clients such as pyvmomi cannot decode; completeFault fills
// them from the call being answered.

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// enumDefaults: the value of a required enum property nothing else sets
// (govmomi has no list of enum values to pick from at run time).
var enumDefaults = map[string]string{
	"VirtualMachinePowerState":        string(types.VirtualMachinePowerStatePoweredOff),
	"FtIssuesOnHostHostSelectionType": string(types.FtIssuesOnHostHostSelectionTypeUser),
}

var (
	morefType      = reflect.TypeOf(types.ManagedObjectReference{})
	localizedType  = reflect.TypeOf(types.LocalizedMethodFault{})
	timeType       = reflect.TypeOf(time.Time{})
	typesPkgPath   = morefType.PkgPath()
	baseFaultIface = reflect.TypeOf((*types.BaseMethodFault)(nil)).Elem()
)

// checkFault tells whether completeFault can complete a fault of this
// kind, without looking anything up.
func checkFault(fault types.BaseMethodFault) error {
	noRef := func(string) types.ManagedObjectReference { return vim25.ServiceInstance }
	return fillRequired(reflect.ValueOf(fault).Elem(), noRef, reflect.TypeOf(fault).Elem().Name())
}

// completeFault fills the required properties of fault for a call of
// method on this. It fails for a fault it cannot complete.
func completeFault(fault types.BaseMethodFault, method string, this types.ManagedObjectReference) error {
	switch f := fault.(type) {
	case *types.NotAuthenticated:
		// Like a real server: the session manager refuses an unauthenticated session.
		if f.Object.Value == "" {
			f.Object = simulator.Map.SessionManager().Self
		}
	case *types.InvalidPowerState:
		existing := types.VirtualMachinePowerStatePoweredOff
		if vm, ok := simulator.Map.Get(this).(*simulator.VirtualMachine); ok {
			simulator.Map.WithLock(vm, func() { existing = vm.Runtime.PowerState })
		}
		if f.ExistingState == "" {
			f.ExistingState = existing
		}
		if f.RequestedState == "" {
			f.RequestedState = neededPowerState(method)
		}
	}
	if f, ok := fault.(*types.UnexpectedFault); ok && f.FaultName == "" {
		f.FaultName = "SystemError" // a type name (WSDL), not free text
	}
	if np := noPermissionOf(fault); np != nil && np.PrivilegeId == "" {
		np.PrivilegeId = "System.View"
	}
	refFor := func(name string) types.ManagedObjectReference { return referenceFor(name, this) }
	return fillRequired(reflect.ValueOf(fault).Elem(), refFor, reflect.TypeOf(fault).Elem().Name())
}

func noPermissionOf(fault types.BaseMethodFault) *types.NoPermission {
	v := reflect.ValueOf(fault).Elem()
	for v.Kind() == reflect.Struct {
		if np, ok := v.Addr().Interface().(*types.NoPermission); ok {
			return np
		}
		if v.NumField() == 0 || !v.Type().Field(0).Anonymous {
			return nil
		}
		v = v.Field(0)
	}
	return nil
}

// neededPowerState is the power state method needs the VM to be in.
func neededPowerState(method string) types.VirtualMachinePowerState {
	switch method {
	case "PowerOnVM_Task", "PowerOnMultiVM_Task", "UnregisterVM", "Destroy_Task", "MarkAsTemplate":
		return types.VirtualMachinePowerStatePoweredOff
	case "PowerOffVM_Task", "SuspendVM_Task", "ResetVM_Task", "ShutdownGuest", "RebootGuest", "StandbyGuest":
		return types.VirtualMachinePowerStatePoweredOn
	}
	return types.VirtualMachinePowerStatePoweredOff
}

// fillRequired sets the zero-valued properties of v that are not
// omitempty, recursing into embedded and nested structures.
func fillRequired(v reflect.Value, refFor func(string) types.ManagedObjectReference, where string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		field, fv := t.Field(i), v.Field(i)
		if field.PkgPath != "" { // unexported
			continue
		}
		tag := field.Tag.Get("xml")
		name := strings.Split(tag, ",")[0]
		if field.Anonymous {
			if fv.Kind() == reflect.Struct {
				if err := fillRequired(fv, refFor, where); err != nil {
					return err
				}
			}
			continue
		}
		if tag == "" || name == "-" || strings.Contains(tag, "omitempty") {
			continue
		}
		path := where + "." + name
		switch {
		case field.Type == morefType:
			ref := fv.Addr().Interface().(*types.ManagedObjectReference)
			if ref.Value == "" {
				*ref = refFor(name)
			}
		case field.Type == localizedType:
			lmf := fv.Addr().Interface().(*types.LocalizedMethodFault)
			if lmf.Fault == nil {
				lmf.Fault = &types.SystemError{Reason: "cause of the " + where + " fault"}
				lmf.LocalizedMessage = lmf.Fault.(*types.SystemError).Reason
			}
			inner := reflect.ValueOf(lmf.Fault).Elem()
			if err := fillRequired(inner, refFor, path); err != nil {
				return err
			}
		case field.Type == timeType:
			if fv.Interface().(time.Time).IsZero() {
				fv.Set(reflect.ValueOf(time.Now()))
			}
		case fv.Kind() == reflect.Struct:
			if err := fillRequired(fv, refFor, path); err != nil {
				return err
			}
		case fv.Kind() == reflect.Interface && fv.IsNil():
			// Base<Type> (a type and its extensions): the base type itself.
			base := strings.TrimPrefix(field.Type.Name(), "Base")
			bt, ok := types.TypeFunc()(base)
			if !ok || base == field.Type.Name() || !reflect.PtrTo(bt).Implements(field.Type) || field.Type == baseFaultIface {
				return fmt.Errorf("the %s property %s (%s) cannot be filled in", where, name, field.Type.Name())
			}
			obj := reflect.New(bt)
			if err := fillRequired(obj.Elem(), refFor, path); err != nil {
				return err
			}
			fv.Set(obj)
		case fv.Kind() == reflect.String && field.Type.PkgPath() == typesPkgPath && fv.String() == "":
			value, ok := enumDefaults[field.Type.Name()]
			if !ok {
				return fmt.Errorf("the %s property %s (enum %s) has no default value", where, name, field.Type.Name())
			}
			fv.SetString(value)
		}
	}
	return nil
}

// referenceFor picks the object a fault property called name refers to,
// starting from the object the call was made on.
func referenceFor(name string, this types.ManagedObjectReference) types.ManagedObjectReference {
	lower := strings.ToLower(name)
	want := ""
	switch {
	case strings.Contains(lower, "vm"):
		want = "VirtualMachine"
	case strings.Contains(lower, "host"):
		want = "HostSystem"
	case strings.Contains(lower, "datastore") || lower == "ds":
		want = "Datastore"
	case strings.Contains(lower, "task"):
		want = "Task"
	case strings.Contains(lower, "network"):
		want = "Network"
	case strings.Contains(lower, "datacenter"):
		want = "Datacenter"
	case strings.Contains(lower, "computeresource") || lower == "cs":
		want = "ComputeResource"
	case lower == "target":
		want = "Folder"
	}
	if lower == "entity" {
		if _, ok := simulator.Map.Get(this).(mo.Entity); ok {
			return this
		}
		return serviceContent().RootFolder
	}
	if want == "" || this.Type == want {
		return thisOrRoot(this)
	}
	if ref, ok := relatedTo(this, want); ok {
		return ref
	}
	if want == "Task" {
		return anyTask(this)
	}
	for _, kind := range []string{want, "Cluster" + want} {
		if e := simulator.Map.Any(kind); e != nil {
			return e.Reference()
		}
	}
	return thisOrRoot(this)
}

func serviceContent() types.ServiceContent {
	return simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance).Content
}

// anyTask is the newest task the server knows, or else a finished one made
// for the purpose: a fault's task property must name a Task.
func anyTask(this types.ManagedObjectReference) types.ManagedObjectReference {
	if tm, ok := simulator.Map.Get(*serviceContent().TaskManager).(*simulator.TaskManager); ok {
		var recent []types.ManagedObjectReference
		tm.Lock()
		recent = append(recent, tm.RecentTask...)
		tm.Unlock()
		if len(recent) > 0 {
			return recent[len(recent)-1]
		}
	}
	var on mo.Reference = simulator.Map.Get(thisOrRoot(this))
	if on == nil {
		on = serviceContent().RootFolder
	}
	task := simulator.CreateTask(on, "esxnbPlaceholder", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, nil
	})
	return task.Run()
}

// relatedTo finds an object of type want linked to this (a VM's host,
// datastore, latest task...).
func relatedTo(this types.ManagedObjectReference, want string) (types.ManagedObjectReference, bool) {
	obj := simulator.Map.Get(this)
	var found *types.ManagedObjectReference
	if vm, ok := obj.(*simulator.VirtualMachine); ok {
		simulator.Map.WithLock(vm, func() {
			switch {
			case want == "HostSystem" && vm.Runtime.Host != nil:
				h := *vm.Runtime.Host
				found = &h
			case want == "Datastore" && len(vm.Datastore) > 0:
				ds := vm.Datastore[0]
				found = &ds
			case want == "Network" && len(vm.Network) > 0:
				n := vm.Network[0]
				found = &n
			}
		})
	}
	if found == nil && want == "Task" {
		if e, ok := obj.(mo.Entity); ok && len(e.Entity().RecentTask) > 0 {
			t := e.Entity().RecentTask[len(e.Entity().RecentTask)-1]
			found = &t
		}
	}
	if found == nil {
		return types.ManagedObjectReference{}, false
	}
	return *found, true
}

func thisOrRoot(this types.ManagedObjectReference) types.ManagedObjectReference {
	if this.Type != "" && this.Value != "" {
		return this
	}
	return vim25.ServiceInstance
}
