package main

// Live ContainerViews. A real vCenter's views follow the inventory; the
// stock ContainerView only reacts to objects being created (PutObject) and
// deleted (RemoveObject), and a new VM is announced before it joins its
// host's and pool's vm lists. So a view on a host, pool or cluster misses
// created/registered VMs and keeps relocated ones on their old host. After
// such a change the launcher re-places the VM in every view, through the
// stock view's own Put/RemoveObject hooks (which know its root and types).
//
// govmomi keeps the views only in the registry's private handler table
// (CreateContainerView registers each one there), so that table is read
// through reflection, under the registry's own mutex.

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// registryHandlers gives access to a Registry's handler table.
type registryHandlers struct {
	mu       *sync.Mutex
	handlers reflect.Value // map[types.ManagedObjectReference]simulator.RegisterObject
}

func handlersOf(r *simulator.Registry) (*registryHandlers, error) {
	v := reflect.ValueOf(r).Elem()
	mf, hf := v.FieldByName("m"), v.FieldByName("handlers")
	wantMap := reflect.TypeOf(map[types.ManagedObjectReference]simulator.RegisterObject{})
	if !mf.IsValid() || mf.Type() != reflect.TypeOf(sync.Mutex{}) || !hf.IsValid() || hf.Type() != wantMap {
		return nil, fmt.Errorf("this govmomi's simulator.Registry has no m sync.Mutex / handlers map: live ContainerViews need updating for it")
	}
	return &registryHandlers{
		mu:       (*sync.Mutex)(unsafe.Pointer(mf.UnsafeAddr())),
		handlers: reflect.NewAt(hf.Type(), unsafe.Pointer(hf.UnsafeAddr())).Elem(),
	}, nil
}

// containerViews lists the ContainerViews of every session.
func containerViews() []*simulator.ContainerView {
	rh, err := handlersOf(simulator.Map)
	if err != nil {
		return nil // checked at start-up
	}
	var views []*simulator.ContainerView
	rh.mu.Lock()
	iter := rh.handlers.MapRange()
	for iter.Next() {
		if v, ok := iter.Value().Interface().(*simulator.ContainerView); ok {
			views = append(views, v)
		}
	}
	rh.mu.Unlock()
	return views
}

func hasRef(refs []types.ManagedObjectReference, ref types.ManagedObjectReference) bool {
	for _, r := range refs {
		if r == ref {
			return true
		}
	}
	return false
}

// refreshViews puts the objects refs where they now belong in every
// ContainerView: in the views whose container holds them, out of the others.
// Watchers of a view's "view" property are told of each change.
func refreshViews(refs ...types.ManagedObjectReference) {
	views := containerViews()
	for _, ref := range refs {
		obj := simulator.Map.Get(ref)
		for _, v := range views {
			had := false
			simulator.Map.WithLock(v, func() {
				had = hasRef(v.View, ref)
				if had {
					kept := make([]types.ManagedObjectReference, 0, len(v.View))
					for _, r := range v.View {
						if r != ref {
							kept = append(kept, r)
						}
					}
					v.View = kept
				}
			})
			if obj != nil {
				v.PutObject(obj) // adds it back (with an update) if the view's container holds it
			}
			simulator.Map.WithLock(v, func() {
				if had && !hasRef(v.View, ref) {
					list := append([]types.ManagedObjectReference(nil), v.View...)
					simulator.Map.Update(v, []types.PropertyChange{{Name: "view", Val: list}})
				}
			})
		}
	}
}
