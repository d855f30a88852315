package main

// Longer than the launcher's other files (about 770 lines) because it is one whole
// subsystem: descriptors, extents, locking and the five disk manager calls share them.

// Virtual disks as a real host keeps them. govmomi 0.24's VirtualDiskManager
// creates two empty files and forgets the spec; here every disk is a VMware
// descriptor (<name>.vmdk: createType, extents, ddb.adapterType,
// ddb.thinProvisioned, ddb.uuid) plus its flat extent (<name>-flat.vmdk:
// empty for thin disks, a sparse file of the full capacity otherwise), so
// capacities, provisioning, adapters and UUIDs read back as written:
//
//   - CreateVirtualDisk_Task checks the name (.vmdk), the directory, the
//     capacity, diskType and adapterType, and never overwrites a disk;
//   - CopyVirtualDisk_Task copies descriptor and extents (sparse-aware), gives
//     the copy its own UUID, and applies destSpec (none: preallocated +
//     busLogic, as the API documents);
//   - DeleteVirtualDisk_Task removes the descriptor and every extent it names
//     (0.24 fails on disks without a -flat file);
//   - ZeroFillVirtualDisk_Task (missing in 0.24) zeroes every extent;
//   - delete and zero-fill of a disk a powered-on VM uses fail with FileLocked;
//   - QueryVirtualDiskUuid / SetVirtualDiskUuid read and write ddb.uuid;
//   - the model's VM disks get descriptors matching their devices at start.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	ownMethods["CreateVirtualDisk_Task"] = (*state).createVirtualDisk
	ownMethods["CopyVirtualDisk_Task"] = (*state).copyVirtualDisk
	ownMethods["DeleteVirtualDisk_Task"] = (*state).deleteVirtualDisk
	ownMethods["ZeroFillVirtualDisk_Task"] = (*state).zeroFillVirtualDisk
	ownMethods["QueryVirtualDiskUuid"] = (*state).queryVirtualDiskUUID
	ownMethods["SetVirtualDiskUuid"] = (*state).setVirtualDiskUUID
}

// diskTypes are the VirtualDiskType values a VMFS datastore takes.
var diskTypes = map[string]bool{"preallocated": true, "thin": true, "thick": true, "eagerZeroedThick": true}

// adapterDDB maps VirtualDiskAdapterType to ddb.adapterType.
var adapterDDB = map[string]string{
	"ide": "ide", "busLogic": "buslogic", "lsiLogic": "lsilogic", "lsiLogicsas": "lsisas1068", "pvscsi": "pvscsi",
}

// controllerTypes maps ddb.adapterType to VmDiskFileInfo.controllerType.
var controllerTypes = map[string]string{
	"ide": "VirtualIDEController", "buslogic": "VirtualBusLogicController", "lsilogic": "VirtualLsiLogicController",
	"lsisas1068": "VirtualLsiLogicSASController", "pvscsi": "ParaVirtualSCSIController",
}

type diskExtent struct {
	access  string
	sectors int64
	kind    string
	file    string
}

type diskDescriptor struct {
	createType string
	extents    []diskExtent
	ddb        map[string]string
}

// parseDescriptor reads a VMware disk descriptor; nil when text is not one.
func parseDescriptor(text []byte) *diskDescriptor {
	if !bytes.Contains(text, []byte("createType")) && !bytes.Contains(text, []byte("RW ")) {
		return nil
	}
	d := &diskDescriptor{ddb: map[string]string{}}
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) >= 4 && (fields[0] == "RW" || fields[0] == "RDONLY" || fields[0] == "NOACCESS") {
			sectors, _ := strconv.ParseInt(fields[1], 10, 64)
			file := strings.Trim(strings.Join(fields[3:], " "), `"`)
			if len(fields) >= 5 && !strings.HasPrefix(fields[3], `"`) {
				file = strings.Trim(strings.Join(fields[4:], " "), `"`)
			}
			d.extents = append(d.extents, diskExtent{access: fields[0], sectors: sectors, kind: fields[2], file: file})
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.Trim(strings.TrimSpace(value), `"`)
		if key == "createType" {
			d.createType = value
		} else if strings.HasPrefix(key, "ddb.") {
			d.ddb[key] = value
		}
	}
	return d
}

func (d *diskDescriptor) render() []byte {
	var b strings.Builder
	b.WriteString("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\n")
	fmt.Fprintf(&b, "CID=%s\nparentCID=ffffffff\ncreateType=%q\n\n# Extent description\n", randomHex(4), d.createType)
	for _, e := range d.extents {
		fmt.Fprintf(&b, "%s %d %s %q\n", e.access, e.sectors, e.kind, e.file)
	}
	b.WriteString("\n# The Disk Data Base\n#DDB\n\n")
	keys := make([]string, 0, len(d.ddb))
	for k := range d.ddb {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %q\n", k, d.ddb[k])
	}
	return []byte(b.String())
}

func (d *diskDescriptor) capacityKB() int64 {
	var sectors int64
	for _, e := range d.extents {
		sectors += e.sectors
	}
	return sectors / 2
}

func (d *diskDescriptor) thin() bool { return d.ddb["ddb.thinProvisioned"] == "1" }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// vmwareUUIDText formats 16 bytes as ESX writes ddb.uuid: "60 00 C2 9b ... 7b 10-5a 8f ...".
func vmwareUUIDText(b []byte) string {
	parts := make([]string, 16)
	for i, c := range b[:16] {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts[:8], " ") + "-" + strings.Join(parts[8:], " ")
}

// newDiskUUID is a fresh disk UUID with VMware's 60 00 C2 prefix.
func newDiskUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[0], b[1], b[2] = 0x60, 0x00, 0xC2
	return vmwareUUIDText(b)
}

// newDescriptor describes a flat VMFS disk of capacityKB in extent flat.
func newDescriptor(flat string, capacityKB int64, diskType, adapterDDBValue string) *diskDescriptor {
	sectors := capacityKB * 2
	cylinders := sectors / (255 * 63)
	if cylinders < 1 {
		cylinders = 1
	}
	d := &diskDescriptor{
		createType: "vmfs",
		extents:    []diskExtent{{access: "RW", sectors: sectors, kind: "VMFS", file: flat}},
		ddb: map[string]string{
			"ddb.adapterType":        adapterDDBValue,
			"ddb.geometry.cylinders": strconv.FormatInt(cylinders, 10),
			"ddb.geometry.heads":     "255",
			"ddb.geometry.sectors":   "63",
			"ddb.uuid":               newDiskUUID(),
			"ddb.virtualHWVersion":   "13",
		},
	}
	if diskType == "thin" {
		d.ddb["ddb.thinProvisioned"] = "1"
	}
	return d
}

// flatName is the extent name of descriptor file ("disk.vmdk" -> "disk-flat.vmdk").
func flatName(file string) string {
	return strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)) + "-flat.vmdk"
}

// diskFile resolves "[ds] dir/disk.vmdk" in datacenter dc (nil: search all).
func (st *state) diskFile(dc *types.ManagedObjectReference, name string) (string, types.BaseMethodFault) {
	var p object.DatastorePath
	if !p.FromString(name) || p.Path == "" {
		return "", &types.InvalidDatastorePath{DatastorePath: name}
	}
	if dc != nil {
		if file, ok := st.localPath(*dc, name); ok {
			return file, nil
		}
		return "", &types.InvalidDatastore{Name: p.Datastore}
	}
	ds := datastoreByName(p.Datastore)
	if ds == nil {
		return "", &types.InvalidDatastore{Name: p.Datastore}
	}
	return filepath.Join(ds.Info.GetDatastoreInfo().Url, filepath.FromSlash(p.Path)), nil
}

func fileFault(f types.BaseFileFault, name string) types.BaseMethodFault {
	f.GetFileFault().File = name
	return f.(types.BaseMethodFault)
}

// readDisk reads the descriptor of an existing disk (nil descriptor: an
// empty or foreign file, handled as a single extent-less file).
func readDisk(file, name string) (*diskDescriptor, types.BaseMethodFault) {
	data, err := os.ReadFile(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fileFault(new(types.FileNotFound), name)
		}
		return nil, fileFault(new(types.CannotAccessFile), name)
	}
	return parseDescriptor(data), nil
}

// extentFiles are the local files of a disk: its extents and the descriptor.
func extentFiles(file string, d *diskDescriptor) []string {
	var files []string
	if d != nil {
		for _, e := range d.extents {
			files = append(files, filepath.Join(filepath.Dir(file), e.file))
		}
	} else if flat := filepath.Join(filepath.Dir(file), flatName(file)); fileExists(flat) {
		files = append(files, flat)
	}
	return append(files, file)
}

func fileExists(file string) bool {
	_, err := os.Stat(file)
	return err == nil
}

// lockedBy names a powered-on VM whose disk is name (in dc), or "".
func lockedBy(dc *types.ManagedObjectReference, name string) string {
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		if dc != nil {
			if vdc := datacenterOf(vm.Self); vdc != nil && vdc.Self != *dc {
				continue
			}
		}
		user := ""
		simulator.Map.WithLock(vm, func() {
			if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || vm.Config == nil {
				return
			}
			for _, dev := range vm.Config.Hardware.Device {
				if disk, ok := dev.(*types.VirtualDisk); ok {
					if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok &&
						b.GetVirtualDeviceFileBackingInfo().FileName == name {
						user = vm.Name
					}
				}
			}
		})
		if user != "" {
			return user
		}
	}
	return ""
}

func lockedFault(dc *types.ManagedObjectReference, name string) (types.BaseMethodFault, string) {
	if vm := lockedBy(dc, name); vm != "" {
		return fileFault(new(types.FileLocked), name),
			fmt.Sprintf("Unable to access file %s since it is locked (in use by the powered-on VM %s)", name, vm)
	}
	return nil, ""
}

// ownTask answers a *_Task method with a launcher task running work: at
// once, or slowly with progress and CancelTask when a task behaviour is set.
func (st *state) ownTask(w http.ResponseWriter, obj types.ManagedObjectReference, method string,
	work func() (types.AnyType, types.BaseMethodFault, string)) {
	ref := simulator.Map.Get(obj)
	b, slow := st.rules.behaviour(method)
	at := st.startTask(ref, method, slow)
	writeTaskRef(w, method, at.task.Self)
	run := func() {
		result, fault, message := work()
		st.finish(at, result, fault, message)
	}
	if !slow {
		run()
		return
	}
	go func() {
		steps := b.Steps
		if steps < 1 {
			steps = 1
		}
		for i := 1; i <= steps; i++ {
			select {
			case <-at.cancelled:
				return
			case <-time.After(b.Duration / time.Duration(steps)):
			}
			if i < steps {
				at.progress(int32(i * 100 / steps))
			}
		}
		claimed := false
		at.once.Do(func() { claimed = true })
		if claimed {
			simulator.Map.Update(at.task, []types.PropertyChange{{Name: "info.cancelable", Val: false}})
			run()
		}
	}()
}

func decode(w http.ResponseWriter, body []byte) (interface{}, bool) {
	m, err := simulator.UnmarshalBody(types.TypeFunc(), body)
	if err != nil {
		writeFault(w, &types.InvalidRequest{}, err.Error())
		return nil, false
	}
	return m.Body, true
}

func (st *state) createVirtualDisk(w http.ResponseWriter, call *soapCall, body []byte) {
	v, ok := decode(w, body)
	if !ok {
		return
	}
	req := v.(*types.CreateVirtualDisk_Task)
	st.ownTask(w, call.This, call.Method, func() (types.AnyType, types.BaseMethodFault, string) {
		spec, ok := req.Spec.(*types.FileBackedVirtualDiskSpec)
		if !ok {
			return nil, &types.NotSupported{}, "Only file-backed virtual disks can be created."
		}
		if !strings.HasSuffix(strings.ToLower(req.Name), ".vmdk") {
			return nil, &types.InvalidArgument{InvalidProperty: "name"}, fmt.Sprintf("Invalid disk name %s: expecting a .vmdk file.", req.Name)
		}
		if spec.CapacityKb <= 0 {
			return nil, &types.InvalidArgument{InvalidProperty: "spec.capacityKb"}, fmt.Sprintf("Invalid capacity %d KB.", spec.CapacityKb)
		}
		if !diskTypes[spec.DiskType] {
			return nil, &types.InvalidArgument{InvalidProperty: "spec.diskType"},
				fmt.Sprintf("Unsupported disk type %q (a VMFS datastore takes preallocated, thin, thick, eagerZeroedThick).", spec.DiskType)
		}
		adapter, ok := adapterDDB[spec.AdapterType]
		if !ok {
			return nil, &types.InvalidArgument{InvalidProperty: "spec.adapterType"},
				fmt.Sprintf("Unsupported adapter type %q (ide, busLogic, lsiLogic, lsiLogicsas, pvscsi).", spec.AdapterType)
		}
		file, fault := st.diskFile(req.Datacenter, req.Name)
		if fault != nil {
			return nil, fault, ""
		}
		return st.writeNewDisk(file, req.Name, newDescriptor(flatName(file), spec.CapacityKb, spec.DiskType, adapter), nil)
	})
}

// writeNewDisk writes descriptor d and its extent for file, which must not
// exist; copyFrom (optional) is the source extent to copy.
func (st *state) writeNewDisk(file, name string, d *diskDescriptor, copyFrom []string) (types.AnyType, types.BaseMethodFault, string) {
	if info, err := os.Stat(filepath.Dir(file)); err != nil || !info.IsDir() {
		dir := name[:strings.LastIndex(name, "/")+1]
		if !strings.Contains(name, "/") {
			dir = name
		}
		return nil, fileFault(new(types.FileNotFound), dir), fmt.Sprintf("The directory of %s was not found.", name)
	}
	targets := extentFiles(file, d)
	for _, f := range targets {
		if fileExists(f) {
			return nil, fileFault(new(types.FileAlreadyExists), name), fmt.Sprintf("Cannot complete the operation because the file or folder %s already exists", name)
		}
	}
	capacity := d.capacityKB() * 1024
	for i, f := range targets[:len(targets)-1] {
		var err error
		if i < len(copyFrom) {
			err = sparseCopy(copyFrom[i], f)
		} else {
			err = os.WriteFile(f, nil, 0o600)
		}
		if err == nil && !d.thin() {
			err = growTo(f, capacity/int64(len(targets)-1))
		}
		if err != nil {
			removeAll(targets)
			return nil, fileFault(new(types.CannotCreateFile), name), err.Error()
		}
	}
	if err := os.WriteFile(file, d.render(), 0o600); err != nil {
		removeAll(targets)
		return nil, fileFault(new(types.CannotCreateFile), name), err.Error()
	}
	return name, nil, ""
}

func growTo(file string, size int64) error {
	info, err := os.Stat(file)
	if err != nil || info.Size() >= size {
		return err
	}
	return os.Truncate(file, size)
}

func removeAll(files []string) {
	for _, f := range files {
		_ = os.Remove(f)
	}
}

// sparseCopy copies src to dst, seeking over zero blocks so thick disks
// stay sparse on the simulator's file system.
func sparseCopy(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	buf := make([]byte, 64*1024)
	var size int64
	for {
		n, err := in.Read(buf)
		if n > 0 {
			if bytes.Count(buf[:n], []byte{0}) == n {
				if _, serr := out.Seek(int64(n), io.SeekCurrent); serr != nil {
					return serr
				}
			} else if _, werr := out.Write(buf[:n]); werr != nil {
				return werr
			}
			size += int64(n)
		}
		if err == io.EOF {
			return out.Truncate(size)
		}
		if err != nil {
			return err
		}
	}
}

func (st *state) copyVirtualDisk(w http.ResponseWriter, call *soapCall, body []byte) {
	v, ok := decode(w, body)
	if !ok {
		return
	}
	req := v.(*types.CopyVirtualDisk_Task)
	st.ownTask(w, call.This, call.Method, func() (types.AnyType, types.BaseMethodFault, string) {
		src, fault := st.diskFile(req.SourceDatacenter, req.SourceName)
		if fault != nil {
			return nil, fault, ""
		}
		dcDest := req.DestDatacenter
		if dcDest == nil {
			dcDest = req.SourceDatacenter
		}
		dst, fault := st.diskFile(dcDest, req.DestName)
		if fault != nil {
			return nil, fault, ""
		}
		if !strings.HasSuffix(strings.ToLower(req.DestName), ".vmdk") {
			return nil, &types.InvalidArgument{InvalidProperty: "destName"}, fmt.Sprintf("Invalid disk name %s: expecting a .vmdk file.", req.DestName)
		}
		sd, fault := readDisk(src, req.SourceName)
		if fault != nil {
			return nil, fault, ""
		}
		if sd == nil {
			sd = newDescriptor(flatName(src), 0, "thin", "lsilogic")
		}
		diskType, adapter := "preallocated", "buslogic"
		if spec := req.DestSpec; spec != nil {
			base := spec.GetVirtualDiskSpec()
			if !diskTypes[base.DiskType] {
				return nil, &types.InvalidArgument{InvalidProperty: "destSpec.diskType"},
					fmt.Sprintf("Unsupported disk type %q (preallocated, thin, thick, eagerZeroedThick).", base.DiskType)
			}
			if adapter, ok = adapterDDB[base.AdapterType]; !ok {
				return nil, &types.InvalidArgument{InvalidProperty: "destSpec.adapterType"},
					fmt.Sprintf("Unsupported adapter type %q (ide, busLogic, lsiLogic, lsiLogicsas, pvscsi).", base.AdapterType)
			}
			diskType = base.DiskType
		}
		d := newDescriptor(flatName(dst), sd.capacityKB(), diskType, adapter)
		var sources []string
		for _, f := range extentFiles(src, sd) {
			if f != src && fileExists(f) {
				sources = append(sources, f)
			}
		}
		if req.Force != nil && *req.Force {
			removeAll(extentFiles(dst, parseDescriptorFile(dst)))
		}
		return st.writeNewDisk(dst, req.DestName, d, sources)
	})
}

func parseDescriptorFile(file string) *diskDescriptor {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	return parseDescriptor(data)
}

// openDisk resolves and reads an existing disk (locked: refused while a
// powered-on VM uses it); a non-nil fault comes with its message.
func (st *state) openDisk(dc *types.ManagedObjectReference, name string, locked bool) (string, *diskDescriptor, types.BaseMethodFault, string) {
	file, fault := st.diskFile(dc, name)
	if fault != nil {
		return "", nil, fault, faultName(fault)
	}
	d, fault := readDisk(file, name)
	if fault != nil {
		return "", nil, fault, fmt.Sprintf("File %s was not found", name)
	}
	if locked {
		if fault, message := lockedFault(dc, name); fault != nil {
			return "", nil, fault, message
		}
	}
	return file, d, nil, ""
}

// diskTask runs work on an existing, unlocked disk as a task of call.
func (st *state) diskTask(w http.ResponseWriter, call *soapCall, dc *types.ManagedObjectReference, name string,
	work func(file string, d *diskDescriptor) (types.BaseMethodFault, string)) {
	st.ownTask(w, call.This, call.Method, func() (types.AnyType, types.BaseMethodFault, string) {
		file, d, fault, message := st.openDisk(dc, name, true)
		if fault == nil {
			fault, message = work(file, d)
		}
		return nil, fault, message
	})
}

func (st *state) deleteVirtualDisk(w http.ResponseWriter, call *soapCall, body []byte) {
	v, ok := decode(w, body)
	if !ok {
		return
	}
	req := v.(*types.DeleteVirtualDisk_Task)
	st.diskTask(w, call, req.Datacenter, req.Name, func(file string, d *diskDescriptor) (types.BaseMethodFault, string) {
		for _, f := range extentFiles(file, d) {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
				return fileFault(new(types.CannotDeleteFile), req.Name), err.Error()
			}
		}
		return nil, ""
	})
}

func (st *state) zeroFillVirtualDisk(w http.ResponseWriter, call *soapCall, body []byte) {
	v, ok := decode(w, body)
	if !ok {
		return
	}
	req := v.(*types.ZeroFillVirtualDisk_Task)
	st.diskTask(w, call, req.Datacenter, req.Name, func(file string, d *diskDescriptor) (types.BaseMethodFault, string) {
		for _, f := range extentFiles(file, d) {
			if f == file {
				continue
			}
			info, err := os.Stat(f)
			if err == nil {
				err = os.Truncate(f, 0)
			}
			if err == nil {
				err = os.Truncate(f, info.Size())
			}
			if err != nil {
				return fileFault(new(types.CannotAccessFile), req.Name), err.Error()
			}
		}
		return nil, ""
	})
}

// diskUUID is the ddb.uuid of a disk (or the stock simulator's stand-in).
func diskUUID(file string, d *diskDescriptor) string {
	if d != nil && d.ddb["ddb.uuid"] != "" {
		return d.ddb["ddb.uuid"]
	}
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(file)).String()
}

func (st *state) queryVirtualDiskUUID(w http.ResponseWriter, call *soapCall, body []byte) {
	v, ok := decode(w, body)
	if !ok {
		return
	}
	req := v.(*types.QueryVirtualDiskUuid)
	file, d, fault, message := st.openDisk(req.Datacenter, req.Name, false)
	if fault != nil {
		writeFault(w, fault, message)
		return
	}
	writeReturn(w, call.Method, "xsd:string", diskUUID(file, d))
}

func (st *state) setVirtualDiskUUID(w http.ResponseWriter, call *soapCall, body []byte) {
	v, ok := decode(w, body)
	if !ok {
		return
	}
	req := v.(*types.SetVirtualDiskUuid)
	file, d, fault, message := st.openDisk(req.Datacenter, req.Name, false)
	if fault == nil && d == nil {
		fault, message = fileFault(new(types.CannotAccessFile), req.Name), req.Name+" is not a virtual disk"
	}
	if fault != nil {
		writeFault(w, fault, message)
		return
	}
	raw, err := hex.DecodeString(strings.NewReplacer(" ", "", "-", "").Replace(req.Uuid))
	if err != nil || len(raw) != 16 {
		writeFault(w, &types.InvalidArgument{InvalidProperty: "uuid"}, fmt.Sprintf("Invalid UUID %q.", req.Uuid))
		return
	}
	d.ddb["ddb.uuid"] = vmwareUUIDText(raw)
	if err := os.WriteFile(file, d.render(), 0o600); err != nil {
		writeFault(w, fileFault(new(types.CannotAccessFile), req.Name), err.Error())
		return
	}
	writeVoid(w, call.Method)
}

// prepareDisks gives every VM disk without a descriptor one that matches
// its device (capacity, provisioning, controller, backing UUID).
func (st *state) prepareDisks(vm *simulator.VirtualMachine) {
	var todo []struct {
		name string
		d    *diskDescriptor
	}
	simulator.Map.WithLock(vm, func() {
		if vm.Config == nil {
			return
		}
		for _, dev := range vm.Config.Hardware.Device {
			disk, ok := dev.(*types.VirtualDisk)
			if !ok {
				continue
			}
			b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
			if !ok {
				continue
			}
			diskType := "preallocated"
			if b.ThinProvisioned != nil && *b.ThinProvisioned {
				diskType = "thin"
			} else if b.EagerlyScrub != nil && *b.EagerlyScrub {
				diskType = "eagerZeroedThick"
			}
			adapter := "lsilogic"
			for _, c := range vm.Config.Hardware.Device {
				if c.GetVirtualDevice().Key == disk.ControllerKey {
					adapter = controllerDDB(c)
				}
			}
			d := newDescriptor(flatName(b.FileName), disk.CapacityInKB, diskType, adapter)
			if u, err := uuid.Parse(b.Uuid); err == nil {
				d.ddb["ddb.uuid"] = vmwareUUIDText(u[:])
			}
			todo = append(todo, struct {
				name string
				d    *diskDescriptor
			}{b.FileName, d})
		}
	})
	for _, t := range todo {
		file, ok := st.localPath(vm.Self, t.name)
		if !ok {
			continue
		}
		if info, err := os.Stat(file); err != nil || info.Size() > 0 {
			continue // missing, or already a descriptor
		}
		flat := filepath.Join(filepath.Dir(file), t.d.extents[0].file)
		if !fileExists(flat) {
			_ = os.WriteFile(flat, nil, 0o600)
		}
		if !t.d.thin() {
			_ = growTo(flat, t.d.capacityKB()*1024)
		}
		_ = os.WriteFile(file, t.d.render(), 0o600)
	}
}

func controllerDDB(dev types.BaseVirtualDevice) string {
	switch dev.(type) {
	case *types.VirtualIDEController:
		return "ide"
	case *types.VirtualBusLogicController:
		return "buslogic"
	case *types.VirtualLsiLogicSASController:
		return "lsisas1068"
	case *types.ParaVirtualSCSIController:
		return "pvscsi"
	}
	return "lsilogic"
}

// mountEveryHost lists every host that has a datastore in the datastore's
// host property, as vCenter does; 0.24 keeps only the last host added (so
// libvirt finds no mount of LocalDS_0 on any other host of a vCenter).
func mountEveryHost() {
	for _, e := range simulator.Map.All("HostSystem") {
		host := e.(*simulator.HostSystem)
		for _, ref := range host.Datastore {
			ds, ok := simulator.Map.Get(ref).(*simulator.Datastore)
			if !ok {
				continue
			}
			mounted := false
			for _, m := range ds.Host {
				mounted = mounted || m.Key == host.Self
			}
			if !mounted {
				yes := true
				ds.Host = append(ds.Host, types.DatastoreHostMount{
					Key: host.Self,
					MountInfo: types.HostMountInfo{
						AccessMode: string(types.HostMountModeReadWrite),
						Mounted:    &yes,
						Accessible: &yes,
					},
				})
			}
		}
	}
}

// prepareStorage runs once after Create(): datastore mount paths (0.24
// leaves host[].mountInfo.path empty; libvirt derives pool UUIDs and the
// /vmfs/volumes/... file names of VMX files from it) become
// "/vmfs/volumes/<datastore name>", and the model's VM disks get descriptors.
func (st *state) prepareStorage() {
	mountEveryHost()
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		for i := range ds.Host {
			if ds.Host[i].MountInfo.Path == "" {
				ds.Host[i].MountInfo.Path = "/vmfs/volumes/" + ds.Name
			}
		}
	}
	for _, e := range simulator.Map.All("VirtualMachine") {
		st.prepareDisks(e.(*simulator.VirtualMachine))
	}
}
