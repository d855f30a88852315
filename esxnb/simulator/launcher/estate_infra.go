package main

// The demo estate's infrastructure (see estate.go): names, host hardware,
// cluster settings, resource pools, VM folders, datastores, port groups and
// custom attribute definitions, built through the stock simulator's own
// methods where it has them so derived properties stay right.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// demoPortGroup is a network a VM NIC can join.
type demoPortGroup struct {
	name       string
	network    types.ManagedObjectReference
	dvs        bool
	switchUUID string
	key        string
	vlan       int32
}

// demoPlace is where a group of VMs lives: a cluster or a standalone host.
type demoPlace struct {
	name       string
	dc         int
	hosts      []*simulator.HostSystem // hosts VMs may run on
	pools      []types.ManagedObjectReference
	datastores []string // names, in the datacenter
	weight     int
}

// demoDatastore is a datastore whose fill the estate sets.
type demoDatastore struct {
	ds   *simulator.Datastore
	dir  string
	fill float64
	nfs  bool
}

// demoInfra is what buildDemoInfra made, for the VMs and the finishing pass.
type demoInfra struct {
	dcs        []*simulator.Datacenter
	folders    []map[string]*simulator.Folder // per datacenter, by name
	places     []*demoPlace
	networks   [][]demoPortGroup // per datacenter
	isos       []string          // per datacenter: "[nfs] iso/" prefix
	datastores []*demoDatastore
	fields     map[string]int32 // custom field name -> key
	clock      time.Time
	hosts      []*simulator.HostSystem // every host, in plan order
}

func (st *state) buildDemoInfra(plan *demoPlan, c *chooser) (*demoInfra, error) {
	in := &demoInfra{fields: map[string]int32{}, clock: demoClock()}
	dsRoot := filepath.Join(os.Getenv("TMPDIR"), "demo")
	for d, dcName := range plan.datacenters {
		dc, ok := simulator.Map.FindByName(fmt.Sprintf("DC%d", d), simulator.Map.Get(st.model.ServiceContent.RootFolder).(*simulator.Folder).ChildEntity).(*simulator.Datacenter)
		if !ok {
			return nil, fmt.Errorf("the model has no datacenter DC%d", d)
		}
		hostFolder := simulator.Map.Get(dc.HostFolder).(*simulator.Folder)
		var dcHosts []*simulator.HostSystem
		for k := 0; k < 2; k++ {
			cp := plan.clusters[d*2+k]
			cl, ok := simulator.Map.FindByName(fmt.Sprintf("DC%d_C%d", d, k), hostFolder.ChildEntity).(*simulator.ClusterComputeResource)
			if !ok {
				return nil, fmt.Errorf("the model has no cluster DC%d_C%d", d, k)
			}
			place := &demoPlace{name: cp.name, dc: d, weight: cp.weight}
			var hosts []*simulator.HostSystem
			for i, ref := range cl.Host {
				h := simulator.Map.Get(ref).(*simulator.HostSystem)
				applyHostProfile(h, cp.profile, fmt.Sprintf("%s%02d.lab.example", cp.hostPrefix, i+1), c, in.clock)
				hosts = append(hosts, h)
				switch {
				case cp.name == "ams-dev" && i == len(cl.Host)-1:
					h.Runtime.InMaintenanceMode = true
				case cp.name == "fra-dr" && i == len(cl.Host)-1:
					h.Runtime.ConnectionState = types.HostSystemConnectionStateDisconnected
					h.Summary.OverallStatus = types.ManagedEntityStatusGray
				default:
					place.hosts = append(place.hosts, h)
				}
			}
			dcHosts = append(dcHosts, hosts...)
			in.hosts = append(in.hosts, hosts...)
			cl.Name = cp.name
			configureCluster(cl, cp, hosts)
			place.pools = st.createPools(*cl.ResourcePool, cp.pools)
			for _, dp := range cp.datastores {
				ds, dir, err := st.createDatastore(dc, dsRoot, dp, hosts)
				if err != nil {
					return nil, err
				}
				in.datastores = append(in.datastores, &demoDatastore{ds: ds, dir: dir, fill: dp.fill})
				place.datastores = append(place.datastores, dp.name)
			}
			in.places = append(in.places, place)
		}
		sp := plan.standalone[d]
		cr, ok := simulator.Map.FindByName(fmt.Sprintf("DC%d_H0", d), hostFolder.ChildEntity).(*mo.ComputeResource)
		if !ok {
			return nil, fmt.Errorf("the model has no standalone host DC%d_H0", d)
		}
		h := simulator.Map.Get(cr.Host[0]).(*simulator.HostSystem)
		applyHostProfile(h, sp.profile, sp.name, c, in.clock)
		cr.Name = sp.name
		setComputeSummary(cr.Summary.GetComputeResourceSummary(), []*simulator.HostSystem{h})
		dcHosts = append(dcHosts, h)
		in.hosts = append(in.hosts, h)
		ds, dir, err := st.createDatastore(dc, dsRoot, sp.ds, []*simulator.HostSystem{h})
		if err != nil {
			return nil, err
		}
		in.datastores = append(in.datastores, &demoDatastore{ds: ds, dir: dir, fill: sp.ds.fill})
		in.places = append(in.places, &demoPlace{name: sp.name, dc: d, hosts: []*simulator.HostSystem{h},
			pools: []types.ManagedObjectReference{*cr.ResourcePool}, datastores: []string{sp.ds.name}, weight: 4})

		nfs := plan.nfs[d]
		nds, ndir, err := st.createDatastore(dc, dsRoot, nfs, dcHosts)
		if err != nil {
			return nil, err
		}
		in.datastores = append(in.datastores, &demoDatastore{ds: nds, dir: ndir, fill: nfs.fill, nfs: true})
		for _, p := range in.places {
			if p.dc == d {
				p.datastores = append(p.datastores, nfs.name)
			}
		}
		in.isos = append(in.isos, "["+nfs.name+"] iso/")
		writeISOs(filepath.Join(ndir, "iso"))

		dc.Name = dcName
		in.dcs = append(in.dcs, dc)
		in.folders = append(in.folders, st.createFolders(dc, plan.folders))
		in.networks = append(in.networks, st.createPortGroups(dc, d, dcHosts))
	}
	in.fields = st.createCustomFields()
	for _, h := range in.hosts {
		site := strings.ToUpper(strings.SplitN(strings.TrimPrefix(h.Name, "esx-"), "-", 2)[0])
		st.setCustomValue(h.Self, in.fields["Rack"], fmt.Sprintf("%s-R%02d", site, c.between(1, 24)))
	}
	return in, nil
}

// applyHostProfile gives h its name, hardware and ESXi version. The stock
// model shares one AboutInfo among its hosts, so each gets its own copy.
func applyHostProfile(h *simulator.HostSystem, p hostProfile, name string, c *chooser, now time.Time) {
	h.Name = name
	h.Summary.Config.Name = name
	cores := int16(p.sockets * p.coresPerSocket)
	hw := *h.Summary.Hardware
	hw.Vendor, hw.Model, hw.CpuModel, hw.CpuMhz = p.vendor, p.model, p.cpuModel, p.cpuMhz
	hw.NumCpuPkgs, hw.NumCpuCores, hw.NumCpuThreads = p.sockets, cores, cores*2
	hw.MemorySize = p.memoryGiB << 30
	h.Summary.Hardware = &hw

	info := *h.Hardware
	info.SystemInfo = types.HostSystemInfo{Vendor: p.vendor, Model: p.model, Uuid: hw.Uuid,
		SerialNumber: fmt.Sprintf("%s%06d", strings.ToUpper(p.vendor[:2]), c.Intn(1000000))}
	info.CpuInfo = types.HostCpuInfo{NumCpuPackages: p.sockets, NumCpuCores: cores, NumCpuThreads: cores * 2, Hz: int64(p.cpuMhz) * 1000000}
	vendor := "intel"
	if strings.Contains(p.cpuModel, "AMD") {
		vendor = "amd"
	}
	info.CpuPkg = nil
	for s := int16(0); s < p.sockets; s++ {
		var threads []int16
		for t := s * p.coresPerSocket * 2; t < (s+1)*p.coresPerSocket*2; t++ {
			threads = append(threads, t)
		}
		info.CpuPkg = append(info.CpuPkg, types.HostCpuPackage{Index: s, Vendor: vendor, Hz: int64(p.cpuMhz) * 1000000,
			BusHz: 100000000, Description: p.cpuModel, ThreadId: threads})
	}
	info.MemorySize = hw.MemorySize
	released := now.AddDate(0, -c.Intn(30)-6, 0)
	info.BiosInfo = &types.HostBIOSInfo{BiosVersion: p.biosVersion, ReleaseDate: &released, Vendor: p.vendor}
	h.Hardware = &info

	product := h.Config.Product
	product.Version, product.Build = p.version, p.build
	product.FullName = fmt.Sprintf("VMware ESXi %s build-%s", p.version, p.build)
	product.ApiVersion = p.version[:3] + ".0.0"
	product.LicenseProductVersion = p.version[:1] + ".0"
	h.Config.Product = product
	summaryProduct := product
	h.Summary.Config.Product = &summaryProduct
	boot := now.Add(-time.Duration(c.between(3, 200)*24+c.between(0, 23)) * time.Hour)
	h.Runtime.BootTime = &boot
}

// setComputeSummary totals the hosts as vCenter does (MHz per core times
// cores; 0.24 adds one core's MHz per host). Hosts in maintenance or not
// connected count in the totals, not in the effective resources.
func setComputeSummary(s *types.ComputeResourceSummary, hosts []*simulator.HostSystem) {
	*s = types.ComputeResourceSummary{OverallStatus: types.ManagedEntityStatusGreen}
	for _, h := range hosts {
		hw := h.Summary.Hardware
		s.TotalCpu += hw.CpuMhz * int32(hw.NumCpuCores)
		s.TotalMemory += hw.MemorySize
		s.NumCpuCores += hw.NumCpuCores
		s.NumCpuThreads += hw.NumCpuThreads
		s.NumHosts++
		if h.Runtime.InMaintenanceMode || h.Runtime.ConnectionState != types.HostSystemConnectionStateConnected {
			s.OverallStatus = types.ManagedEntityStatusYellow
			continue
		}
		s.EffectiveCpu += hw.CpuMhz * int32(hw.NumCpuCores) * 9 / 10 // the hypervisor's share
		s.EffectiveMemory += hw.MemorySize * 9 / 10 >> 20            // MiB
		s.NumEffectiveHosts++
	}
}

func configureCluster(cl *simulator.ClusterComputeResource, p clusterPlan, hosts []*simulator.HostSystem) {
	ha, drs, no, yes := p.ha, p.drs, false, true
	cfg, _ := cl.ConfigurationEx.(*types.ClusterConfigInfoEx)
	if cfg == nil {
		cfg = &types.ClusterConfigInfoEx{}
	}
	cfg.DasConfig = types.ClusterDasConfigInfo{Enabled: &ha, VmMonitoring: "vmMonitoringDisabled",
		HostMonitoring: "enabled", FailoverLevel: p.haLevel, AdmissionControlEnabled: &ha}
	if !ha {
		cfg.DasConfig.AdmissionControlEnabled = &no
	}
	cfg.DrsConfig = types.ClusterDrsConfigInfo{Enabled: &drs, DefaultVmBehavior: p.drsMode, VmotionRate: 3,
		EnableVmBehaviorOverrides: &yes}
	if !drs {
		cfg.DrsConfig.DefaultVmBehavior = types.DrsBehaviorFullyAutomated
	}
	cfg.DpmConfigInfo = &types.ClusterDpmConfigInfo{Enabled: &no, DefaultDpmBehavior: types.DpmBehaviorAutomated}
	cl.ConfigurationEx = cfg
	summary := &types.ClusterComputeResourceSummary{UsageSummary: new(types.ClusterUsageSummary)}
	setComputeSummary(&summary.ComputeResourceSummary, hosts)
	if ha {
		summary.CurrentFailoverLevel = p.haLevel
	}
	cl.Summary = summary
}

// createPools makes the plan's pools under root; VMs may go in the root
// pool or any of them.
func (st *state) createPools(root types.ManagedObjectReference, plans []poolPlan) []types.ManagedObjectReference {
	byName := map[string]types.ManagedObjectReference{"": root}
	out := []types.ManagedObjectReference{root}
	for i := range plans {
		p := plans[i] // the spec keeps pointers into p: one copy per pool
		parent := simulator.Map.Get(byName[p.parent]).(*simulator.ResourcePool)
		expandable := true
		spec := types.ResourceConfigSpec{
			CpuAllocation: types.ResourceAllocationInfo{Reservation: &p.cpuRes, Limit: &p.cpuLim,
				ExpandableReservation: &expandable, Shares: poolShares(p, 4000)},
			MemoryAllocation: types.ResourceAllocationInfo{Reservation: &p.memRes, Limit: &p.memLim,
				ExpandableReservation: &expandable, Shares: poolShares(p, 163840)},
		}
		var ref types.ManagedObjectReference
		simulator.Map.WithLock(parent, func() {
			body := parent.CreateResourcePool(&types.CreateResourcePool{This: parent.Self, Name: p.name, Spec: spec})
			if res, ok := body.(*methods.CreateResourcePoolBody); ok && res.Res != nil {
				ref = res.Res.Returnval
			}
		})
		if ref.Value != "" {
			byName[p.name] = ref
			out = append(out, ref)
		}
	}
	return out
}

// poolShares: a pool's normal shares are 4000 (CPU) and 163840 (memory).
func poolShares(p poolPlan, normal int32) *types.SharesInfo {
	n := map[types.SharesLevel]int32{types.SharesLevelLow: normal / 2, types.SharesLevelNormal: normal,
		types.SharesLevelHigh: normal * 2}[p.shares]
	if p.shares == types.SharesLevelCustom {
		n = p.custom
		if normal > 4000 {
			n = p.custom * 40
		}
	}
	return &types.SharesInfo{Level: p.shares, Shares: n}
}

func (st *state) createFolders(dc *simulator.Datacenter, names []string) map[string]*simulator.Folder {
	vmFolder := simulator.Map.Get(dc.VmFolder).(*simulator.Folder)
	out := map[string]*simulator.Folder{"": vmFolder}
	for _, name := range names {
		var ref types.ManagedObjectReference
		simulator.Map.WithLock(vmFolder, func() {
			body := vmFolder.CreateFolder(st.internalCtx(&vmFolder.Self), &types.CreateFolder{This: vmFolder.Self, Name: name})
			if res, ok := body.(*methods.CreateFolderBody); ok && res.Res != nil {
				ref = res.Res.Returnval
			}
		})
		if f, ok := simulator.Map.Get(ref).(*simulator.Folder); ok {
			out[name] = f
		}
	}
	return out
}

// createDatastore mounts one datastore on the hosts: a VMFS volume (a
// local datastore re-described as VMFS on a SAN LUN) or an NFS export.
func (st *state) createDatastore(dc *simulator.Datacenter, root string, p datastorePlan, hosts []*simulator.HostSystem) (*simulator.Datastore, string, error) {
	dir := filepath.Join(root, dc.Self.Value, p.name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	var ds *simulator.Datastore
	for _, h := range hosts {
		dss := simulator.Map.Get(*h.ConfigManager.DatastoreSystem).(*simulator.HostDatastoreSystem)
		ctx := st.internalCtx(&dss.Self)
		var ref types.ManagedObjectReference
		var fault string
		simulator.Map.WithLock(dss, func() {
			if p.nfs {
				body := dss.CreateNasDatastore(ctx, &types.CreateNasDatastore{This: dss.Self, Spec: types.HostNasVolumeSpec{
					RemoteHost: "nas-" + dc.Self.Value + ".lab.example", RemotePath: "/export/" + p.name,
					LocalPath: dir, AccessMode: string(types.HostMountModeReadWrite), Type: "NFS"}})
				if f := body.Fault(); f != nil {
					fault = f.String
				} else {
					ref = body.(*methods.CreateNasDatastoreBody).Res.Returnval
				}
			} else {
				body := dss.CreateLocalDatastore(ctx, &types.CreateLocalDatastore{This: dss.Self, Name: p.name, Path: dir})
				if f := body.Fault(); f != nil {
					fault = f.String
				} else {
					ref = body.(*methods.CreateLocalDatastoreBody).Res.Returnval
				}
			}
		})
		if fault != "" {
			return nil, "", fmt.Errorf("datastore %s on %s: %s", p.name, h.Name, fault)
		}
		ds = simulator.Map.Get(ref).(*simulator.Datastore)
	}
	if !p.nfs {
		base := *ds.Info.GetDatastoreInfo()
		yes, local := true, len(hosts) == 1
		lun := fmt.Sprintf("naa.6000%028x", uint64(len(p.name))<<40|uint64(hashName(p.name)))
		ds.Info = &types.VmfsDatastoreInfo{DatastoreInfo: base, MaxPhysicalRDMFileSize: 64 << 40,
			MaxVirtualRDMFileSize: 62 << 40, Vmfs: &types.HostVmfsVolume{
				HostFileSystemVolume: types.HostFileSystemVolume{Type: "VMFS", Name: p.name},
				BlockSizeMb:          1, MajorVersion: 6, Version: "6.82", Uuid: fmt.Sprintf("%08x-%08x-%04x-%012x", hashName(p.name), hashName(dir), 0x3c1e, hashName(p.name+dir)),
				Extent: []types.HostScsiDiskPartition{{DiskName: lun, Partition: 1}}, Ssd: &yes, Local: &local}}
		ds.Summary.Type = "VMFS"
	}
	return ds, dir, nil
}

// hashName is a small stable hash (FNV-1a) for identifiers derived from names.
func hashName(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

var demoISOs = []string{"ubuntu-22.04.4-live-server-amd64.iso", "rhel-9.3-x86_64-dvd.iso",
	"SW_DVD9_Win_Server_STD_CORE_2022.iso", "VMware-tools-windows-12.3.5.iso"}

func writeISOs(dir string) {
	_ = os.MkdirAll(dir, 0o700)
	for _, name := range demoISOs {
		_ = os.WriteFile(filepath.Join(dir, name), []byte("ISO 9660 placeholder: "+name+"\n"), 0o600)
	}
}

// createPortGroups adds a standard "Backup" port group to every host and
// three VLAN-backed port groups to the datacenter's distributed switch; the
// stock "VM Network" and DVS port group stay.
func (st *state) createPortGroups(dc *simulator.Datacenter, d int, hosts []*simulator.HostSystem) []demoPortGroup {
	var out []demoPortGroup
	for _, h := range hosts {
		simulator.Map.WithLock(h, func() {
			if h.Config != nil && h.Config.Network != nil {
				_ = addPortGroup(h.Config.Network, types.HostPortGroupSpec{Name: "Backup", VlanId: 200, VswitchName: "vSwitch0"})
			}
		})
		attachNetwork(h, "Backup")
	}
	for _, name := range []string{"VM Network", "Backup"} {
		if _, _, net := hostNetwork(hosts[0], name); net != nil {
			out = append(out, demoPortGroup{name: name, network: net.Self, vlan: map[string]int32{"Backup": 200}[name]})
		}
	}
	folder := simulator.Map.Get(dc.NetworkFolder).(*simulator.Folder)
	var dvs *simulator.DistributedVirtualSwitch
	for _, ref := range folder.ChildEntity {
		if s, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualSwitch); ok {
			dvs = s
		}
	}
	if dvs == nil {
		return out
	}
	site := []string{"ams", "fra"}[d]
	for i, role := range []string{"app", "db", "dmz"} {
		vlan := int32(100*(d+1) + 10*(i+1))
		name := fmt.Sprintf("%s-%s-v%d", site, role, vlan)
		spec := types.DVPortgroupConfigSpec{Name: name, Type: string(types.DistributedVirtualPortgroupPortgroupTypeEarlyBinding),
			NumPorts: 128, DefaultPortConfig: &types.VMwareDVSPortSetting{
				Vlan: &types.VmwareDistributedVirtualSwitchVlanIdSpec{VlanId: vlan}}}
		simulator.Map.WithLock(dvs, func() {
			dvs.AddDVPortgroupTask(st.internalCtx(&dvs.Self), &types.AddDVPortgroup_Task{This: dvs.Self, Spec: []types.DVPortgroupConfigSpec{spec}})
		})
	}
	for _, ref := range folder.ChildEntity {
		pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup)
		if !ok || !strings.HasPrefix(pg.Name, site+"-") {
			continue
		}
		var vlan int32
		if s, ok := pg.Config.DefaultPortConfig.(*types.VMwareDVSPortSetting); ok && s.Vlan != nil {
			if v, ok := s.Vlan.(*types.VmwareDistributedVirtualSwitchVlanIdSpec); ok {
				vlan = v.VlanId
			}
		}
		out = append(out, demoPortGroup{name: pg.Name, network: pg.Self, dvs: true, switchUUID: dvs.Uuid, key: pg.Key, vlan: vlan})
	}
	return out
}

// demoFields are the custom attributes RVTools users find on VMs and hosts.
var demoFields = []struct{ name, moType string }{
	{"Owner", "VirtualMachine"}, {"CostCenter", "VirtualMachine"}, {"Application", "VirtualMachine"},
	{"BackupPolicy", "VirtualMachine"}, {"Rack", "HostSystem"},
}

func (st *state) createCustomFields() map[string]int32 {
	out := map[string]int32{}
	cfm, ok := simulator.Map.Get(*st.model.ServiceContent.CustomFieldsManager).(*simulator.CustomFieldsManager)
	if !ok {
		return out
	}
	for _, f := range demoFields {
		simulator.Map.WithLock(cfm, func() {
			body := cfm.AddCustomFieldDef(&types.AddCustomFieldDef{This: cfm.Self, Name: f.name, MoType: f.moType})
			if res, ok := body.(*methods.AddCustomFieldDefBody); ok && res.Res != nil {
				out[f.name] = res.Res.Returnval.Key
			}
		})
	}
	return out
}

func (st *state) setCustomValue(entity types.ManagedObjectReference, key int32, value string) {
	cfm, ok := simulator.Map.Get(*st.model.ServiceContent.CustomFieldsManager).(*simulator.CustomFieldsManager)
	if !ok {
		return
	}
	simulator.Map.WithLock(cfm, func() {
		cfm.SetField(st.internalCtx(&cfm.Self), &types.SetField{This: cfm.Self, Entity: entity, Key: key, Value: value})
	})
}
