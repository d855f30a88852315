package main

// RegisterVM_Task reads the .vmx like a real host: the stock handler needs
// <name>.nvram and vmware.log beside the .vmx (a host creates them) and
// ignores the file's contents (applied here afterwards).

import (
	"fmt"
	"log"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// vmxValues parses VMX text into lower-cased keys -> unescaped values.
func vmxValues(text string) map[string]string {
	out := map[string]string{}
	for _, kv := range parseVMXLines(text) {
		if kv[0] != "" {
			out[strings.ToLower(kv[0])] = vmxUnescape(kv[1])
		}
	}
	return out
}

// vmxUnescape undoes |XX escapes.
func vmxUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '|' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func touch(file string) {
	if _, err := os.Stat(file); os.IsNotExist(err) {
		if f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			_ = f.Close()
		}
	}
}

// prepareRegister creates the files a host creates for a registered VM.
func (st *state) prepareRegister(call *soapCall) {
	file, ok := st.localPath(call.This, call.Args["path"])
	if !ok || path.Ext(file) != ".vmx" {
		return
	}
	if _, err := os.Stat(file); err != nil {
		return // the stock handler reports NotFound
	}
	var p object.DatastorePath
	p.FromString(call.Args["path"])
	name := call.Args["name"]
	if name == "" {
		name = path.Dir(p.Path) // what the stock handler names the VM at first
	}
	dir := filepath.Dir(file)
	touch(filepath.Join(dir, name+".nvram"))
	touch(filepath.Join(dir, "vmware.log"))
	if text, err := os.ReadFile(file); err == nil {
		if nv := vmxValues(string(text))["nvram"]; nv != "" && !strings.Contains(nv, "/") {
			touch(filepath.Join(dir, nv))
		}
	}
}

// finishRegister applies the .vmx's settings to the registered VM.
func (st *state) finishRegister(call *soapCall, vm *simulator.VirtualMachine) {
	var vmPath string
	simulator.Map.WithLock(vm, func() { vmPath = vm.Config.Files.VmPathName })
	file, ok := st.localPath(vm.Self, vmPath)
	if !ok {
		return
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return
	}
	values := vmxValues(string(text))
	spec := types.VirtualMachineConfigSpec{}
	if name := values["displayname"]; name != "" && call.Args["name"] == "" {
		spec.Name = name
	}
	if v, err := strconv.Atoi(values["memsize"]); err == nil && v > 0 {
		spec.MemoryMB = int64(v)
	}
	if v, err := strconv.Atoi(values["numvcpus"]); err == nil && v > 0 {
		spec.NumCPUs = int32(v)
	}
	if v, err := strconv.Atoi(values["cpuid.corespersocket"]); err == nil && v > 0 {
		spec.NumCoresPerSocket = int32(v)
	}
	if g := values["guestos"]; g != "" {
		spec.GuestId = guestIDFromOS(g)
	}
	spec.Annotation = values["annotation"]
	if u := uuidFromVMware(values["uuid.bios"]); u != "" {
		spec.Uuid = u
	}
	if u := uuidFromVMware(values["vc.uuid"]); u != "" {
		spec.InstanceUuid = u
	}
	if hw := values["virtualhw.version"]; hw != "" {
		if _, err := strconv.Atoi(hw); err == nil {
			spec.Version = "vmx-" + hw
		}
	}
	if values["firmware"] == "efi" {
		spec.Firmware = "efi"
	}
	spec.CpuAllocation = allocationFrom(values, "sched.cpu")
	spec.MemoryAllocation = allocationFrom(values, "sched.mem")

	st.mu.Lock()
	st.userVMX[vm.Self] = true
	st.mu.Unlock()

	simulator.Map.WithLock(vm, func() {
		// Reconfigure through the stock code path (validation, summary
		// fields); Version is not reconfigurable there, so set it directly.
		version := spec.Version
		spec.Version = ""
		ctx := st.internalCtx(&vm.Self)
		res := vm.ReconfigVMTask(ctx, &types.ReconfigVM_Task{This: vm.Self, Spec: spec})
		if f := res.Fault(); f != nil {
			log.Printf("register %s: applying the .vmx: %s", vm.Self.Value, f.String)
		}
		if version != "" {
			vm.Config.Version = version
			vm.Summary.Config.HwVersion = version
		}
		if spec.Uuid != "" {
			vm.Config.Uuid = spec.Uuid
			vm.Summary.Config.Uuid = spec.Uuid
		}
		if spec.Annotation != "" {
			vm.Summary.Config.Annotation = spec.Annotation
		}
	})
	st.applyTools(vm)
}

// allocationFrom reads sched.cpu.* or sched.mem.* entries.
func allocationFrom(values map[string]string, prefix string) *types.ResourceAllocationInfo {
	var a types.ResourceAllocationInfo
	set := false
	if v, err := strconv.ParseInt(values[prefix+".min"], 10, 64); err == nil {
		a.Reservation = &v
		set = true
	}
	if v, err := strconv.ParseInt(values[prefix+".max"], 10, 64); err == nil {
		a.Limit = &v
		set = true
	}
	if s := strings.ToLower(values[prefix+".shares"]); s != "" {
		switch s {
		case "low", "normal", "high":
			a.Shares = &types.SharesInfo{Level: types.SharesLevel(s), Shares: sharesFor(prefix, s)}
		default:
			if n, err := strconv.Atoi(s); err == nil {
				a.Shares = &types.SharesInfo{Level: types.SharesLevelCustom, Shares: int32(n)}
			}
		}
		set = a.Shares != nil || set
	}
	if !set {
		return nil
	}
	return &a
}

func sharesFor(prefix, level string) int32 {
	base := map[string]int32{"low": 500, "normal": 1000, "high": 2000}[level]
	if prefix == "sched.mem" {
		base *= 10
	}
	return base
}

var _ = fmt.Sprintf
