package main

// Snapshots as vSphere keeps them. govmomi 0.24 records the VM's power state
// in every snapshot even when its memory was not saved, and its revert only
// moves the current-snapshot pointer. Here a snapshot taken without memory of
// a running VM says poweredOff (it restores to a powered-off VM), and a
// revert brings back the power state and the configuration saved with the
// snapshot (memory, vCPUs, allocations, annotation), .vmx included.

import (
	"log"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// snapshotMethods are followed up once their task succeeded (state.go).
var snapshotMethods = map[string]bool{
	"CreateSnapshot_Task": true, "RevertToSnapshot_Task": true, "RevertToCurrentSnapshot_Task": true,
}

// afterSnapshotTask fixes up after a successful snapshot task; result is the
// task's result (the new snapshot for CreateSnapshot_Task).
func (st *state) afterSnapshotTask(call *soapCall, result interface{}) {
	switch call.Method {
	case "CreateSnapshot_Task":
		ref, ok := result.(types.ManagedObjectReference)
		if !ok || strings.EqualFold(call.Args["memory"], "true") {
			return
		}
		vm, ok := simulator.Map.Get(call.This).(*simulator.VirtualMachine)
		if !ok {
			return
		}
		simulator.Map.WithLock(vm, func() {
			if tree := findSnapshot(vm.Snapshot, ref); tree != nil && tree.State != types.VirtualMachinePowerStatePoweredOff {
				tree.State = types.VirtualMachinePowerStatePoweredOff // disk only: nothing to resume
				simulator.Map.Update(vm, []types.PropertyChange{{Name: "snapshot.rootSnapshotList", Val: vm.Snapshot.RootSnapshotList}})
			}
		})
	case "RevertToSnapshot_Task":
		snap, ok := simulator.Map.Get(call.This).(*simulator.VirtualMachineSnapshot)
		if !ok {
			return
		}
		st.restoreSnapshot(snap)
	case "RevertToCurrentSnapshot_Task":
		vm, ok := simulator.Map.Get(call.This).(*simulator.VirtualMachine)
		if !ok || vm.Snapshot == nil || vm.Snapshot.CurrentSnapshot == nil {
			return
		}
		if snap, ok := simulator.Map.Get(*vm.Snapshot.CurrentSnapshot).(*simulator.VirtualMachineSnapshot); ok {
			st.restoreSnapshot(snap)
		}
	}
}

func findSnapshot(info *types.VirtualMachineSnapshotInfo, ref types.ManagedObjectReference) *types.VirtualMachineSnapshotTree {
	if info == nil {
		return nil
	}
	var walk func(list []types.VirtualMachineSnapshotTree) *types.VirtualMachineSnapshotTree
	walk = func(list []types.VirtualMachineSnapshotTree) *types.VirtualMachineSnapshotTree {
		for i := range list {
			if list[i].Snapshot == ref {
				return &list[i]
			}
			if found := walk(list[i].ChildSnapshotList); found != nil {
				return found
			}
		}
		return nil
	}
	return walk(info.RootSnapshotList)
}

// restoreSnapshot puts back the configuration and power state saved with snap.
func (st *state) restoreSnapshot(snap *simulator.VirtualMachineSnapshot) {
	vm, ok := simulator.Map.Get(snap.Vm).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	var want types.VirtualMachinePowerState
	simulator.Map.WithLock(vm, func() {
		tree := findSnapshot(vm.Snapshot, snap.Self)
		if tree == nil {
			return
		}
		want = tree.State
		saved := snap.Config
		hw := vm.Config.Hardware
		hw.MemoryMB, hw.NumCPU, hw.NumCoresPerSocket = saved.Hardware.MemoryMB, saved.Hardware.NumCPU, saved.Hardware.NumCoresPerSocket
		changes := []types.PropertyChange{
			{Name: "config.hardware", Val: hw},
			{Name: "summary.config.memorySizeMB", Val: hw.MemoryMB},
			{Name: "summary.config.numCpu", Val: hw.NumCPU},
			{Name: "config.annotation", Val: saved.Annotation},
		}
		if saved.CpuAllocation != nil {
			changes = append(changes, types.PropertyChange{Name: "config.cpuAllocation", Val: saved.CpuAllocation})
		}
		if saved.MemoryAllocation != nil {
			changes = append(changes, types.PropertyChange{Name: "config.memoryAllocation", Val: saved.MemoryAllocation})
		}
		simulator.Map.Update(vm, changes)
	})
	if want != "" {
		st.setPowerState(vm, want) // follow.go
	}
	if err := st.writeVMX(vm, ""); err != nil {
		log.Printf("writing .vmx of %s after a revert: %s", vm.Self.Value, err)
	}
}
