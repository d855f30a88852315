package main

// -follow URL: an ESX host managed by a vCenter follows that vCenter's view
// of its VMs, as a real host does when vCenter moves, creates or removes
// them. Before each SOAP call the launcher
// asks the vCenter simulator's control API for the host's VMs ("vms") and
// makes its own inventory match: VMs that arrived (a migration to this host)
// are created with their UUIDs, VMs that left are unregistered, power states
// follow. Without it, libvirt's migration between two esx:// hosts fails at
// its last step, when it looks the domain up on the destination host.

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

type follower struct {
	url    string
	token  string
	host   string
	client *http.Client
	mu     sync.Mutex
}

func newFollower(url, caFile, host string) (*follower, error) {
	transport := &http.Transport{}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("-follow-ca: %s", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-follow-ca %s: no certificate in it", caFile)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &follower{
		url: url, token: os.Getenv("ESXNB_SIM_FOLLOW_TOKEN"), host: host,
		client: &http.Client{Timeout: 10 * time.Second, Transport: transport},
	}, nil
}

// vcenterVMs asks the vCenter for the VMs on this host.
func (f *follower) vcenterVMs() ([]mirrorVM, error) {
	body, _ := json.Marshal(map[string]string{"op": "vms", "host": f.host})
	req, err := http.NewRequest(http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Esxnb-Token", f.token)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var answer struct {
		OK    bool       `json:"ok"`
		Error string     `json:"error"`
		VMs   []mirrorVM `json:"vms"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, err
	}
	if !answer.OK {
		return nil, fmt.Errorf("%s", answer.Error)
	}
	return answer.VMs, nil
}

// follow brings the local VMs in line with the vCenter's (errors are logged:
// the host then answers with what it had, as a host cut off from vCenter).
func (st *state) follow() {
	f := st.follower
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	wanted, err := f.vcenterVMs()
	if err != nil {
		log.Printf("-follow %s: %s", f.url, err)
		return
	}
	have := map[string]*simulator.VirtualMachine{}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		have[vm.Config.Uuid] = vm
	}
	place, err := findMirrorPlace()
	if err != nil {
		log.Printf("-follow: %s", err)
		return
	}
	seen := map[string]bool{}
	for _, v := range wanted {
		seen[v.UUID] = true
		vm, ok := have[v.UUID]
		if !ok {
			if err := st.addMirrored(place, v); err != nil {
				log.Printf("-follow: %s", err)
				continue
			}
			st.afterFollowed(v.UUID)
			continue
		}
		st.setPowerState(vm, types.VirtualMachinePowerState(v.PowerState))
	}
	for uuid, vm := range have {
		if !seen[uuid] {
			if _, fault, msg, _ := st.dispatch(internalBody("UnregisterVM", vm.Self)); fault != nil {
				log.Printf("-follow: unregistering %s: %s", vm.Name, msg)
			}
		}
	}
}

// afterFollowed gives a VM that arrived what every new VM gets: its .vmx,
// disk descriptors, tools state and a place in container views.
func (st *state) afterFollowed(uuid string) {
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		if vm.Config.Uuid != uuid {
			continue
		}
		st.applyTools(vm)
		st.prepareDisks(vm)
		refreshViews(vm.Self)
		if err := st.writeVMX(vm, ""); err != nil {
			log.Printf("-follow: %s", err)
		}
	}
}

// setPowerState moves vm to power state want (from whichever it is in).
func (st *state) setPowerState(vm *simulator.VirtualMachine, want types.VirtualMachinePowerState) {
	var steps []string
	switch have := vm.Runtime.PowerState; {
	case want == "" || have == want:
	case want == types.VirtualMachinePowerStatePoweredOff:
		steps = []string{"PowerOffVM_Task"}
	case want == types.VirtualMachinePowerStatePoweredOn:
		steps = []string{"PowerOnVM_Task"}
	case want == types.VirtualMachinePowerStateSuspended && have == types.VirtualMachinePowerStatePoweredOn:
		steps = []string{"SuspendVM_Task"}
	case want == types.VirtualMachinePowerStateSuspended:
		steps = []string{"PowerOnVM_Task", "SuspendVM_Task"}
	}
	for _, method := range steps {
		if _, fault, msg, _ := st.dispatch(internalBody(method, vm.Self)); fault != nil {
			log.Printf("-follow: %s of %s: %s", method, vm.Name, msg)
			return
		}
	}
}
