package main

// -estate demo: a believable vCenter estate for training and exploration,
// the same for the same -seed. Two datacenters with clusters of different
// hardware and HA/DRS settings, standalone hosts (one host in maintenance
// mode, one disconnected), resource pools with allocations, VMFS and NFS
// datastores at different fill levels (one above 90 %) with orphaned disks
// on them, standard and distributed port groups, and -vms VMs spread over
// guest operating systems, sizes, power states, firmware, hardware
// versions, disks, NICs, MAC ranges, CD-ROMs, snapshot trees, tools states,
// allocations, custom attributes and guest identities.
//
// This file holds the plan (catalogues and the seeded choices);
// estate_infra.go builds the infrastructure, estate_vms.go the VMs.
//
// What govmomi 0.24's objects cannot hold, and so the estate does not show:
// guest OS ids newer than vSphere 6.5 are accepted by the launcher (added to
// the simulator's list) but 0.24 derives no guest descriptor for them;
// datastores carry no VMFS extents' LUN objects (vMultiPath has none to
// point to); hosts have no HBA, license or NTP/DNS objects beyond the
// stock ones.

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// guestOS is one entry of the demo's guest catalogue.
type guestOS struct {
	id       string
	fullName string
	family   string // windowsGuest, linuxGuest, otherGuest
	weight   int
	minMB    int64 // smallest believable memory
}

var demoGuests = []guestOS{
	{"windows2019srv_64Guest", "Microsoft Windows Server 2019 (64-bit)", "windowsGuest", 14, 4096},
	{"windows2019srvNext_64Guest", "Microsoft Windows Server 2022 (64-bit)", "windowsGuest", 10, 4096},
	{"windows9Server64Guest", "Microsoft Windows Server 2016 (64-bit)", "windowsGuest", 8, 4096},
	{"windows8Server64Guest", "Microsoft Windows Server 2012 (64-bit)", "windowsGuest", 4, 2048},
	{"windows7Server64Guest", "Microsoft Windows Server 2008 R2 (64-bit)", "windowsGuest", 2, 2048},
	{"windows9_64Guest", "Microsoft Windows 10 (64-bit)", "windowsGuest", 3, 4096},
	{"rhel9_64Guest", "Red Hat Enterprise Linux 9 (64-bit)", "linuxGuest", 8, 2048},
	{"rhel8_64Guest", "Red Hat Enterprise Linux 8 (64-bit)", "linuxGuest", 10, 2048},
	{"rhel7_64Guest", "Red Hat Enterprise Linux 7 (64-bit)", "linuxGuest", 6, 1024},
	{"centos7_64Guest", "CentOS 7 (64-bit)", "linuxGuest", 4, 1024},
	{"centos8_64Guest", "CentOS 8 (64-bit)", "linuxGuest", 2, 1024},
	{"rockylinux_64Guest", "Rocky Linux (64-bit)", "linuxGuest", 3, 1024},
	{"oracleLinux8_64Guest", "Oracle Linux 8 (64-bit)", "linuxGuest", 2, 2048},
	{"ubuntu64Guest", "Ubuntu Linux (64-bit)", "linuxGuest", 12, 1024},
	{"debian11_64Guest", "Debian GNU/Linux 11 (64-bit)", "linuxGuest", 4, 1024},
	{"debian10_64Guest", "Debian GNU/Linux 10 (64-bit)", "linuxGuest", 2, 1024},
	{"sles15_64Guest", "SUSE Linux Enterprise 15 (64-bit)", "linuxGuest", 4, 2048},
	{"sles12_64Guest", "SUSE Linux Enterprise 12 (64-bit)", "linuxGuest", 2, 2048},
	{"vmwarePhoton64Guest", "VMware Photon OS (64-bit)", "linuxGuest", 3, 512},
	{"freebsd12_64Guest", "FreeBSD 12 (64-bit)", "otherGuest", 1, 512},
	{"other3xLinux64Guest", "Other 3.x Linux (64-bit)", "linuxGuest", 1, 512},
	{"otherGuest64", "Other (64-bit)", "otherGuest", 1, 512},
}

// newerGuestIDs are guest ids real vCenters accept that 0.24's list lacks.
var newerGuestIDs = []string{
	"windows2019srv_64Guest", "windows2019srvNext_64Guest", "rhel8_64Guest", "rhel9_64Guest",
	"centos8_64Guest", "rockylinux_64Guest", "oracleLinux8_64Guest", "debian11_64Guest",
	"sles15_64Guest", "freebsd12_64Guest", "amazonlinux2_64Guest", "almalinux_64Guest",
}

func init() {
	for _, id := range newerGuestIDs {
		simulator.GuestID = append(simulator.GuestID, types.VirtualMachineGuestOsIdentifier(id))
	}
}

// guestFullName names a guest id as vSphere does ("" when unknown).
func guestFullName(id string) string {
	for _, g := range demoGuests {
		if g.id == id {
			return g.fullName
		}
	}
	return ""
}

// hostProfile is the hardware of a group of hosts.
type hostProfile struct {
	vendor, model, cpuModel string
	cpuMhz                  int32
	sockets, coresPerSocket int16
	memoryGiB               int64
	version, build          string
	biosVersion             string
}

var (
	profileR750 = hostProfile{"Dell Inc.", "PowerEdge R750", "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", 2000, 2, 32, 1024, "8.0.2", "22380479", "1.10.2"}
	// The dev cluster is the overcommitted one (small hosts, many VMs), as dev clusters are.
	profileDL360  = hostProfile{"HPE", "ProLiant DL360 Gen10", "Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz", 2200, 2, 12, 192, "7.0.3", "21930508", "U32 v2.80"}
	profileSR650  = hostProfile{"Lenovo", "ThinkSystem SR650 V2", "Intel(R) Xeon(R) Gold 6348 CPU @ 2.60GHz", 2600, 2, 28, 768, "8.0.1", "21495797", "AFE124E-3.10"}
	profileC240   = hostProfile{"Cisco Systems Inc", "UCSC-C240-M5SX", "AMD EPYC 7543 32-Core Processor", 2800, 1, 32, 512, "7.0.3", "20328353", "C240M5.4.2.3b"}
	profileSMC    = hostProfile{"Supermicro", "SYS-5019C-M", "Intel(R) Xeon(R) E-2146G CPU @ 3.50GHz", 3500, 1, 6, 128, "6.7.0", "17700523", "1.4"} // an overloaded edge box
	profileNUCish = hostProfile{"Dell Inc.", "PowerEdge R640", "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", 3000, 2, 24, 512, "7.0.3", "22348816", "2.19.1"}
)

// clusterPlan describes one cluster of the demo (in model order: DC0_C0,
// DC0_C1, DC1_C0, DC1_C1).
type clusterPlan struct {
	name       string
	hostPrefix string
	profile    hostProfile
	ha, drs    bool
	drsMode    types.DrsBehavior
	haLevel    int32
	weight     int // share of the VMs
	pools      []poolPlan
	datastores []datastorePlan
}

// poolPlan is a resource pool under the cluster's root pool (parent "" )
// or under another plan of the same cluster.
type poolPlan struct {
	name, parent   string
	cpuRes, cpuLim int64 // MHz, -1: unlimited
	memRes, memLim int64 // MiB, -1: unlimited
	shares         types.SharesLevel
	custom         int32 // custom shares (shares == custom)
}

// datastorePlan is a datastore; fill is the fraction of its capacity in
// use once the VMs and orphans are on it.
type datastorePlan struct {
	name string
	nfs  bool
	fill float64
}

// demoPlan is the whole topology; the model is built with 2 datacenters,
// 2 clusters of 4 hosts each and 1 standalone host per datacenter.
type demoPlan struct {
	datacenters []string
	clusters    []clusterPlan
	standalone  []struct {
		name    string
		profile hostProfile
		ds      datastorePlan
	}
	nfs     []datastorePlan // one per datacenter, mounted by all its hosts
	folders []string        // VM folders in each datacenter
}

func newDemoPlan() *demoPlan {
	p := &demoPlan{
		datacenters: []string{"dc-ams", "dc-fra"},
		folders:     []string{"Production", "Development", "Infrastructure", "Templates", "Decommission"},
	}
	p.clusters = []clusterPlan{
		{name: "ams-prod", hostPrefix: "esx-ams-p", profile: profileR750, ha: true, drs: true,
			drsMode: types.DrsBehaviorFullyAutomated, haLevel: 1, weight: 40,
			pools: []poolPlan{
				{name: "Production", cpuRes: 20000, cpuLim: -1, memRes: 262144, memLim: -1, shares: types.SharesLevelHigh},
				{name: "Databases", parent: "Production", cpuRes: 8000, cpuLim: -1, memRes: 131072, memLim: -1, shares: types.SharesLevelCustom, custom: 8000},
				{name: "Batch", cpuRes: 0, cpuLim: 16000, memRes: 0, memLim: 65536, shares: types.SharesLevelLow},
			},
			datastores: []datastorePlan{{name: "ams-prod-vmfs01", fill: 0.71}, {name: "ams-prod-vmfs02", fill: 0.93}}},
		{name: "ams-dev", hostPrefix: "esx-ams-d", profile: profileDL360, ha: true, drs: true,
			drsMode: types.DrsBehaviorPartiallyAutomated, haLevel: 1, weight: 20,
			pools: []poolPlan{
				{name: "Development", cpuRes: 0, cpuLim: 40000, memRes: 0, memLim: 262144, shares: types.SharesLevelNormal},
				{name: "Sandbox", parent: "Development", cpuRes: 0, cpuLim: 8000, memRes: 0, memLim: 32768, shares: types.SharesLevelLow},
			},
			datastores: []datastorePlan{{name: "ams-dev-vmfs01", fill: 0.58}}},
		{name: "fra-prod", hostPrefix: "esx-fra-p", profile: profileSR650, ha: true, drs: true,
			drsMode: types.DrsBehaviorManual, haLevel: 2, weight: 30,
			pools: []poolPlan{
				{name: "Production", cpuRes: 16000, cpuLim: -1, memRes: 196608, memLim: -1, shares: types.SharesLevelHigh},
				{name: "Infra", cpuRes: 4000, cpuLim: -1, memRes: 16384, memLim: -1, shares: types.SharesLevelCustom, custom: 6000},
			},
			datastores: []datastorePlan{{name: "fra-prod-vmfs01", fill: 0.64}, {name: "fra-prod-vmfs02", fill: 0.47}}},
		{name: "fra-dr", hostPrefix: "esx-fra-r", profile: profileC240, ha: false, drs: false, weight: 6,
			datastores: []datastorePlan{{name: "fra-dr-vmfs01", fill: 0.22}}},
	}
	p.standalone = []struct {
		name    string
		profile hostProfile
		ds      datastorePlan
	}{
		{"esx-ams-edge01.lab.example", profileSMC, datastorePlan{name: "esx-ams-edge01-local", fill: 0.81}},
		{"esx-fra-lab01.lab.example", profileNUCish, datastorePlan{name: "esx-fra-lab01-local", fill: 0.35}},
	}
	p.nfs = []datastorePlan{{name: "ams-nfs01", nfs: true, fill: 0.39}, {name: "fra-nfs01", nfs: true, fill: 0.52}}
	return p
}

// demoModel sizes the stock model the plan renames and fills.
func demoModel(o *options) {
	o.mode, o.datacenters, o.folders, o.clusters, o.hosts = "vpx", 2, 0, 2, 4
	o.standaloneHosts, o.pools, o.datastores = 1, 0, 1
}

// demoClock is the estate's "now": creation dates, boot times and snapshot
// ages are spread over the months before it, the same for every run of a
// seed (ages stay realistic because it follows the wall clock by day).
func demoClock() time.Time {
	return time.Now().UTC().Truncate(24 * time.Hour)
}

// chooser wraps the seeded source with the few draws the plan needs.
type chooser struct{ *rand.Rand }

func newChooser(seed int64) *chooser { return &chooser{rand.New(rand.NewSource(seed))} }

// chance is true with probability p.
func (c *chooser) chance(p float64) bool { return c.Float64() < p }

// between draws an integer in [lo, hi].
func (c *chooser) between(lo, hi int64) int64 { return lo + c.Int63n(hi-lo+1) }

// weighted picks an index by the weights.
func (c *chooser) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := c.Intn(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// uuid draws a version-4 style UUID string.
func (c *chooser) uuid() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(c.Intn(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// buildDemoEstate turns the stock model into the demo estate. It runs
// before the storage and tools fix-ups of prepareInventory, which then
// treat the demo's VMs like any other.
func (st *state) buildDemoEstate() error {
	c := newChooser(st.opts.seed)
	plan := newDemoPlan()
	infra, err := st.buildDemoInfra(plan, c)
	if err != nil {
		return fmt.Errorf("-estate demo: %w", err)
	}
	if err := st.buildDemoVMs(plan, infra, c); err != nil {
		return fmt.Errorf("-estate demo: %w", err)
	}
	st.demo = infra
	return nil
}
