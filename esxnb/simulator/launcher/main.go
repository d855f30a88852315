// Command launcher runs one govmomi vSphere simulator (vcsim) for esxnb.
//
// It fixes the places where the stock simulator does not behave like a real
// server (see /work/shared/notes/simulator.md):
//
//   - only the configured user/password logs in (-username, password from
//     $ESXNB_SIM_PASSWORD or -password);
//   - TLS with a CA generated at start, written to STATE_DIR/ca.pem;
//   - every VM's .vmx on its datastore holds a VMX matching the VM, rewritten
//     after calls that change VMs (vmx.go);
//   - RegisterVM_Task reads the .vmx (register.go);
//   - VMware tools state, ShutdownGuest/RebootGuest checks, VM questions,
//     AnswerVM, CancelTask, slow tasks with progress, injected faults and
//     delays (intercept.go, tools.go, tasks.go);
//   - /folder requires a valid session cookie or basic authentication with
//     the user's credentials, as ESXi (libvirt's streams use the latter);
//   - RelocateVM_Task keeps host.vm and pool.vm right, and ContainerViews
//     follow VMs that are created, registered or moved (views.go);
//   - injected faults carry the properties a real server fills in
//     (faults.go);
//   - datastore paths resolve in the datacenter of the object they belong
//     to: every datacenter has its own LocalDS_0 (datastores.go);
//   - an ESX host can report a managing vCenter (-management-server-ip),
//     mirror that vCenter's VMs (-mirror FILE) and keep following them
//     (-follow URL: VMs vCenter moves to or from the host appear and go)
//     (mirror.go, follow.go).
//   - virtual disks are VMware descriptors with flat extents:
//     CreateVirtualDisk_Task keeps capacity, disk type and adapter (0.24
//     writes empty files), CopyVirtualDisk_Task copies with a new UUID and
//     applies destSpec, DeleteVirtualDisk_Task removes every extent (0.24
//     fails without a -flat file), ZeroFillVirtualDisk_Task exists (missing
//     in 0.24), Query/SetVirtualDiskUuid use ddb.uuid, disks of powered-on
//     VMs are FileLocked, the model's VM disks get matching descriptors
//     (vdisk.go);
//   - SearchDatastore(SubFolders)_Task match every file when matchPattern
//     is empty (0.24 matches none), write folder paths "[ds] dir/" (0.24:
//     "[ds]/dir"), match only descriptors with VmDiskFileQuery and fill
//     capacityKb, thin, controllerType, diskType, hardwareVersion, extents
//     (browse.go);
//   - a datastore's host property lists every host that mounts it (0.24:
//     the last one only) (vdisk.go);
//   - datastore mounts have mountInfo.path "/vmfs/volumes/<name>" (0.24:
//     none); RefreshDatastore answers properly (0.24: an empty body) and
//     RefreshDatastoreStorageInfo exists (dsrefresh.go);
//   - HostNetworkSystem's networkInfo is host.config.network, and
//     Add/Update/RemoveVirtualSwitch and Add/Update/RemovePortGroup keep it:
//     uplinks, MTU, ports, policies, VLANs, one Network object per name
//     shared by the datacenter's hosts, ResourceInUse while VMs or VMkernel
//     NICs use a port group (0.24 keeps a separate list, drops specs, lacks
//     the Update calls) (network.go);
//   - FetchDVPorts numbers ports uniquely per switch and fills each port's
//     port group, default settings, connectee (the VM NIC bound to it) and
//     runtime state, honouring the port group / connected / port key
//     criteria (0.24: one bogus port per port group, "0".."N-1" again in every
//     port group, none of those fields, criteria ignored); the demo estate
//     binds every NIC on a distributed port group to a free port (dvports.go);
//   - answers are encoded as real servers encode them: array items carry
//     xsi:type (libvirt's virsh refuses untyped ones), xsi is declared once
//     in the envelope (0.24 declares it on every value, doubling answers);
//     a handler that panics answers instead of dropping the connection
//     (0.24's Fetch panics for an unset property such as the root folder's
//     parent: vCenter answers with no value) (wire.go);
//   - hosts report host.capability (vmotionSupported, ...), which 0.24
//     leaves unset and libvirt's migration needs (hostcaps.go);
//   - ValidateMigration and MigrateVM_Task exist (0.24: neither); the latter
//     is carried out as the RelocateVM_Task vCenter would run (migration.go);
//   - snapshots: one taken without memory of a running VM records
//     poweredOff, and a revert restores the power state and configuration
//     saved with the snapshot (0.24 only moves the current pointer)
//     (snapshots.go);
//   - every host has its own HostAutoStartManager, autostart disabled as on
//     a fresh ESXi, with ReconfigureAutostart (0.24: none) (autostart.go);
//   - RetrievePropertiesEx honours maxObjects with tokens that
//     ContinueRetrievePropertiesEx and CancelRetrievePropertiesEx serve
//     (0.24 ignores it), each page retrieved only when it is asked for,
//     as vCenter suspends a retrieval at maxObjects (0.24 would build the
//     whole answer before the first byte) (lazypages.go), and a restricted
//     account can be played: chosen properties of chosen objects come back
//     as NoPermission missingSet entries (control restrict_property)
//     (retrieval.go);
//   - -estate demo builds a varied, seeded vCenter estate: clusters,
//     hosts, pools, VMFS/NFS datastores at different fills with orphaned
//     disks, port groups, VMs with snapshots, tools states, guest
//     identities and custom attributes (estate.go); tools report guest
//     host names, IPs and file systems (0.24: none) (tools.go);
//   - every event and task is kept; CreateCollectorForEvents applies the whole
//     filter (entity and recursion, time, users, types, chain) over all of them
//     and CreateCollectorForTasks exists; tasks name their user and entity and
//     post a TaskEvent, a migration posts VmMigratedEvent, and event message
//     templates 0.24 ships broken are repaired (0.24: the last 1000 events, type
//     and entity filters only, no task collector, every task by "vcsim", no
//     TaskEvent, no VmMigratedEvent, a panic on posting one) (history.go);
//   - PerformanceManager.historicalInterval lists a vCenter's four intervals
//     (an ESX host's one) (0.24: none), and QueryPerf has no samples for a VM
//     that is not running or a host not serving (0.24's canned series make them
//     busy) and honours format "csv" (0.24: normal only) (perfintervals.go);
//   - CreateScreenshot_Task writes a PNG of the VM's console beside its .vmx
//     and GET /screen?id=MOREF serves one, as ESXi does (0.24: neither)
//     (screenshot.go).
//
// The launcher's own implementations of SOAP methods register in
// ownMethods (methods.go); injected faults still apply to them.
//
// When ready it prints one JSON line on stdout:
//
//	{"url": "https://127.0.0.1:PORT/sdk", "host": ..., "port": ..., "ca_file": ..., "pid": ...}
//
// Control API (control.go): POST /esxnb/control with header
// "X-Esxnb-Token: $ESXNB_SIM_TOKEN" and a JSON body {"op": NAME, ...}; the
// answer is {"ok": true, ...} or {"ok": false, "error": "..."} with status 400.
// Operations (fields in brackets):
//
//	ping                                          -> {"mode": "vpx"|"esx"}
//	set_tools [vm, status]                        toolsOk|toolsNotRunning|toolsNotInstalled
//	add_question [vm, text, choices, default, on, cancel_choices]
//	                                              the next `on` task (PowerOnVM_Task) of vm stays
//	                                              running with runtime.question until AnswerVM
//	                                              or CancelTask
//	clear_questions [vm]                          forget questions not raised yet
//	set_task_behaviour [method, duration, steps]  *_Task runs `duration` s, progress in `steps`
//	inject_fault [method, fault, message, task, count]
//	                                              answer with a fault (task=true: the task fails)
//	set_delay [method ("*": all), seconds]        delay calls
//	clear_faults                                  drop faults and delays
//	reset                                         drop faults, delays, task behaviours, questions
//	set_host_ip [host, ip]                        management IP (what SearchIndex.FindByIp sees)
//	set_management_server [ip]                    summary.managementServerIp of every host
//	vms [host]                                    -> {"vms": [{name, uuid, memory_mb, ...}]}
//	restrict_property [object, path, fault]       the property (and paths below it) of the object
//	                                              (name or moref) answer as missingSet entries
//	                                              with fault (default NoPermission)
//	clear_restrictions                            drop them (reset does too)
//	expire_tokens                                 forget every paging token -> {"expired": n}
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
)

type options struct {
	mode               string
	listen             string
	useTLS             bool
	datacenters        int
	folders            int
	clusters           int
	hosts              int
	standaloneHosts    int
	vms                int
	pools              int
	datastores         int
	username           string
	password           string
	sessionIdleTimeout time.Duration
	stateDir           string
	managementServerIP string
	mirrorFile         string
	followURL          string
	followCA           string
	hostName           string
	shutdownDelay      time.Duration
	toolsDefault       string
	watchStdin         bool
	cpuProfile         string
	estate             string
	seed               int64
}

func parseFlags() *options {
	o := &options{}
	flag.StringVar(&o.mode, "mode", "vpx", "vpx (vCenter) or esx (standalone host)")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "HOST:PORT to listen on (port 0: a free port)")
	flag.BoolVar(&o.useTLS, "tls", true, "serve https with a generated CA (false: plain http)")
	flag.IntVar(&o.datacenters, "datacenters", 1, "datacenters (vpx)")
	flag.IntVar(&o.folders, "folders", 0, "folders holding datacenters (vpx)")
	flag.IntVar(&o.clusters, "clusters", 1, "clusters per datacenter (vpx)")
	flag.IntVar(&o.hosts, "hosts", 3, "hosts per cluster (vpx)")
	flag.IntVar(&o.standaloneHosts, "standalone-hosts", 1, "standalone hosts per datacenter (vpx)")
	flag.IntVar(&o.vms, "vms", 2, "VMs per host or resource pool, as govmomi counts")
	flag.IntVar(&o.pools, "pools", 0, "extra resource pools per cluster (vpx)")
	flag.IntVar(&o.datastores, "datastores", 1, "local datastores")
	flag.StringVar(&o.username, "username", "", "the only user name that logs in")
	flag.StringVar(&o.password, "password", "", "its password (prefer $ESXNB_SIM_PASSWORD: flags show in ps)")
	flag.DurationVar(&o.sessionIdleTimeout, "session-idle-timeout", 0, "expire idle sessions after this (0: never)")
	flag.StringVar(&o.stateDir, "state-dir", "", "directory for ca.pem and the datastores (default: a temp dir)")
	flag.StringVar(&o.managementServerIP, "management-server-ip", "", "summary.managementServerIp of every host")
	flag.StringVar(&o.mirrorFile, "mirror", "", "JSON file of VMs to create instead of the generated ones (esx)")
	flag.StringVar(&o.followURL, "follow", "", "control URL of the managing vCenter simulator whose view of this host's VMs to follow (esx)")
	flag.StringVar(&o.followCA, "follow-ca", "", "CA file of the vCenter simulator -follow talks to")
	flag.StringVar(&o.hostName, "host-name", "", "name of the ESX host (esx mode)")
	flag.DurationVar(&o.shutdownDelay, "shutdown-delay", 500*time.Millisecond, "ShutdownGuest powers off after this")
	flag.StringVar(&o.toolsDefault, "tools", "toolsOk", "initial tools state of every VM: toolsOk, toolsNotRunning, toolsNotInstalled")
	flag.BoolVar(&o.watchStdin, "exit-on-stdin-eof", false, "stop when stdin closes (the parent process died)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the start-up to this file")
	flag.StringVar(&o.estate, "estate", "", `"demo": a varied vCenter estate of -vms VMs in all (estate.go); the topology flags do not apply`)
	flag.Int64Var(&o.seed, "seed", 0, "-estate demo: the same seed gives the same estate")
	flag.Parse()
	if o.password == "" {
		o.password = os.Getenv("ESXNB_SIM_PASSWORD")
	}
	return o
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "launcher: "+format+"\n", args...)
	os.Exit(2)
}

func (o *options) validate() {
	if o.mode != "vpx" && o.mode != "esx" {
		fail("-mode must be vpx or esx, not %q", o.mode)
	}
	for name, v := range map[string]int{
		"datacenters": o.datacenters, "folders": o.folders, "clusters": o.clusters, "hosts": o.hosts,
		"standalone-hosts": o.standaloneHosts, "vms": o.vms, "pools": o.pools, "datastores": o.datastores,
	} {
		if v < 0 {
			fail("-%s must be >= 0, not %d", name, v)
		}
	}
	if o.datastores < 1 {
		fail("-datastores must be at least 1 (VMs live on LocalDS_0)")
	}
	if o.estate != "" && o.estate != "demo" {
		fail("-estate must be demo (or empty), not %q", o.estate)
	}
	if o.estate == "demo" {
		if o.mode != "vpx" || o.mirrorFile != "" {
			fail("-estate demo is a vCenter estate: it takes neither -mode esx nor -mirror")
		}
		if o.vms < 1 {
			fail("-estate demo needs -vms >= 1 (the number of VMs in all)")
		}
		demoModel(o)
	}
	if (o.username == "") != (o.password == "") {
		fail("give both -username and a password, or neither")
	}
	if _, ok := toolsModes[o.toolsDefault]; !ok {
		fail("-tools must be toolsOk, toolsNotRunning or toolsNotInstalled, not %q", o.toolsDefault)
	}
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		fail("-listen must be HOST:PORT: %s", err)
	}
}

func (o *options) model() *simulator.Model {
	var m *simulator.Model
	if o.mode == "esx" {
		m = simulator.ESX()
	} else {
		m = simulator.VPX()
		m.Datacenter = o.datacenters
		m.Folder = o.folders
		m.Cluster = o.clusters
		m.ClusterHost = o.hosts
		m.Host = o.standaloneHosts
		m.Pool = o.pools
	}
	m.Machine = o.vms
	if o.mirrorFile != "" || o.estate == "demo" {
		m.Machine = 0
	}
	m.Datastore = o.datastores
	return m
}

func main() {
	log.SetFlags(log.Ldate | log.Ltime | log.Lmicroseconds)
	o := parseFlags()
	o.validate()

	stateDir := o.stateDir
	ownState := false
	if stateDir == "" {
		dir, err := os.MkdirTemp("", "esxnb-sim-")
		if err != nil {
			fail("cannot create a state directory: %s", err)
		}
		stateDir, ownState = dir, true
	}
	// The simulator makes its datastore directories with os.MkdirTemp(""):
	// pointing TMPDIR into the state directory keeps them there, so even a
	// killed launcher leaves nothing elsewhere.
	dsRoot := filepath.Join(stateDir, "datastores")
	if err := os.MkdirAll(dsRoot, 0o700); err != nil {
		fail("cannot create %s: %s", dsRoot, err)
	}
	os.Setenv("TMPDIR", dsRoot)

	var model *simulator.Model
	cleanup := func() {
		if model != nil {
			model.Remove()
		}
		os.RemoveAll(dsRoot)
		if ownState {
			os.RemoveAll(stateDir)
		}
	}

	// Signals are handled before Create(): large inventories take seconds to build.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	created := make(chan struct{})
	if o.watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			// The parent died without stopping us: nobody else will remove
			// the state directory it made.
			ownState = true
			sigs <- syscall.SIGTERM
		}()
	}
	go func() {
		<-sigs
		select {
		case <-created:
		case <-time.After(100 * time.Millisecond):
			// Create() still running: model.Remove() would race with it; the
			// datastores live under dsRoot, which is removed instead.
		}
		cleanup()
		os.Exit(0)
	}()

	if o.sessionIdleTimeout > 0 {
		simulator.SessionIdleTimeout = o.sessionIdleTimeout
	}

	if o.cpuProfile != "" {
		if f, err := os.Create(o.cpuProfile); err == nil {
			_ = pprof.StartCPUProfile(f)
		}
	}
	m := o.model()
	if err := m.Create(); err != nil {
		cleanup()
		fail("cannot create the inventory: %s", err)
	}
	model = m
	close(created)

	st := newState(o, m)
	if err := st.prepareInventory(); err != nil {
		cleanup()
		fail("%s", err)
	}

	m.Service.Listen = &url.URL{Host: o.listen}
	if o.username != "" {
		m.Service.Listen.User = url.UserPassword(o.username, o.password)
	}
	caFile := ""
	if o.useTLS {
		host, _, _ := net.SplitHostPort(o.listen)
		cfg, caPEM, err := newTLSConfig(host)
		if err != nil {
			cleanup()
			fail("cannot create TLS certificates: %s", err)
		}
		caFile = filepath.Join(stateDir, "ca.pem")
		if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
			cleanup()
			fail("cannot write %s: %s", caFile, err)
		}
		m.Service.TLS = cfg
	}

	server := m.Service.NewServer()
	st.install(server)

	addr := server.Listener.Addr().(*net.TCPAddr)
	scheme := "http"
	if o.useTLS {
		scheme = "https"
	}
	host := addr.IP.String()
	ready := map[string]interface{}{
		"url":     fmt.Sprintf("%s://%s/sdk", scheme, net.JoinHostPort(host, strconv.Itoa(addr.Port))),
		"host":    host,
		"port":    addr.Port,
		"ca_file": caFile,
		"pid":     os.Getpid(),
	}
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	line, _ := json.Marshal(ready)
	fmt.Println(string(line))
	os.Stdout.Sync()

	select {} // the signal goroutine ends the process
}
