package main

// Datastore names are unique only within a datacenter (every datacenter of
// a multi-datacenter model has its own LocalDS_0), so "[ds] path" is always
// resolved from the datacenter of the object it belongs to.

import (
	"path/filepath"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type dsKey struct {
	dc   types.ManagedObjectReference
	name string
}

// datacenterOf walks up from ref to its datacenter (nil if there is none).
func datacenterOf(ref types.ManagedObjectReference) *simulator.Datacenter {
	obj := simulator.Map.Get(ref)
	for obj != nil {
		if dc, ok := obj.(*simulator.Datacenter); ok {
			return dc
		}
		e, ok := obj.(mo.Entity)
		if !ok || e.Entity().Parent == nil {
			return nil
		}
		obj = simulator.Map.Get(*e.Entity().Parent)
	}
	return nil
}

// datastoreDir is the local directory of the datastore called name in the
// datacenter of from ("" if there is no such datastore).
func (st *state) datastoreDir(from types.ManagedObjectReference, name string) string {
	dc := datacenterOf(from)
	key := dsKey{name: name}
	if dc != nil {
		key.dc = dc.Self
	}
	st.mu.Lock()
	dir, ok := st.dsDirs[key]
	st.mu.Unlock()
	if ok {
		return dir
	}
	var ds *simulator.Datastore
	if dc != nil {
		ds, _ = simulator.Map.FindByName(name, dc.Datastore).(*simulator.Datastore)
	} else {
		ds = datastoreByName(name)
	}
	if ds == nil {
		return ""
	}
	dir = ds.Info.GetDatastoreInfo().Url
	st.mu.Lock()
	st.dsDirs[key] = dir
	st.mu.Unlock()
	return dir
}

// localPath maps "[ds] dir/file", seen from the object from, to a local path.
func (st *state) localPath(from types.ManagedObjectReference, dsPath string) (string, bool) {
	var p object.DatastorePath
	if !p.FromString(dsPath) {
		return "", false
	}
	dir := st.datastoreDir(from, p.Datastore)
	if dir == "" {
		return "", false
	}
	return filepath.Join(dir, filepath.FromSlash(p.Path)), true
}

// datastoreByName finds a datastore by name in any datacenter.
func datastoreByName(name string) *simulator.Datastore {
	for _, e := range simulator.Map.All("Datastore") {
		if ds, ok := e.(*simulator.Datastore); ok && ds.Name == name {
			return ds
		}
	}
	return nil
}
