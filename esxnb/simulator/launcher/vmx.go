package main

// Longer than most launcher files (about 540 lines): one VMX renderer, device by device,
// with the value mappings it needs.

// Rendering of a realistic .vmx for a simulator VM (the stock files are
// empty), modelled on VMX files written by ESX 6.x/7.x.

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// vmxLines collects "key = value" entries in insertion order.
type vmxLines struct {
	b strings.Builder
}

func (v *vmxLines) set(key, value string) {
	fmt.Fprintf(&v.b, "%s = \"%s\"\n", key, value)
}

// vmxEscape escapes like VMware does: '|' and '"' and control characters
// become |XX (hex).
func vmxEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '|' || c == '"' || c < 0x20 {
			fmt.Fprintf(&b, "|%02x", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// vmwareUUID turns "421a6177-5aa9-abb7-5924-fc376c18a1b4" into VMware's
// "42 1a 61 77 5a a9 ab b7-59 24 fc 37 6c 18 a1 b4". Unparseable input is
// returned as is.
func vmwareUUID(u string) string {
	hex := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(u, "-", ""), " ", ""))
	if len(hex) != 32 {
		return u
	}
	parts := make([]string, 16)
	for i := range parts {
		parts[i] = hex[2*i : 2*i+2]
	}
	return strings.Join(parts[:8], " ") + "-" + strings.Join(parts[8:], " ")
}

// uuidFromVMware is the inverse of vmwareUUID ("" if not a UUID).
func uuidFromVMware(v string) string {
	hex := strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(v))
	if len(hex) != 32 {
		return ""
	}
	for _, c := range hex {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return ""
		}
	}
	return hex[0:8] + "-" + hex[8:12] + "-" + hex[12:16] + "-" + hex[16:20] + "-" + hex[20:32]
}

// guestOSFromID maps a vSphere guestId to the VMX guestOS value, e.g.
// otherGuest -> other, otherGuest64 -> other-64, rhel7_64Guest -> rhel7-64,
// windows9Server64Guest -> windows9srv-64.
func guestOSFromID(id string) string {
	s := strings.Replace(id, "Guest", "", 1)
	s = strings.Replace(s, "Server", "srv", 1)
	is64 := false
	if strings.HasSuffix(s, "_64") {
		s, is64 = strings.TrimSuffix(s, "_64"), true
	} else if strings.HasSuffix(s, "64") && len(s) > 2 {
		prev := s[len(s)-3]
		// "winXPPro64" and "other64" are 64-bit; "vmkernel65" is a version.
		if prev < '0' || prev > '9' {
			s, is64 = strings.TrimSuffix(s, "64"), true
		}
	}
	s = strings.ToLower(s)
	if is64 {
		s += "-64"
	}
	return s
}

// guestIDFromOS maps a VMX guestOS value back to a guestId known to the
// simulator ("" when none matches).
func guestIDFromOS(guestOS string) string {
	want := strings.ToLower(guestOS)
	for _, id := range simulator.GuestID {
		if guestOSFromID(string(id)) == want {
			return string(id)
		}
	}
	return ""
}

func sharesValue(s *types.SharesInfo) string {
	if s == nil {
		return "normal"
	}
	if s.Level == types.SharesLevelCustom || s.Level == "" {
		return strconv.Itoa(int(s.Shares))
	}
	return string(s.Level)
}

func scsiVirtualDev(dev types.BaseVirtualDevice) string {
	switch dev.(type) {
	case *types.ParaVirtualSCSIController:
		return "pvscsi"
	case *types.VirtualLsiLogicController:
		return "lsilogic"
	case *types.VirtualLsiLogicSASController:
		return "lsisas1068"
	case *types.VirtualBusLogicController:
		return "buslogic"
	}
	return ""
}

func nicVirtualDev(dev types.BaseVirtualDevice) string {
	switch dev.(type) {
	case *types.VirtualE1000:
		return "e1000"
	case *types.VirtualE1000e:
		return "e1000e"
	case *types.VirtualVmxnet3:
		return "vmxnet3"
	case *types.VirtualVmxnet2:
		return "vmxnet"
	case *types.VirtualVmxnet:
		return "vmxnet"
	case *types.VirtualPCNet32:
		return "vlance"
	}
	return "e1000"
}

// deviceFileName gives a backing file as the VMX stores it: relative when it
// sits beside the .vmx, else /vmfs/volumes/DATASTORE/PATH.
func deviceFileName(dsPath string, vmx object.DatastorePath) string {
	var p object.DatastorePath
	if !p.FromString(dsPath) {
		return dsPath
	}
	if p.Datastore == vmx.Datastore && path.Dir(p.Path) == path.Dir(vmx.Path) {
		return path.Base(p.Path)
	}
	return "/vmfs/volumes/" + p.Datastore + "/" + p.Path
}

// renderVMX builds the .vmx text of vm. The caller holds vm's lock.
func renderVMX(vm *simulator.VirtualMachine, mode string) string {
	var v vmxLines
	cfg := vm.Config
	var vmx object.DatastorePath
	vmx.FromString(cfg.Files.VmPathName)

	hw := strings.TrimPrefix(cfg.Version, "vmx-")
	if _, err := strconv.Atoi(hw); err != nil {
		hw = "13"
	}
	v.set(".encoding", "UTF-8")
	v.set("config.version", "8")
	v.set("virtualHW.version", hw)
	v.set("nvram", vmxEscape(cfg.Name)+".nvram")
	v.set("pciBridge0.present", "TRUE")
	v.set("floppy0.present", "FALSE")
	if cfg.Firmware == "efi" {
		v.set("firmware", "efi")
	}

	devices := object.VirtualDeviceList(cfg.Hardware.Device)
	byKey := map[int32]types.BaseVirtualDevice{}
	for _, d := range devices {
		byKey[d.GetVirtualDevice().Key] = d
	}

	for _, d := range devices {
		switch d.(type) {
		case *types.VirtualMachineVideoCard:
			card := d.(*types.VirtualMachineVideoCard)
			v.set("svga.present", "TRUE")
			if card.VideoRamSizeInKB > 0 {
				v.set("svga.vramSize", strconv.FormatInt(card.VideoRamSizeInKB*1024, 10))
			}
		case *types.VirtualMachineVMCIDevice:
			v.set("vmci0.present", "TRUE")
		}
	}

	v.set("numvcpus", strconv.Itoa(int(cfg.Hardware.NumCPU)))
	if cfg.Hardware.NumCoresPerSocket > 1 {
		v.set("cpuid.coresPerSocket", strconv.Itoa(int(cfg.Hardware.NumCoresPerSocket)))
	}
	v.set("memSize", strconv.Itoa(int(cfg.Hardware.MemoryMB)))

	if a := cfg.CpuAllocation; a != nil {
		v.set("sched.cpu.units", "mhz")
		if a.Reservation != nil {
			v.set("sched.cpu.min", strconv.FormatInt(*a.Reservation, 10))
		}
		if a.Limit != nil && *a.Limit >= 0 {
			v.set("sched.cpu.max", strconv.FormatInt(*a.Limit, 10))
		}
		v.set("sched.cpu.shares", sharesValue(a.Shares))
	}
	if a := cfg.MemoryAllocation; a != nil {
		if a.Reservation != nil {
			v.set("sched.mem.min", strconv.FormatInt(*a.Reservation, 10))
		}
		if a.Limit != nil && *a.Limit >= 0 {
			v.set("sched.mem.max", strconv.FormatInt(*a.Limit, 10))
		}
		v.set("sched.mem.shares", sharesValue(a.Shares))
	}

	// Controllers, then disks and CD-ROMs on them.
	var ctrls []string
	for _, d := range devices {
		switch c := d.(type) {
		case types.BaseVirtualSCSIController:
			bus := c.GetVirtualSCSIController().BusNumber
			ctrls = append(ctrls, fmt.Sprintf("scsi%d", bus))
			v.set(fmt.Sprintf("scsi%d.present", bus), "TRUE")
			v.set(fmt.Sprintf("scsi%d.sharedBus", bus), "none")
			v.set(fmt.Sprintf("scsi%d.virtualDev", bus), scsiVirtualDev(d))
		case *types.VirtualAHCIController:
			v.set(fmt.Sprintf("sata%d.present", c.BusNumber), "TRUE")
		}
	}
	_ = ctrls

	prefixOf := func(d types.BaseVirtualDevice) string {
		vd := d.GetVirtualDevice()
		ctrl, ok := byKey[vd.ControllerKey]
		if !ok || vd.UnitNumber == nil {
			return ""
		}
		switch c := ctrl.(type) {
		case types.BaseVirtualSCSIController:
			return fmt.Sprintf("scsi%d:%d", c.GetVirtualSCSIController().BusNumber, *vd.UnitNumber)
		case *types.VirtualIDEController:
			return fmt.Sprintf("ide%d:%d", c.BusNumber, *vd.UnitNumber)
		case *types.VirtualAHCIController:
			return fmt.Sprintf("sata%d:%d", c.BusNumber, *vd.UnitNumber)
		}
		return ""
	}

	for _, d := range devices {
		switch dev := d.(type) {
		case *types.VirtualDisk:
			p := prefixOf(d)
			if p == "" {
				continue
			}
			v.set(p+".present", "TRUE")
			if strings.HasPrefix(p, "scsi") {
				v.set(p+".deviceType", "scsi-hardDisk")
			} else {
				v.set(p+".deviceType", "ata-hardDisk")
			}
			if b, ok := dev.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
				v.set(p+".fileName", vmxEscape(deviceFileName(b.GetVirtualDeviceFileBackingInfo().FileName, vmx)))
			}
			if b, ok := dev.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok && b.DiskMode != "" &&
				b.DiskMode != string(types.VirtualDiskModePersistent) {
				v.set(p+".mode", strings.ReplaceAll(b.DiskMode, "_", "-"))
			}
			if strings.HasPrefix(p, "scsi") {
				v.set("sched."+p+".shares", "normal")
			}
		case *types.VirtualCdrom:
			p := prefixOf(d)
			if p == "" {
				continue
			}
			v.set(p+".present", "TRUE")
			switch b := dev.Backing.(type) {
			case *types.VirtualCdromIsoBackingInfo:
				v.set(p+".deviceType", "cdrom-image")
				v.set(p+".fileName", vmxEscape(deviceFileName(b.FileName, vmx)))
			case *types.VirtualCdromAtapiBackingInfo:
				v.set(p+".deviceType", "atapi-cdrom")
				v.set(p+".fileName", vmxEscape(b.DeviceName))
			case *types.VirtualCdromPassthroughBackingInfo:
				v.set(p+".deviceType", "cdrom-raw")
				v.set(p+".fileName", vmxEscape(b.DeviceName))
			default:
				// Client device (remote passthrough/ATAPI) or no backing.
				v.set(p+".deviceType", "cdrom-raw")
				v.set(p+".clientDevice", "TRUE")
				v.set(p+".fileName", "emptyBackingString")
			}
			if c := dev.Connectable; c != nil && !c.StartConnected {
				v.set(p+".startConnected", "FALSE")
			}
		}
	}

	nic := 0
	for _, d := range devices {
		card, ok := d.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		e := card.GetVirtualEthernetCard()
		p := fmt.Sprintf("ethernet%d", nic)
		nic++
		v.set(p+".virtualDev", nicVirtualDev(d))
		switch b := e.Backing.(type) {
		case *types.VirtualEthernetCardNetworkBackingInfo:
			v.set(p+".networkName", vmxEscape(b.DeviceName))
		case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
			v.set(p+".dvs.switchId", vmwareUUID(b.Port.SwitchUuid))
			// A real vCenter always binds the NIC to a numbered port and libvirt requires
			// dvs.portId; the demo estate binds its NICs (dvports.go), but NICs added
			// through the API keep 0.24's empty key, for which the device key stands in.
			portKey := b.Port.PortKey
			if portKey == "" {
				portKey = strconv.Itoa(int(e.Key))
			}
			v.set(p+".dvs.portId", portKey)
			v.set(p+".dvs.portgroupId", b.Port.PortgroupKey)
			v.set(p+".dvs.connectionId", strconv.Itoa(int(b.Port.ConnectionCookie)))
		}
		mac := strings.ToLower(e.MacAddress)
		switch {
		case mac == "":
			v.set(p+".addressType", "generated")
		case e.AddressType == string(types.VirtualEthernetCardMacTypeManual) || isStaticMAC(mac):
			v.set(p+".addressType", "static")
			v.set(p+".address", mac)
			if !strings.HasPrefix(mac, "00:50:56:") && !strings.HasPrefix(mac, "00:0c:29:") {
				v.set(p+".checkMACAddress", "FALSE") // ESX refuses other static MACs otherwise
			}
		case mode == "vpx" && !strings.HasPrefix(mac, "00:0c:29:"): // ESX's own range stays "generated"
			v.set(p+".addressType", "vpx")
			v.set(p+".generatedAddress", mac)
		default:
			v.set(p+".addressType", "generated")
			v.set(p+".generatedAddress", mac)
			v.set(p+".generatedAddressOffset", "0")
		}
		v.set(p+".present", "TRUE")
		if c := e.Connectable; c != nil && !c.StartConnected {
			v.set(p+".startConnected", "FALSE")
		}
	}

	v.set("displayName", vmxEscape(cfg.Name))
	v.set("guestOS", guestOSFromID(cfg.GuestId))
	if cfg.Annotation != "" {
		v.set("annotation", vmxEscape(cfg.Annotation))
	}
	v.set("uuid.bios", vmwareUUID(cfg.Uuid))
	if mode == "vpx" && cfg.InstanceUuid != "" {
		v.set("vc.uuid", vmwareUUID(cfg.InstanceUuid))
	}
	v.set("tools.syncTime", "FALSE")
	v.set("cleanShutdown", "TRUE")

	// ExtraConfig set through ReconfigVM (sorted for stable output), except
	// the simulator's own markers and keys written above.
	written := v.b.String()
	var extra []string
	for _, o := range cfg.ExtraConfig {
		ov := o.GetOptionValue()
		if ov.Key == "govcsim" || strings.HasPrefix(ov.Key, "SET.") || strings.HasPrefix(ov.Key, "RUN.") {
			continue
		}
		if strings.Contains(written, "\n"+ov.Key+" = ") || strings.HasPrefix(written, ov.Key+" = ") {
			continue
		}
		extra = append(extra, fmt.Sprintf("%s = \"%s\"\n", ov.Key, vmxEscape(fmt.Sprint(ov.Value))))
	}
	sort.Strings(extra)
	return written + strings.Join(extra, "")
}

// isStaticMAC: 00:50:56:00:00:00 - 00:50:56:3f:ff:ff is VMware's manual range.
func isStaticMAC(mac string) bool {
	if !strings.HasPrefix(mac, "00:50:56:") || len(mac) < 11 {
		return false
	}
	b, err := strconv.ParseUint(mac[9:11], 16, 8)
	return err == nil && b <= 0x3f
}

// vmxPath returns the local path of vm's .vmx. The caller holds vm's lock.
func vmxPath(vm *simulator.VirtualMachine, datastoreDir func(types.ManagedObjectReference, string) string) (string, error) {
	var p object.DatastorePath
	if vm.Config == nil || !p.FromString(vm.Config.Files.VmPathName) {
		return "", fmt.Errorf("%s: no vmPathName", vm.Self.Value)
	}
	dir := datastoreDir(vm.Self, p.Datastore)
	if dir == "" {
		return "", fmt.Errorf("%s: datastore %q not found", vm.Self.Value, p.Datastore)
	}
	return filepath.Join(dir, filepath.FromSlash(p.Path)), nil
}

// patchedKeys are the entries the API can change in a client's .vmx.
var patchedKeys = map[string]bool{
	"displayname": true, "memsize": true, "numvcpus": true, "cpuid.corespersocket": true,
	"guestos": true, "annotation": true, "uuid.bios": true,
	"sched.cpu.min": true, "sched.cpu.max": true, "sched.cpu.shares": true, "sched.cpu.units": true,
	"sched.mem.min": true, "sched.mem.max": true, "sched.mem.shares": true,
}

// parseVMXLines splits VMX text into (key, value) pairs in order; lines that
// are not entries are kept with an empty key.
func parseVMXLines(text string) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		eq := strings.Index(line, "=")
		trimmed := strings.TrimSpace(line)
		if eq < 0 || strings.HasPrefix(trimmed, "#") {
			out = append(out, [2]string{"", line})
			continue
		}
		key := strings.TrimSpace(line[:eq])
		val := strings.TrimSpace(line[eq+1:])
		val = strings.TrimSuffix(strings.TrimPrefix(val, "\""), "\"")
		out = append(out, [2]string{key, val})
	}
	return out
}

// patchVMX applies to a client's .vmx (old) the changes of the patchable
// keys between two renderings of the VM (before and after an API change),
// keeping every other entry and the order of old.
func patchVMX(old, before, after string) string {
	pick := func(text string) map[string][2]string {
		out := map[string][2]string{}
		for _, kv := range parseVMXLines(text) {
			if lk := strings.ToLower(kv[0]); patchedKeys[lk] {
				out[lk] = kv
			}
		}
		return out
	}
	b4, now := pick(before), pick(after)
	changed := map[string]bool{}
	for k, kv := range now {
		if b4[k][1] != kv[1] {
			changed[k] = true
		}
	}
	for k := range b4 {
		if _, ok := now[k]; !ok {
			changed[k] = true
		}
	}
	var b strings.Builder
	done := map[string]bool{}
	for _, kv := range parseVMXLines(old) {
		lk := strings.ToLower(kv[0])
		switch {
		case kv[0] == "":
			b.WriteString(kv[1] + "\n")
		case !changed[lk]:
			fmt.Fprintf(&b, "%s = \"%s\"\n", kv[0], kv[1])
		case !done[lk]:
			done[lk] = true
			if nkv, ok := now[lk]; ok {
				fmt.Fprintf(&b, "%s = \"%s\"\n", kv[0], nkv[1])
			}
		}
	}
	for _, kv := range parseVMXLines(after) {
		lk := strings.ToLower(kv[0])
		if changed[lk] && !done[lk] {
			fmt.Fprintf(&b, "%s = \"%s\"\n", kv[0], kv[1])
			done[lk] = true
		}
	}
	return b.String()
}

// fixModelCdrom repairs the stock model's VMs, whose CD-ROM sits on the SCSI
// controller at the disk's unit: it moves it to the first free IDE slot
// with a client-device backing, as a VM created in the vSphere client has.
// The caller holds vm's lock.
func fixModelCdrom(vm *simulator.VirtualMachine) {
	devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
	used := map[[2]int32]bool{}
	for _, d := range devices {
		vd := d.GetVirtualDevice()
		if _, ok := d.(*types.VirtualCdrom); ok || vd.UnitNumber == nil {
			continue
		}
		used[[2]int32{vd.ControllerKey, *vd.UnitNumber}] = true
	}
	for _, d := range devices {
		cd, ok := d.(*types.VirtualCdrom)
		if !ok {
			continue
		}
		ctrl := devices.FindByKey(cd.ControllerKey)
		if _, onIDE := ctrl.(*types.VirtualIDEController); onIDE && cd.UnitNumber != nil && !used[[2]int32{cd.ControllerKey, *cd.UnitNumber}] {
			continue
		}
		if sc, ok := ctrl.(types.BaseVirtualController); ok {
			c := sc.GetVirtualController()
			var keep []int32
			for _, k := range c.Device {
				if k != cd.Key {
					keep = append(keep, k)
				}
			}
			c.Device = keep
		}
	place:
		for _, key := range []int32{201, 200} {
			ide, ok := devices.FindByKey(key).(*types.VirtualIDEController)
			if !ok {
				continue
			}
			for unit := int32(0); unit < 2; unit++ {
				if !used[[2]int32{key, unit}] {
					u := unit
					cd.ControllerKey = key
					cd.UnitNumber = &u
					ide.Device = append(ide.Device, cd.Key)
					used[[2]int32{key, unit}] = true
					break place
				}
			}
		}
		cd.Backing = &types.VirtualCdromRemotePassthroughBackingInfo{
			VirtualDeviceRemoteDeviceBackingInfo: types.VirtualDeviceRemoteDeviceBackingInfo{DeviceName: ""},
		}
		cd.Connectable = &types.VirtualDeviceConnectInfo{StartConnected: false, AllowGuestControl: true, Status: "untried"}
	}
}
