package main

// RefreshDatastore and RefreshDatastoreStorageInfo. govmomi 0.24 answers
// RefreshDatastore with an empty SOAP body (clients fail to parse it) and
// lacks RefreshDatastoreStorageInfo; here both re-read the datastore's file
// system (capacity, free space) and say so through the property collector.

import (
	"net/http"
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
