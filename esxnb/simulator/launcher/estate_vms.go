package main

// The demo estate's VMs (see estate.go): each drawn from the seed, created
// through the stock CreateVM_Task with its disks, NICs and CD-ROM, then
// powered on or suspended, given snapshots, tools state, guest identity and
// custom attribute values; a few become templates.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// vmRole shapes a VM: its name, folder, guest family, size and disks.
type vmRole struct {
	name, folder, family string // family: windows, linux or "" (any)
	weight               int
	memoryMB             []int64
	vcpus                []int32
	dataDisks            [2]int64 // min, max
	dataGB               [2]int64
	pg                   string // preferred distributed port group role
}

var demoRoles = []vmRole{
	{"web", "Production", "linux", 16, []int64{1024, 2048, 4096, 8192}, []int32{1, 2, 4}, [2]int64{0, 1}, [2]int64{20, 100}, "dmz"},
	{"app", "Production", "", 18, []int64{4096, 8192, 12288, 16384, 32768}, []int32{2, 4, 8}, [2]int64{0, 2}, [2]int64{50, 300}, "app"},
	{"db", "Production", "linux", 7, []int64{16384, 32768, 65536, 131072, 262144}, []int32{4, 8, 16, 24, 32}, [2]int64{2, 5}, [2]int64{100, 2048}, "db"},
	{"sql", "Production", "windows", 6, []int64{16384, 32768, 65536, 131072}, []int32{4, 8, 16}, [2]int64{2, 5}, [2]int64{100, 1024}, "db"},
	{"dc", "Infrastructure", "windows", 3, []int64{4096, 8192}, []int32{2, 4}, [2]int64{0, 1}, [2]int64{20, 60}, "app"},
	{"file", "Infrastructure", "windows", 3, []int64{8192, 16384}, []int32{2, 4}, [2]int64{1, 3}, [2]int64{500, 2048}, "app"},
	{"k8s", "Production", "linux", 12, []int64{8192, 16384, 32768}, []int32{4, 8, 16}, [2]int64{1, 1}, [2]int64{100, 200}, "app"},
	{"build", "Development", "linux", 8, []int64{4096, 8192, 16384}, []int32{2, 4, 8}, [2]int64{0, 2}, [2]int64{50, 500}, "app"},
	{"test", "Development", "", 10, []int64{512, 1024, 2048, 4096, 8192}, []int32{1, 2, 4}, [2]int64{0, 1}, [2]int64{10, 100}, "app"},
	{"jump", "Infrastructure", "", 3, []int64{2048, 4096}, []int32{1, 2}, [2]int64{0, 0}, [2]int64{0, 0}, "dmz"},
	{"mon", "Infrastructure", "linux", 4, []int64{4096, 8192, 16384}, []int32{2, 4}, [2]int64{1, 2}, [2]int64{100, 500}, "app"},
	{"vdi", "Development", "windows", 4, []int64{4096, 8192}, []int32{2, 4}, [2]int64{0, 0}, [2]int64{0, 0}, "app"},
	// Leftovers, powered off; some with 3 vCPUs, an odd count the spec's restrictions refuse.
	{"old", "Decommission", "", 3, []int64{1024, 2048, 4096}, []int32{1, 2, 3}, [2]int64{0, 2}, [2]int64{20, 200}, "app"},
}

var (
	hwVersions   = []string{"vmx-11", "vmx-13", "vmx-14", "vmx-15", "vmx-17", "vmx-19", "vmx-20"}
	hwWeights    = []int{3, 10, 14, 18, 12, 28, 15}
	owners       = []string{"team-platform", "team-payments", "team-data", "team-web", "it-ops", "security", "j.devries", "m.schmidt"}
	costCenters  = []string{"CC-1001", "CC-1002", "CC-2040", "CC-3100", "CC-4200"}
	backupPolicy = []string{"gold", "silver", "bronze", "none"}
	snapNames    = []string{"before patching", "pre-upgrade", "clean install", "before app deploy", "CHG-%d rollback point", "veeam-temp"}
)

// demoVM is one VM being built.
type demoVM struct {
	name, folder string
	isoPrefix    string
	role         vmRole
	guest        guestOS
	place        *demoPlace
	host         *simulator.HostSystem
	pool         types.ManagedObjectReference
	ds           string
	power        types.VirtualMachinePowerState
	template     bool
	tools        string
	created      time.Time
	nics         []demoNIC
	disksGB      []int64
}

type demoNIC struct {
	pg   demoPortGroup
	mac  string
	ip   string
	port string // the distributed port it is bound to (dvports.go)
}

func (st *state) buildDemoVMs(plan *demoPlan, in *demoInfra, c *chooser) error {
	weights := make([]int, len(in.places))
	for i, p := range in.places {
		weights[i] = p.weight
	}
	roleWeights := make([]int, len(demoRoles))
	for i, r := range demoRoles {
		roleWeights[i] = r.weight
	}
	counters := map[string]int{}
	usedMAC := map[string]bool{}
	ports := portBinder{}
	for i := 0; i < st.opts.vms; i++ {
		place := in.places[c.weighted(weights)]
		v := &demoVM{place: place, host: place.hosts[c.Intn(len(place.hosts))]}
		v.pool = place.pools[c.Intn(len(place.pools))]
		v.ds = place.datastores[c.Intn(len(place.datastores))]
		v.role = demoRoles[c.weighted(roleWeights)]
		v.guest = drawGuest(c, v.role.family)
		v.template = v.role.name != "old" && c.chance(0.03)
		site := []string{"ams", "fra"}[place.dc]
		v.isoPrefix = in.isos[place.dc]
		key := site + "-" + v.role.name
		counters[key]++
		v.name = fmt.Sprintf("%s-%02d", key, counters[key])
		v.folder = v.role.folder
		switch {
		case v.template:
			os := strings.TrimSuffix(strings.TrimSuffix(v.guest.id, "Guest"), "_64")
			counters["tpl-"+site+os]++
			v.name = fmt.Sprintf("tpl-%s-%s-%02d", site, os, counters["tpl-"+site+os])
			v.folder, v.power = "Templates", types.VirtualMachinePowerStatePoweredOff
		case v.role.name == "old" || c.chance(0.2):
			v.power = types.VirtualMachinePowerStatePoweredOff
		case c.chance(0.07):
			v.power = types.VirtualMachinePowerStateSuspended
		default:
			v.power = types.VirtualMachinePowerStatePoweredOn
		}
		v.tools = drawTools(c, v.guest)
		v.created = in.clock.Add(-time.Duration(c.between(30, 1200)*24) * time.Hour)
		v.nics = drawNICs(c, v, in.networks[place.dc], usedMAC, place.dc)
		for i := range v.nics {
			if v.nics[i].pg.dvs {
				v.nics[i].port = ports.bind(v.nics[i].pg.network)
			}
		}
		spec := demoSpec(c, v)
		vm, err := st.createDemoVM(in.folders[place.dc][v.folder], v, spec)
		if err != nil {
			return err
		}
		st.finishDemoVM(c, in, v, vm)
	}
	return nil
}

func drawGuest(c *chooser, family string) guestOS {
	var pool []guestOS
	var w []int
	for _, g := range demoGuests {
		if family == "" || strings.HasPrefix(g.family, family) {
			pool, w = append(pool, g), append(w, g.weight)
		}
	}
	return pool[c.weighted(w)]
}

func drawTools(c *chooser, g guestOS) string {
	if g.family == "otherGuest" && c.chance(0.6) {
		return "toolsNotInstalled"
	}
	return []string{"toolsOk", "toolsOld", "toolsNotRunning", "toolsNotInstalled"}[c.weighted([]int{74, 12, 7, 7})]
}

// drawNICs gives 1..4 NICs; MACs fall in each of VMware's ranges (vCenter
// assigned 00:50:56:80-bf, ESX generated 00:0c:29, static 00:50:56:00-3f)
// and some outside them, as migrated VMs keep theirs.
func drawNICs(c *chooser, v *demoVM, nets []demoPortGroup, used map[string]bool, dc int) []demoNIC {
	n := 1 + c.weighted([]int{60, 25, 10, 5})
	standalone := strings.HasPrefix(v.place.name, "esx-")
	var out []demoNIC
	for i := 0; i < n; i++ {
		var choices []demoPortGroup
		for _, pg := range nets {
			if standalone && pg.dvs {
				continue
			}
			switch {
			case i == 0 && pg.dvs && strings.Contains(pg.name, "-"+v.role.pg+"-"):
				choices = append(choices, pg, pg, pg, pg)
			case i > 0 && pg.name == "Backup":
				choices = append(choices, pg, pg)
			default:
				choices = append(choices, pg)
			}
		}
		pg := choices[c.Intn(len(choices))]
		var mac string
		for mac == "" || used[mac] {
			switch c.weighted([]int{78, 9, 8, 5}) {
			case 0:
				mac = fmt.Sprintf("00:50:56:%02x:%02x:%02x", 0x80+c.Intn(0x40), c.Intn(256), c.Intn(256))
			case 1:
				mac = fmt.Sprintf("00:0c:29:%02x:%02x:%02x", c.Intn(256), c.Intn(256), c.Intn(256))
			case 2:
				mac = fmt.Sprintf("00:50:56:%02x:%02x:%02x", c.Intn(0x40), c.Intn(256), c.Intn(256))
			default:
				mac = fmt.Sprintf("%s:%02x:%02x:%02x", []string{"00:15:5d", "52:54:00", "00:1a:4a"}[c.Intn(3)], c.Intn(256), c.Intn(256), c.Intn(256))
			}
		}
		used[mac] = true
		ip := fmt.Sprintf("10.%d.%d.%d", 10+dc, pg.vlan%256, 10+c.Intn(240))
		out = append(out, demoNIC{pg: pg, mac: mac, ip: ip})
	}
	return out
}

// macAddressType is how vSphere reports a MAC's origin.
func macAddressType(mac string) string {
	switch {
	case strings.HasPrefix(mac, "00:0c:29"):
		return string(types.VirtualEthernetCardMacTypeGenerated)
	case strings.HasPrefix(mac, "00:50:56:") && !isStaticMAC(mac):
		return string(types.VirtualEthernetCardMacTypeAssigned)
	}
	return string(types.VirtualEthernetCardMacTypeManual)
}

// demoSpec is the VM's CreateVM_Task spec.
func demoSpec(c *chooser, v *demoVM) types.VirtualMachineConfigSpec {
	memory := v.role.memoryMB[c.Intn(len(v.role.memoryMB))]
	if memory < v.guest.minMB && memory%4 == 0 {
		memory = v.guest.minMB
	}
	vcpus := v.role.vcpus[c.Intn(len(v.role.vcpus))]
	cores := int32(1)
	if vcpus > 1 && c.chance(0.5) {
		cores = vcpus
		if vcpus >= 8 && c.chance(0.5) {
			cores = vcpus / 2
		}
	}
	hw := hwVersions[c.weighted(hwWeights)]
	if v.guest.minMB <= 1024 && strings.Contains(v.guest.fullName, "2008") {
		hw = "vmx-11"
	}
	firmware := "bios"
	if strings.Contains(v.guest.fullName, "2019") || strings.Contains(v.guest.fullName, "2022") ||
		strings.Contains(v.guest.fullName, " 9 ") || (strings.Contains(v.guest.fullName, " 8 ") && c.chance(0.6)) || c.chance(0.1) {
		firmware = "efi"
	}
	spec := types.VirtualMachineConfigSpec{
		Name: v.name, GuestId: v.guest.id, NumCPUs: vcpus, NumCoresPerSocket: cores, MemoryMB: memory,
		Version: hw, Firmware: firmware, Uuid: c.uuid(), InstanceUuid: c.uuid(),
		Files: &types.VirtualMachineFileInfo{VmPathName: "[" + v.ds + "]"},
	}
	if c.chance(0.4) {
		spec.Annotation = fmt.Sprintf("%s %s\nRequested in CHG%05d", strings.Title(v.role.name), []string{"server", "node", "host"}[c.Intn(3)], c.Intn(99999))
		if c.chance(0.2) {
			spec.Annotation += "\nContact: Zoë Müller (ops)"
		}
	}
	spec.CpuAllocation, spec.MemoryAllocation = drawAllocations(c, int64(vcpus), memory)
	spec.DeviceChange, _ = demoDevices(c, v).ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	return spec
}

// drawAllocations: most VMs keep the defaults; some have reservations,
// limits (a few below their memory, as audits find) or other shares.
func drawAllocations(c *chooser, vcpus, memoryMB int64) (*types.ResourceAllocationInfo, *types.ResourceAllocationInfo) {
	shares := func(perUnit int32, units int64) *types.SharesInfo {
		switch c.weighted([]int{85, 5, 5, 5}) {
		case 1:
			return &types.SharesInfo{Level: types.SharesLevelHigh, Shares: int32(units) * perUnit * 2}
		case 2:
			return &types.SharesInfo{Level: types.SharesLevelLow, Shares: int32(units) * perUnit / 2}
		case 3:
			return &types.SharesInfo{Level: types.SharesLevelCustom, Shares: int32(c.between(1, 40)) * 500}
		}
		return &types.SharesInfo{Level: types.SharesLevelNormal, Shares: int32(units) * perUnit}
	}
	zero, unlimited := int64(0), int64(-1)
	cpu := &types.ResourceAllocationInfo{Reservation: &zero, Limit: &unlimited, Shares: shares(1000, vcpus)}
	mem := &types.ResourceAllocationInfo{Reservation: &zero, Limit: &unlimited, Shares: shares(10, memoryMB)}
	if c.chance(0.1) {
		r := c.between(1, 8) * 500
		cpu.Reservation = &r
	}
	if c.chance(0.05) {
		l := c.between(1, 4) * 1000 * vcpus / 2
		cpu.Limit = &l
	}
	if c.chance(0.1) {
		r := memoryMB
		if c.chance(0.5) {
			r = memoryMB / 2
		}
		mem.Reservation = &r
	}
	if c.chance(0.04) {
		l := memoryMB / 2
		mem.Limit = &l
	}
	return cpu, mem
}

// demoDevices: a SCSI controller of the guest's kind (a second pvscsi one
// for data disks beyond three), 1..6 disks, the NICs, an IDE CD-ROM.
func demoDevices(c *chooser, v *demoVM) object.VirtualDeviceList {
	var devices object.VirtualDeviceList
	kind := "pvscsi"
	switch {
	case v.guest.family == "otherGuest" || v.role.name == "old" && c.chance(0.5):
		kind = []string{"lsilogic", "buslogic"}[c.Intn(2)]
	case strings.Contains(v.guest.fullName, "2008") || strings.Contains(v.guest.fullName, "2012"):
		kind = "lsilogic-sas"
	case v.guest.family == "windowsGuest" && c.chance(0.4):
		kind = "lsilogic-sas"
	case c.chance(0.3):
		kind = "lsilogic"
	}
	scsi0, _ := devices.CreateSCSIController(kind)
	devices = append(devices, scsi0)
	data := int(c.between(v.role.dataDisks[0], v.role.dataDisks[1]))
	if data > 5 {
		data = 5
	}
	osGB := c.between(16, 60)
	if v.guest.family == "windowsGuest" {
		osGB = c.between(60, 120)
	}
	v.disksGB = []int64{osGB}
	for i := 0; i < data; i++ {
		lo, hi := math.Log(float64(v.role.dataGB[0])), math.Log(float64(v.role.dataGB[1]))
		v.disksGB = append(v.disksGB, int64(math.Exp(lo+c.Float64()*(hi-lo))))
	}
	ctrl := scsi0
	for i, gb := range v.disksGB {
		if i == 3 {
			scsi1, _ := devices.CreateSCSIController("pvscsi")
			devices = append(devices, scsi1)
			ctrl = scsi1
		}
		file := fmt.Sprintf("[%s] %s/%s.vmdk", v.ds, v.name, v.name)
		if i > 0 {
			file = fmt.Sprintf("[%s] %s/%s_%d.vmdk", v.ds, v.name, v.name, i)
		}
		disk := devices.CreateDisk(ctrl.(types.BaseVirtualController), types.ManagedObjectReference{}, file)
		disk.CapacityInKB = gb << 20
		b := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		thin, eager := true, false
		switch c.weighted([]int{55, 30, 15}) {
		case 1:
			thin = false
		case 2:
			thin, eager = false, true
		}
		b.ThinProvisioned, b.EagerlyScrub = &thin, &eager
		b.Uuid = "6000C29" + strings.ReplaceAll(c.uuid(), "-", "")[7:]
		if i > 0 && c.chance(0.04) {
			b.DiskMode = string(types.VirtualDiskModeIndependent_persistent)
		}
		devices = append(devices, disk)
	}
	for _, n := range v.nics {
		model := []string{"vmxnet3", "e1000e", "e1000", "pcnet32"}[c.weighted([]int{75, 10, 10, 5})]
		if model == "pcnet32" && v.guest.family == "windowsGuest" {
			model = "e1000"
		}
		var backing types.BaseVirtualDeviceBackingInfo
		if n.pg.dvs {
			backing = &types.VirtualEthernetCardDistributedVirtualPortBackingInfo{Port: types.DistributedVirtualSwitchPortConnection{
				SwitchUuid: n.pg.switchUUID, PortgroupKey: n.pg.key, PortKey: n.port}}
		} else {
			net := n.pg.network
			backing = &types.VirtualEthernetCardNetworkBackingInfo{VirtualDeviceDeviceBackingInfo: types.VirtualDeviceDeviceBackingInfo{DeviceName: n.pg.name}, Network: &net}
		}
		card, _ := devices.CreateEthernetCard(model, backing)
		e := card.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
		e.MacAddress, e.AddressType = n.mac, macAddressType(n.mac)
		e.Connectable = &types.VirtualDeviceConnectInfo{StartConnected: true, Connected: true, AllowGuestControl: true}
		devices = append(devices, card)
	}
	ide, _ := devices.CreateIDEController()
	devices = append(devices, ide)
	cdrom, _ := devices.CreateCdrom(ide.(*types.VirtualIDEController))
	if c.chance(0.15) {
		iso := v.isoPrefix + demoISOs[c.Intn(len(demoISOs))]
		cdrom.Backing = &types.VirtualCdromIsoBackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: iso}}
	} else {
		cdrom.Backing = &types.VirtualCdromRemotePassthroughBackingInfo{VirtualDeviceRemoteDeviceBackingInfo: types.VirtualDeviceRemoteDeviceBackingInfo{}}
		cdrom.Connectable = &types.VirtualDeviceConnectInfo{AllowGuestControl: true, Status: "untried"}
	}
	devices = append(devices, cdrom)
	return devices
}

// createDemoVM creates the VM through the stock CreateVM_Task.
func (st *state) createDemoVM(folder *simulator.Folder, v *demoVM, spec types.VirtualMachineConfigSpec) (*simulator.VirtualMachine, error) {
	ref, err := st.createVM(folder, spec, v.pool, v.host.Self)
	if err != nil {
		return nil, err
	}
	return simulator.Map.Get(ref).(*simulator.VirtualMachine), nil
}

// finishDemoVM gives a created VM its life: guest names, dates, tools and
// guest identity, custom values, power state, snapshots, template flag.
func (st *state) finishDemoVM(c *chooser, in *demoInfra, v *demoVM, vm *simulator.VirtualMachine) {
	consolidate := c.chance(0.02)
	simulator.Map.WithLock(vm, func() {
		vm.Config.GuestFullName = v.guest.fullName
		vm.Summary.Config.GuestFullName = v.guest.fullName
		vm.Config.CreateDate = &v.created
		vm.Runtime.ConsolidationNeeded = &consolidate
		vm.Summary.Runtime.ConsolidationNeeded = &consolidate
		nameDevices(vm)
	})
	st.setToolsMode(vm.Self, v.tools)
	id := demoIdentity(c, v)
	st.mu.Lock()
	st.guestIdentities[vm.Self] = id
	st.mu.Unlock()
	values := []struct{ field, value string }{
		{"Owner", owners[c.Intn(len(owners))]}, {"CostCenter", costCenters[c.Intn(len(costCenters))]},
		{"Application", v.role.name}, {"BackupPolicy", backupPolicy[c.Intn(len(backupPolicy))]},
	}
	for i, f := range values {
		if c.chance([]float64{0.7, 0.6, 0.8, 0.75}[i]) {
			st.setCustomValue(vm.Self, in.fields[f.field], f.value)
		}
	}
	if v.power != types.VirtualMachinePowerStatePoweredOff {
		st.dispatch(internalBody("PowerOnVM_Task", vm.Self))
		boot := in.clock.Add(-time.Duration(c.between(1, 120)*24+c.between(0, 23)) * time.Hour)
		if boot.Before(v.created) {
			boot = v.created.Add(time.Hour)
		}
		simulator.Map.WithLock(vm, func() {
			vm.Runtime.BootTime = &boot
			vm.Summary.Runtime.BootTime = &boot
		})
	}
	for _, n := range v.nics {
		joinNetwork(vm, n.pg.network)
	}
	st.demoSnapshots(c, in, v, vm)
	switch {
	case v.power == types.VirtualMachinePowerStateSuspended:
		st.dispatch(internalBody("SuspendVM_Task", vm.Self))
	case v.template:
		st.dispatch(internalBody("MarkAsTemplate", vm.Self))
	}
}

// demoSnapshots: most VMs have none; others a chain (sometimes a branch)
// taken over the months before the estate's clock.
func (st *state) demoSnapshots(c *chooser, in *demoInfra, v *demoVM, vm *simulator.VirtualMachine) {
	depth := []int{0, 1, 2, 3, 5}[c.weighted([]int{62, 20, 10, 5, 3})]
	if depth == 0 || v.template {
		return
	}
	at := in.clock.Add(-time.Duration(c.between(2, 420)*24) * time.Hour)
	if at.Before(v.created) {
		at = v.created.Add(24 * time.Hour)
	}
	var first types.ManagedObjectReference
	for i := 0; i < depth; i++ {
		name := snapNames[c.Intn(len(snapNames))]
		if strings.Contains(name, "%d") {
			name = fmt.Sprintf(name, c.between(10000, 99999))
		}
		memory := v.power == types.VirtualMachinePowerStatePoweredOn && c.chance(0.3)
		quiesce := !memory && v.tools == "toolsOk" && c.chance(0.3)
		desc := ""
		if c.chance(0.5) {
			desc = fmt.Sprintf("Taken by %s before %s", owners[c.Intn(len(owners))], []string{"patching", "an upgrade", "a config change"}[c.Intn(3)])
		}
		ref := st.takeSnapshot(vm, name, desc, memory, quiesce, at)
		if i == 0 {
			first = ref
		}
		if i == 1 && depth >= 3 && c.chance(0.5) {
			simulator.Map.WithLock(vm, func() { vm.Snapshot.CurrentSnapshot = &first }) // the next one branches
		}
		at = at.Add(time.Duration(c.between(1, 45)*24+c.between(0, 23)) * time.Hour)
		if at.After(in.clock) {
			at = in.clock.Add(-time.Duration(c.between(1, 20)) * time.Hour)
		}
	}
}

// takeSnapshot runs the stock CreateSnapshot_Task with the launcher's own
// follow-up (snapshots.go) and dates the snapshot.
func (st *state) takeSnapshot(vm *simulator.VirtualMachine, name, desc string, memory, quiesce bool, at time.Time) types.ManagedObjectReference {
	var taskRef types.ManagedObjectReference
	simulator.Map.WithLock(vm, func() {
		body := vm.CreateSnapshotTask(&types.CreateSnapshot_Task{This: vm.Self, Name: name, Description: desc, Memory: memory, Quiesce: quiesce})
		if res, ok := body.(*methods.CreateSnapshot_TaskBody); ok && res.Res != nil {
			taskRef = res.Res.Returnval
		}
	})
	task, ok := simulator.Map.Get(taskRef).(*simulator.Task)
	if !ok {
		return types.ManagedObjectReference{}
	}
	snap, _ := task.Info.Result.(types.ManagedObjectReference)
	st.afterSnapshotTask(&soapCall{Method: "CreateSnapshot_Task", This: vm.Self,
		Args: map[string]string{"memory": fmt.Sprint(memory)}}, snap)
	var stateFile string
	simulator.Map.WithLock(vm, func() {
		if tree := findSnapshot(vm.Snapshot, snap); tree != nil {
			tree.CreateTime = at
		}
		if memory { // the saved memory is in the snapshot's state file, as big as the VM's memory
			stateFile = sizeSnapshotFile(vm, snap, int64(vm.Config.Hardware.MemoryMB)<<20)
		}
	})
	if file, ok := st.localPath(vm.Self, stateFile); ok && stateFile != "" {
		_ = growTo(file, int64(vm.Config.Hardware.MemoryMB)<<20)
	}
	return snap
}

// sizeSnapshotFile records size for the snapshot's state file in the VM's file layout and
// returns the file's datastore path. The caller holds vm's lock.
func sizeSnapshotFile(vm *simulator.VirtualMachine, snap types.ManagedObjectReference, size int64) string {
	for _, layout := range vm.LayoutEx.Snapshot {
		if layout.Key != snap {
			continue
		}
		for i := range vm.LayoutEx.File {
			if vm.LayoutEx.File[i].Key == layout.DataKey {
				vm.LayoutEx.File[i].Size = size
				return vm.LayoutEx.File[i].Name
			}
		}
	}
	return ""
}

// nameDevices numbers NICs 4000+ and labels disks, NICs and CD-ROMs as vSphere does ("Hard
// disk 1", "Network adapter 1", "CD/DVD drive 1"); 0.24 gives NICs random keys and labels
// such as "ethernet--7". The caller holds vm's lock.
func nameDevices(vm *simulator.VirtualMachine) {
	renamed := map[int32]int32{}
	counts := map[string]int{}
	for _, d := range vm.Config.Hardware.Device {
		dev := d.GetVirtualDevice()
		kind := ""
		switch d.(type) {
		case *types.VirtualDisk:
			kind = "Hard disk"
		case *types.VirtualCdrom:
			kind = "CD/DVD drive"
		case types.BaseVirtualEthernetCard:
			kind = "Network adapter"
			renamed[dev.Key] = int32(4000 + counts[kind])
			dev.Key = renamed[dev.Key]
		default:
			continue
		}
		counts[kind]++
		label := fmt.Sprintf("%s %d", kind, counts[kind])
		if dev.DeviceInfo == nil {
			dev.DeviceInfo = &types.Description{}
		}
		dev.DeviceInfo.GetDescription().Label = label
	}
	for _, d := range vm.Config.Hardware.Device {
		if c, ok := d.(types.BaseVirtualController); ok {
			keys := c.GetVirtualController().Device
			for i, k := range keys {
				if n, ok := renamed[k]; ok {
					keys[i] = n
				}
			}
		}
	}
}

// demoIdentity is what tools report from inside the guest.
func demoIdentity(c *chooser, v *demoVM) *guestIdentity {
	id := &guestIdentity{hostName: v.name + ".corp.example", guestID: v.guest.id, fullName: v.guest.fullName, family: v.guest.family}
	if v.guest.family == "windowsGuest" {
		id.hostName = strings.ToUpper(strings.ReplaceAll(v.name, "-", "")) + ".corp.example"
	}
	for i, n := range v.nics {
		id.nics = append(id.nics, guestNIC{network: n.pg.name, mac: n.mac, ip: n.ip, key: int32(4000 + i)})
	}
	for i, gb := range v.disksGB {
		path := fmt.Sprintf("/data%d", i)
		switch {
		case v.guest.family == "windowsGuest":
			path = fmt.Sprintf("%c:\\", 'C'+i)
		case i == 0:
			path = "/"
		}
		capacity := gb << 30
		free := int64(float64(capacity) * (0.03 + 0.8*c.Float64()))
		id.disks = append(id.disks, types.GuestDiskInfo{DiskPath: path, Capacity: capacity, FreeSpace: free})
	}
	return id
}

// finishDemoEstate runs after prepareStorage wrote the disks: orphaned
// files, datastore fill levels, and the usage figures of VMs and hosts.
func (st *state) finishDemoEstate(c *chooser) error {
	in := st.demo
	for i, d := range in.datastores {
		if d.nfs && i%2 == 0 {
			continue
		}
		for k := int64(0); k < c.between(1, 3); k++ {
			name := []string{"old-sql-%02d", "restore-%02d", "vm-clone-tmp-%02d", "decom-web-%02d"}[c.Intn(4)]
			name = fmt.Sprintf(name, c.Intn(60))
			dir := filepath.Join(d.dir, name)
			if fileExists(dir) {
				continue
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			desc := newDescriptor(name+"-flat.vmdk", c.between(10, 300)<<20, []string{"thin", "preallocated"}[c.Intn(2)], "lsilogic")
			if _, fault, msg := st.writeNewDisk(filepath.Join(dir, name+".vmdk"), "["+d.ds.Name+"] "+name+"/"+name+".vmdk", desc, nil); fault != nil {
				return fmt.Errorf("orphaned disk on %s: %s", d.ds.Name, msg)
			}
		}
	}
	for _, d := range in.datastores {
		used, _ := datastoreUsage(d.dir)
		capacity := int64(float64(used) / d.fill)
		if capacity < 100<<30 {
			capacity = 100 << 30
		}
		capacity = (capacity + (1<<30 - 1)) >> 30 << 30
		st.setVirtualCapacity(d.ds, capacity)
	}
	st.demoQuickStats(c)
	return nil
}

// demoQuickStats gives running VMs CPU and memory use and sums them on
// their hosts, so usage columns and charts have something to show.
func (st *state) demoQuickStats(c *chooser) {
	type total struct{ cpu, mem int64 }
	perHost := map[types.ManagedObjectReference]*total{}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		simulator.Map.WithLock(vm, func() {
			if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || vm.Runtime.Host == nil {
				return
			}
			host := simulator.Map.Get(*vm.Runtime.Host).(*simulator.HostSystem)
			mhz := int64(host.Summary.Hardware.CpuMhz)
			cpu := int64(float64(int64(vm.Config.Hardware.NumCPU)*mhz) * (0.02 + 0.5*c.Float64()*c.Float64()))
			guest := int64(float64(vm.Config.Hardware.MemoryMB) * (0.1 + 0.7*c.Float64()))
			vm.Summary.Runtime.MaxCpuUsage = int32(int64(vm.Config.Hardware.NumCPU) * mhz)
			vm.Summary.Runtime.MaxMemoryUsage = vm.Config.Hardware.MemoryMB
			qs := &vm.Summary.QuickStats
			qs.OverallCpuUsage, qs.OverallCpuDemand = int32(cpu), int32(cpu)
			qs.GuestMemoryUsage, qs.HostMemoryUsage = int32(guest), int32(guest+64)
			qs.UptimeSeconds = int32(time.Since(*vm.Runtime.BootTime).Seconds())
			t := perHost[host.Self]
			if t == nil {
				t = &total{}
				perHost[host.Self] = t
			}
			t.cpu += cpu
			t.mem += guest + 64
		})
	}
	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		t := perHost[h.Self]
		if t == nil {
			t = &total{}
		}
		simulator.Map.WithLock(h, func() {
			h.Summary.QuickStats.OverallCpuUsage = int32(t.cpu + 300)
			h.Summary.QuickStats.OverallMemoryUsage = int32(t.mem + h.Summary.Hardware.MemorySize>>20/50)
			if h.Runtime.BootTime != nil {
				h.Summary.QuickStats.Uptime = int32(time.Since(*h.Runtime.BootTime).Seconds())
			}
		})
	}
}

// joinNetwork lists vm in the network's vm property and the network in the
// VM's, as vCenter does for every NIC (0.24 keeps neither for new VMs).
func joinNetwork(vm *simulator.VirtualMachine, ref types.ManagedObjectReference) {
	switch net := simulator.Map.Get(ref).(type) {
	case *mo.Network:
		simulator.Map.AddReference(net, &net.Vm, vm.Self)
	case *simulator.DistributedVirtualPortgroup:
		simulator.Map.AddReference(net, &net.Vm, vm.Self)
	default:
		return
	}
	simulator.Map.WithLock(vm, func() {
		if simulator.FindReference(vm.Network, ref) == nil {
			vm.Network = append(vm.Network, ref)
		}
	})
}
