package main

// -mirror FILE: an ESX host managed by a vCenter shows the same VMs (names,
// UUIDs, memory, CPUs, power state) as the vCenter's model of that host.

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// mirrorPlace is where mirrored VMs go: the host's datacenter VM folder,
// its resource pool, the host and its datastore.
type mirrorPlace struct {
	folder *simulator.Folder
	pool   types.ManagedObjectReference
	host   types.ManagedObjectReference
	ds     string
}

func findMirrorPlace() (*mirrorPlace, error) {
	dc, ok := simulator.Map.Any("Datacenter").(*simulator.Datacenter)
	if !ok {
		return nil, fmt.Errorf("-mirror: no datacenter")
	}
	host, ok := simulator.Map.Any("HostSystem").(*simulator.HostSystem)
	if !ok {
		return nil, fmt.Errorf("-mirror: no host")
	}
	var pool types.ManagedObjectReference
	switch cr := simulator.Map.Get(*host.Parent).(type) {
	case *mo.ComputeResource:
		pool = *cr.ResourcePool
	case *simulator.ClusterComputeResource:
		pool = *cr.ResourcePool
	default:
		return nil, fmt.Errorf("-mirror: cannot find the host's resource pool")
	}
	folder := simulator.Map.Get(dc.VmFolder).(*simulator.Folder)
	return &mirrorPlace{folder: folder, pool: pool, host: host.Self, ds: "LocalDS_0"}, nil
}

func (st *state) createMirror(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("-mirror: %s", err)
	}
	var vms []mirrorVM
	if err := json.Unmarshal(data, &vms); err != nil {
		return fmt.Errorf("-mirror %s: not a JSON list of VMs: %s", file, err)
	}
	place, err := findMirrorPlace()
	if err != nil {
		return err
	}
	for i, v := range vms {
		if v.Name == "" {
			return fmt.Errorf("-mirror %s: VM %d has no name", file, i)
		}
		if err := st.addMirrored(place, v); err != nil {
			return err
		}
	}
	return nil
}

// addMirrored creates one VM as the vCenter describes it, in its power state.
func (st *state) addMirrored(place *mirrorPlace, v mirrorVM) error {
	folder, pool, hostRef, ds := place.folder, place.pool, place.host, place.ds
	guest := v.GuestID
	if guest == "" {
		guest = string(types.VirtualMachineGuestOsIdentifierOtherGuest)
	}
	spec := types.VirtualMachineConfigSpec{
		Name:         v.Name,
		GuestId:      guest,
		Uuid:         v.UUID,
		InstanceUuid: v.InstanceUUID,
		NumCPUs:      v.NumCPU,
		MemoryMB:     int64(v.MemoryMB),
		Annotation:   v.Annotation,
		Files:        &types.VirtualMachineFileInfo{VmPathName: "[" + ds + "]"},
	}
	var devices object.VirtualDeviceList
	scsi, _ := devices.CreateSCSIController("pvscsi")
	ide, _ := devices.CreateIDEController()
	cdrom, _ := devices.CreateCdrom(ide.(*types.VirtualIDEController))
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), types.ManagedObjectReference{},
		spec.Files.VmPathName+" "+v.Name+"/disk1.vmdk")
	disk.CapacityInKB = 1024
	nic := esx.EthernetCard
	devices = append(devices, scsi, cdrom, disk, &nic)
	spec.DeviceChange, _ = devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)

	vmRef, err := st.createVM(folder, spec, pool, hostRef)
	if err != nil {
		return fmt.Errorf("-mirror: %s", err)
	}
	if v.PowerState == string(types.VirtualMachinePowerStatePoweredOn) || v.PowerState == string(types.VirtualMachinePowerStateSuspended) {
		if _, f, msg, _ := st.dispatch(internalBody("PowerOnVM_Task", vmRef)); f != nil {
			return fmt.Errorf("-mirror: powering on %s: %s", v.Name, msg)
		}
	}
	if v.PowerState == string(types.VirtualMachinePowerStateSuspended) {
		st.dispatch(internalBody("SuspendVM_Task", vmRef))
	}
	return nil
}
