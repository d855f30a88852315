package main

// RefreshDatastore and RefreshDatastoreStorageInfo. govmomi 0.24 answers
// RefreshDatastore with an empty SOAP body (clients fail to parse it) and
// lacks RefreshDatastoreStorageInfo; here both re-read the datastore's file
// system (capacity, free space) and say so through the property collector.
// A datastore the demo estate sized keeps its capacity; its free space is
// the capacity less what its files take (the apparent size of thick disks,
// nothing for an empty thin one), and its uncommitted space what thin disks
// may still grow by.

import (
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	ownMethods["RefreshDatastore"] = (*state).refreshDatastore
	ownMethods["RefreshDatastoreStorageInfo"] = (*state).refreshDatastore
}

func (st *state) refreshDatastore(w http.ResponseWriter, call *soapCall, body []byte) {
	ds, _ := simulator.Map.Get(call.This).(*simulator.Datastore)
	if ds == nil {
		writeFault(w, &types.ManagedObjectNotFound{Obj: call.This}, "managed object not found: "+call.This.Value)
		return
	}
	var fault types.BaseMethodFault
	message := ""
	st.mu.Lock()
	capacity, sized := st.dsCapacity[ds.Self]
	st.mu.Unlock()
	if sized {
		st.setVirtualCapacity(ds, capacity)
		writeVoid(w, call.Method)
		return
	}
	simulator.Map.WithLock(ds, func() {
		info := ds.Info.GetDatastoreInfo()
		var stat syscall.Statfs_t
		if err := syscall.Statfs(info.Url, &stat); err != nil {
			fault, message = &types.HostConfigFault{}, err.Error()
			return
		}
		now := time.Now()
		free := int64(stat.Bavail) * int64(stat.Bsize)
		capacity := int64(stat.Blocks) * int64(stat.Bsize)
		info.FreeSpace, info.MaxFileSize, info.MaxMemoryFileSize, info.Timestamp = free, free, free, &now
		simulator.Map.Update(ds, []types.PropertyChange{
			{Name: "summary.capacity", Val: capacity},
			{Name: "summary.freeSpace", Val: free},
			{Name: "info", Val: ds.Info},
		})
	})
	if fault != nil {
		writeFault(w, fault, message)
		return
	}
	writeVoid(w, call.Method)
}

// datastoreUsage is what the files under dir take, and what their thin
// disks could still grow by.
func datastoreUsage(dir string) (used, uncommitted int64) {
	_ = filepath.WalkDir(dir, func(file string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil
		}
		used += info.Size()
		if strings.HasSuffix(file, ".vmdk") && !strings.HasSuffix(file, "-flat.vmdk") && info.Size() < 64<<10 {
			if d := parseDescriptorFile(file); d != nil && d.thin() {
				uncommitted += d.capacityKB() * 1024
			}
		}
		return nil
	})
	return used, uncommitted
}

// setVirtualCapacity sizes ds at capacity bytes and recomputes its free
// and uncommitted space from its files.
func (st *state) setVirtualCapacity(ds *simulator.Datastore, capacity int64) {
	st.mu.Lock()
	st.dsCapacity[ds.Self] = capacity
	st.mu.Unlock()
	var dir string
	simulator.Map.WithLock(ds, func() { dir = ds.Info.GetDatastoreInfo().Url })
	used, uncommitted := datastoreUsage(dir)
	free := capacity - used
	if free < 0 {
		free = 0
	}
	now := time.Now()
	simulator.Map.WithLock(ds, func() {
		info := ds.Info.GetDatastoreInfo()
		info.FreeSpace, info.MaxFileSize, info.MaxMemoryFileSize, info.Timestamp = free, free, free, &now
		if v, ok := ds.Info.(*types.VmfsDatastoreInfo); ok && v.Vmfs != nil {
			v.Vmfs.Capacity = capacity
		}
		simulator.Map.Update(ds, []types.PropertyChange{
			{Name: "summary.capacity", Val: capacity},
			{Name: "summary.freeSpace", Val: free},
			{Name: "summary.uncommitted", Val: uncommitted},
			{Name: "info", Val: ds.Info},
		})
	})
}
