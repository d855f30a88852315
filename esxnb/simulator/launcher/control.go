package main

// The control endpoint: POST /esxnb/control, header X-Esxnb-Token, JSON
// body {"op": ..., ...}. See main.go for the list of operations.

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

type controlRequest struct {
	Op            string      `json:"op"`
	VM            string      `json:"vm"`
	Status        string      `json:"status"`
	Text          string      `json:"text"`
	Choices       [][2]string `json:"choices"`
	Default       string      `json:"default"`
	On            string      `json:"on"`
	CancelChoices []string    `json:"cancel_choices"`
	Method        string      `json:"method"`
	Duration      float64     `json:"duration"`
	Steps         int         `json:"steps"`
	Fault         string      `json:"fault"`
	Message       string      `json:"message"`
	Task          bool        `json:"task"`
	Count         *int        `json:"count"`
	Seconds       float64     `json:"seconds"`
	Host          string      `json:"host"`
	IP            string      `json:"ip"`
	Object        string      `json:"object"`
	Path          string      `json:"path"`
}

type controlError struct{ msg string }

func (e *controlError) Error() string { return e.msg }

func errorf(format string, args ...interface{}) error {
	return &controlError{fmt.Sprintf(format, args...)}
}

func (st *state) serveControl(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if st.token == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Esxnb-Token")), []byte(st.token)) != 1 {
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]interface{}{"ok": false, "error": "missing or wrong X-Esxnb-Token"})
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		_ = json.NewEncoder(w).Encode(map[string]interface{}{"ok": false, "error": "use POST"})
		return
	}
	var req controlRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]interface{}{"ok": false, "error": "bad JSON: " + err.Error()})
		return
	}
	out, err := st.control(&req)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]interface{}{"ok": false, "error": err.Error()})
		return
	}
	if out == nil {
		out = map[string]interface{}{}
	}
	out["ok"] = true
	_ = json.NewEncoder(w).Encode(out)
}

func (st *state) findVM(name string) (*simulator.VirtualMachine, error) {
	if name == "" {
		return nil, errorf("\"vm\" (a VM name) is required")
	}
	var names []string
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		if vm.Name == name {
			return vm, nil
		}
		names = append(names, vm.Name)
	}
	sort.Strings(names)
	if len(names) > 8 {
		names = append(names[:8], "...")
	}
	return nil, errorf("no VM named %q (VMs: %s)", name, strings.Join(names, ", "))
}

func (st *state) findHost(name string) (*simulator.HostSystem, error) {
	var names []string
	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		if h.Name == name {
			return h, nil
		}
		names = append(names, h.Name)
	}
	sort.Strings(names)
	return nil, errorf("no host named %q (hosts: %s)", name, strings.Join(names, ", "))
}

func (st *state) control(req *controlRequest) (map[string]interface{}, error) {
	switch req.Op {
	case "ping":
		return map[string]interface{}{"mode": st.opts.mode}, nil

	case "set_tools":
		if !toolsModes[req.Status] {
			return nil, errorf("status must be toolsOk, toolsNotRunning or toolsNotInstalled, not %q", req.Status)
		}
		vm, err := st.findVM(req.VM)
		if err != nil {
			return nil, err
		}
		st.setToolsMode(vm.Self, req.Status)
		st.applyTools(vm)
		return nil, nil

	case "add_question":
		if _, err := st.findVM(req.VM); err != nil {
			return nil, err
		}
		if req.Text == "" {
			return nil, errorf("\"text\" is required")
		}
		on := req.On
		if on == "" {
			on = "PowerOnVM_Task"
		}
		if !strings.HasSuffix(on, "_Task") {
			return nil, errorf("\"on\" must be a *_Task method such as PowerOnVM_Task, not %q", on)
		}
		rule := &questionRule{Text: req.Text, Default: req.Default, On: on, CancelChoices: req.CancelChoices}
		choices := req.Choices
		if len(choices) == 0 {
			choices = [][2]string{{"0", "Yes"}, {"1", "No"}}
		}
		keys := map[string]bool{}
		for _, c := range choices {
			if c[0] == "" || keys[c[0]] {
				return nil, errorf("choice keys must be non-empty and unique, got %q", c[0])
			}
			keys[c[0]] = true
			rule.Choices = append(rule.Choices, choice{Key: c[0], Label: c[1]})
		}
		if rule.Default == "" {
			rule.Default = rule.Choices[0].Key
		}
		if !keys[rule.Default] {
			return nil, errorf("default %q is not one of the choice keys", rule.Default)
		}
		for _, c := range rule.CancelChoices {
			if !keys[c] {
				return nil, errorf("cancel choice %q is not one of the choice keys", c)
			}
		}
		st.rules.mu.Lock()
		st.rules.questions[req.VM] = append(st.rules.questions[req.VM], rule)
		st.rules.mu.Unlock()
		return nil, nil

	case "clear_questions":
		st.rules.mu.Lock()
		if req.VM == "" {
			st.rules.questions = map[string][]*questionRule{}
		} else {
			delete(st.rules.questions, req.VM)
		}
		st.rules.mu.Unlock()
		return nil, nil

	case "set_task_behaviour":
		if !strings.HasSuffix(req.Method, "_Task") {
			return nil, errorf("method must be a *_Task method, not %q", req.Method)
		}
		if req.Duration < 0 || req.Steps < 0 {
			return nil, errorf("duration and steps must be >= 0")
		}
		st.rules.mu.Lock()
		if req.Duration == 0 {
			delete(st.rules.behaviours, req.Method)
		} else {
			steps := req.Steps
			if steps == 0 {
				steps = 1
			}
			st.rules.behaviours[req.Method] = taskBehaviour{Duration: seconds(req.Duration), Steps: steps}
		}
		st.rules.mu.Unlock()
		return nil, nil

	case "inject_fault":
		if req.Method == "" {
			return nil, errorf("\"method\" is required")
		}
		name := req.Fault
		if name == "" {
			name = "InvalidState"
		}
		// Refuse now a fault that could not be completed when it is sent.
		probe, err := newFault(name)
		if err == nil {
			err = checkFault(probe)
		}
		if err != nil {
			return nil, errorf("%s", err)
		}
		if req.Task && !strings.HasSuffix(req.Method, "_Task") {
			return nil, errorf("task=true needs a *_Task method, not %q", req.Method)
		}
		count := -1
		if req.Count != nil {
			if *req.Count < 1 {
				return nil, errorf("count must be >= 1 (or null: until cleared)")
			}
			count = *req.Count
		}
		st.rules.mu.Lock()
		st.rules.faults[req.Method] = &faultRule{Fault: name, Message: req.Message, Task: req.Task, Count: count}
		st.rules.mu.Unlock()
		return nil, nil

	case "set_delay":
		method := req.Method
		if method == "" {
			method = "*"
		}
		if req.Seconds < 0 {
			return nil, errorf("seconds must be >= 0")
		}
		st.rules.mu.Lock()
		if req.Seconds == 0 {
			delete(st.rules.delays, method)
		} else {
			st.rules.delays[method] = seconds(req.Seconds)
		}
		st.rules.mu.Unlock()
		return nil, nil

	case "clear_faults":
		st.rules.mu.Lock()
		st.rules.faults = map[string]*faultRule{}
		st.rules.delays = map[string]time.Duration{}
		st.rules.mu.Unlock()
		return nil, nil

	case "reset":
		st.rules.clear()
		st.clearRestrictions()
		return nil, nil

	case "restrict_property": // retrieval.go
		if req.Object == "" || req.Path == "" {
			return nil, errorf("restrict_property needs object (name or moref) and path")
		}
		fault := req.Fault
		if fault == "" {
			fault = "NoPermission"
		}
		if _, err := newFault(fault); err != nil {
			return nil, err
		}
		st.retrievals.mu.Lock()
		st.retrievals.restrictions = append(st.retrievals.restrictions, restriction{req.Object, req.Path, fault})
		st.retrievals.mu.Unlock()
		return nil, nil

	case "clear_restrictions":
		st.clearRestrictions()
		return nil, nil

	case "expire_tokens":
		return map[string]interface{}{"expired": st.expireTokens()}, nil

	case "set_host_ip":
		h, err := st.findHost(req.Host)
		if err != nil {
			return nil, err
		}
		if req.IP == "" {
			return nil, errorf("\"ip\" is required")
		}
		simulator.Map.WithLock(h, func() {
			if h.Config != nil && h.Config.Network != nil && len(h.Config.Network.Vnic) > 0 && h.Config.Network.Vnic[0].Spec.Ip != nil {
				h.Config.Network.Vnic[0].Spec.Ip.IpAddress = req.IP
			}
		})
		return nil, nil

	case "set_management_server":
		st.setManagementServer(req.IP)
		return nil, nil

	case "vms":
		return map[string]interface{}{"vms": st.listVMs(req.Host)}, nil
	}
	return nil, errorf("unknown op %q (ops: ping, set_tools, add_question, clear_questions, set_task_behaviour, "+
		"inject_fault, set_delay, clear_faults, reset, set_host_ip, set_management_server, vms)", req.Op)
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}

// mirrorVM is one VM as listed by "vms" and read by -mirror.
type mirrorVM struct {
	Name         string `json:"name"`
	UUID         string `json:"uuid"`
	InstanceUUID string `json:"instance_uuid,omitempty"`
	MemoryMB     int32  `json:"memory_mb"`
	NumCPU       int32  `json:"num_cpu"`
	GuestID      string `json:"guest_id,omitempty"`
	Annotation   string `json:"annotation,omitempty"`
	PowerState   string `json:"power_state,omitempty"`
	Host         string `json:"host,omitempty"`
}

func (st *state) listVMs(hostName string) []mirrorVM {
	var out []mirrorVM
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		var item mirrorVM
		simulator.Map.WithLock(vm, func() {
			item = mirrorVM{
				Name: vm.Name, UUID: vm.Config.Uuid, InstanceUUID: vm.Config.InstanceUuid,
				MemoryMB: vm.Config.Hardware.MemoryMB, NumCPU: vm.Config.Hardware.NumCPU,
				GuestID: vm.Config.GuestId, Annotation: vm.Config.Annotation,
				PowerState: string(vm.Runtime.PowerState),
			}
			if vm.Runtime.Host != nil {
				if h, ok := simulator.Map.Get(*vm.Runtime.Host).(*simulator.HostSystem); ok {
					item.Host = h.Name
				}
			}
		})
		if hostName == "" || item.Host == hostName {
			out = append(out, item)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if out == nil {
		out = []mirrorVM{}
	}
	return out
}

var _ = types.ManagedObjectReference{}
