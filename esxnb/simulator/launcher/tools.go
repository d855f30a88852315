package main

// VMware tools state. Each VM has a tools mode (toolsOk, toolsOld,
// toolsNotRunning, toolsNotInstalled); what the API reports follows the mode
// and the power state the way a real host does: tools only run in a
// powered-on guest, and only running tools report the guest's identity
// (host name, IP addresses per NIC, file systems) when the VM has one
// (the demo estate's VMs do).

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

var toolsModes = map[string]bool{"toolsOk": true, "toolsOld": true, "toolsNotRunning": true, "toolsNotInstalled": true}

// guestIdentity is what running tools report from inside a guest.
type guestIdentity struct {
	hostName, guestID, fullName, family string
	nics                                []guestNIC
	disks                               []types.GuestDiskInfo
}

type guestNIC struct {
	network, mac, ip string
	key              int32
}

// identityChanges are the guest properties tools report (running) or the
// empty values a host shows without them.
func identityChanges(id *guestIdentity, running bool) []types.PropertyChange {
	if id == nil {
		return nil
	}
	ip, fullName := "", ""
	var nets []types.GuestNicInfo
	var disks []types.GuestDiskInfo
	if running {
		fullName = id.fullName
		for _, n := range id.nics {
			nets = append(nets, types.GuestNicInfo{Network: n.network, MacAddress: n.mac, Connected: true,
				DeviceConfigId: n.key, IpAddress: []string{n.ip}})
			if ip == "" {
				ip = n.ip
			}
		}
		disks = id.disks
	}
	return []types.PropertyChange{
		{Name: "guest.ipAddress", Val: ip},
		{Name: "guest.net", Val: nets},
		{Name: "guest.disk", Val: disks},
		{Name: "guest.guestId", Val: id.guestID},
		{Name: "guest.guestFullName", Val: fullName},
		{Name: "guest.guestFamily", Val: id.family},
		{Name: "summary.guest.ipAddress", Val: ip},
		{Name: "summary.guest.guestFullName", Val: fullName},
	}
}

func (st *state) toolsMode(ref types.ManagedObjectReference) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if m, ok := st.toolsSet[ref]; ok {
		return m
	}
	return st.opts.toolsDefault
}

func (st *state) identity(ref types.ManagedObjectReference) *guestIdentity {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.guestIdentities[ref]
}

func (st *state) setToolsMode(ref types.ManagedObjectReference, mode string) {
	st.mu.Lock()
	st.toolsSet[ref] = mode
	st.mu.Unlock()
}

// toolsRunning tells whether ShutdownGuest/RebootGuest can reach the guest.
func (st *state) toolsRunning(vm *simulator.VirtualMachine) bool {
	running := false
	simulator.Map.WithLock(vm, func() {
		running = vm.Guest != nil && vm.Guest.ToolsRunningStatus == string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
	})
	return running
}

// toolsChanges computes the guest properties for a mode and power state.
func toolsChanges(name, mode string, power types.VirtualMachinePowerState, id *guestIdentity) []types.PropertyChange {
	on := power == types.VirtualMachinePowerStatePoweredOn
	status := types.VirtualMachineToolsStatusToolsNotRunning
	running := types.VirtualMachineToolsRunningStatusGuestToolsNotRunning
	version2 := types.VirtualMachineToolsVersionStatusGuestToolsCurrent
	version := "11333"
	guestState := "notRunning"
	heartbeat := types.ManagedEntityStatusGray
	hostName := ""
	switch mode {
	case "toolsOk", "toolsOld":
		if on {
			status = types.VirtualMachineToolsStatusToolsOk
			running = types.VirtualMachineToolsRunningStatusGuestToolsRunning
			guestState = "running"
			heartbeat = types.ManagedEntityStatusGreen
			hostName = name
		}
		if mode == "toolsOld" {
			if on {
				status = types.VirtualMachineToolsStatusToolsOld
			}
			version2 = types.VirtualMachineToolsVersionStatusGuestToolsSupportedOld
			version = "10346"
		}
	case "toolsNotInstalled":
		status = types.VirtualMachineToolsStatusToolsNotInstalled
		version2 = types.VirtualMachineToolsVersionStatusGuestToolsNotInstalled
		version = "0"
	}
	toolsUp := running == types.VirtualMachineToolsRunningStatusGuestToolsRunning
	if id != nil && toolsUp {
		hostName = id.hostName
	}
	return append(identityChanges(id, toolsUp), []types.PropertyChange{
		{Name: "guest.toolsStatus", Val: status},
		{Name: "guest.toolsRunningStatus", Val: string(running)},
		{Name: "guest.toolsVersionStatus", Val: string(version2)},
		{Name: "guest.toolsVersionStatus2", Val: string(version2)},
		{Name: "guest.toolsVersion", Val: version},
		{Name: "guest.guestState", Val: guestState},
		{Name: "guest.hostName", Val: hostName},
		{Name: "summary.guest.toolsStatus", Val: status},
		{Name: "summary.guest.toolsRunningStatus", Val: string(running)},
		{Name: "summary.guest.toolsVersionStatus2", Val: string(version2)},
		{Name: "summary.guest.hostName", Val: hostName},
		{Name: "summary.quickStats.guestHeartbeatStatus", Val: heartbeat},
		{Name: "guestHeartbeatStatus", Val: heartbeat},
	}...)
}

// applyTools brings vm's guest properties in line with its tools mode.
func (st *state) applyTools(vm *simulator.VirtualMachine) {
	mode := st.toolsMode(vm.Self)
	simulator.Map.WithLock(vm, func() {
		if vm.Guest == nil {
			vm.Guest = &types.GuestInfo{}
		}
		if vm.Summary.Guest == nil {
			vm.Summary.Guest = &types.VirtualMachineGuestSummary{}
		}
		changes := toolsChanges(vm.Name, mode, vm.Runtime.PowerState, st.identity(vm.Self))
		if vm.Runtime.BootTime == nil && vm.Summary.Runtime.BootTime != nil {
			changes = append(changes, types.PropertyChange{Name: "runtime.bootTime", Val: *vm.Summary.Runtime.BootTime})
		}
		simulator.Map.Update(vm, changes)
	})
}

// updateWatcher re-applies the tools state whenever a VM's power state
// changes, whoever changed it.
type updateWatcher struct {
	st *state
}

func (u *updateWatcher) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "EsxnbUpdateWatcher", Value: "esxnb-update-watcher"}
}

func (u *updateWatcher) PutObject(obj mo.Reference) {
	if task, ok := obj.(*simulator.Task); ok {
		u.st.sawTask(task) // history.go
	}
}

func (u *updateWatcher) RemoveObject(ref types.ManagedObjectReference) {
	if ref.Type != "VirtualMachine" {
		return
	}
	u.st.mu.Lock()
	delete(u.st.toolsSet, ref)
	delete(u.st.userVMX, ref)
	u.st.mu.Unlock()
}

func (u *updateWatcher) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	u.st.sawUpdate(obj, changes) // history.go
	ref := obj.Reference()
	if ref.Type != "VirtualMachine" {
		return
	}
	for _, c := range changes {
		if c.Name == "runtime.powerState" {
			if vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine); ok {
				mode := u.st.toolsMode(ref)
				// Called by Map.Update with the VM already locked by its caller.
				// The stock power task sets only summary.runtime.bootTime.
				changes := toolsChanges(vm.Name, mode, vm.Runtime.PowerState, u.st.identity(vm.Self))
				var boot interface{} // untyped nil clears; a nil *time.Time would panic
				if vm.Summary.Runtime.BootTime != nil {
					boot = *vm.Summary.Runtime.BootTime
				}
				changes = append(changes, types.PropertyChange{Name: "runtime.bootTime", Val: boot})
				simulator.Map.Update(vm, changes)
			}
			return
		}
	}
}
