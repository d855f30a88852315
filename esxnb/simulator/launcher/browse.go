package main

// HostDatastoreBrowser searches as a real host answers them. govmomi 0.24
// matches nothing when matchPattern is empty (a real host matches every
// file), writes folder paths as "[ds]/dir", lets VmDiskFileQuery match
// extents other than -flat, and leaves VmDiskFileInfo without capacityKb,
// thin, controllerType, diskType or diskExtents. Here:
//
//   - an empty matchPattern matches everything; searchCaseInsensitive works;
//   - folderPath is "[ds]" for the searched folder's root and "[ds] dir/" below;
//   - VmDiskFileQuery matches disk descriptors only, and its details come
//     from the descriptor (see vdisk.go); fileSize counts the extents too;
//   - without any query every file is listed, typed by extension when
//     details.fileType is set.

import (
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	ownMethods["SearchDatastore_Task"] = (*state).searchDatastore
	ownMethods["SearchDatastoreSubFolders_Task"] = (*state).searchDatastore
}

// extentSuffixes mark the data files of a disk, never matched as disks.
var extentSuffixes = []string{"-flat.vmdk", "-delta.vmdk", "-ctk.vmdk", "-sesparse.vmdk", "-rdm.vmdk", "-rdmp.vmdk"}

func isDiskDescriptor(name string) bool {
	if !strings.HasSuffix(strings.ToLower(name), ".vmdk") {
		return false
	}
	for _, s := range extentSuffixes {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}

type browserSearch struct {
	spec   *types.HostDatastoreBrowserSearchSpec
	ds     *simulator.Datastore
	dsName string
	res    []types.HostDatastoreBrowserSearchResults
}

func (st *state) searchDatastore(w http.ResponseWriter, call *soapCall, body []byte) {
	v, ok := decode(w, body)
	if !ok {
		return
	}
	var dsPath string
	var spec *types.HostDatastoreBrowserSearchSpec
	recurse := false
	switch req := v.(type) {
	case *types.SearchDatastore_Task:
		dsPath, spec = req.DatastorePath, req.SearchSpec
	case *types.SearchDatastoreSubFolders_Task:
		dsPath, spec, recurse = req.DatastorePath, req.SearchSpec, true
	}
	if spec == nil {
		spec = &types.HostDatastoreBrowserSearchSpec{}
	}
	browser, _ := simulator.Map.Get(call.This).(*simulator.HostDatastoreBrowser)
	var p object.DatastorePath
	if browser == nil || !p.FromString(dsPath) {
		writeFault(w, &types.InvalidDatastorePath{DatastorePath: dsPath}, "Invalid datastore path '"+dsPath+"'.")
		return
	}
	ds, _ := simulator.Map.FindByName(p.Datastore, browser.Datastore).(*simulator.Datastore)
	if ds == nil {
		writeFault(w, &types.InvalidDatastore{Name: p.Datastore}, "Invalid datastore '"+p.Datastore+"'.")
		return
	}
	st.ownTask(w, ds.Self, call.Method, func() (types.AnyType, types.BaseMethodFault, string) {
		s := &browserSearch{spec: spec, ds: ds, dsName: p.Datastore}
		root := filepath.Join(ds.Info.GetDatastoreInfo().Url, filepath.FromSlash(p.Path))
		if info, err := os.Stat(root); err != nil || !info.IsDir() {
			return nil, fileFault(new(types.FileNotFound), dsPath), "File " + dsPath + " was not found"
		}
		s.search(root, strings.Trim(p.Path, "/"), recurse)
		if recurse {
			return types.ArrayOfHostDatastoreBrowserSearchResults{HostDatastoreBrowserSearchResults: s.res}, nil, ""
		}
		return s.res[0], nil, ""
	})
}

func (s *browserSearch) folderPath(rel string) string {
	if rel == "" {
		return "[" + s.dsName + "]"
	}
	return "[" + s.dsName + "] " + rel + "/"
}

func (s *browserSearch) search(dir, rel string, recurse bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	res := types.HostDatastoreBrowserSearchResults{Datastore: &s.ds.Self, FolderPath: s.folderPath(rel)}
	var subdirs []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		if s.matchesPattern(e.Name()) {
			if fi := s.fileInfo(dir, info); fi != nil {
				res.File = append(res.File, fi)
			}
		}
		if e.IsDir() {
			subdirs = append(subdirs, e.Name())
		}
	}
	s.res = append(s.res, res)
	if recurse {
		for _, name := range subdirs {
			s.search(filepath.Join(dir, name), strings.TrimPrefix(rel+"/"+name, "/"), true)
		}
	}
}

func (s *browserSearch) matchesPattern(name string) bool {
	patterns := s.spec.MatchPattern
	if len(patterns) == 0 {
		return true
	}
	fold := s.spec.SearchCaseInsensitive != nil && *s.spec.SearchCaseInsensitive
	for _, pattern := range patterns {
		if fold {
			pattern, name = strings.ToLower(pattern), strings.ToLower(name)
		}
		if ok, _ := path.Match(pattern, name); ok {
			return true
		}
	}
	return false
}

// fileInfo is the answer for one file, or nil when no query takes it.
func (s *browserSearch) fileInfo(dir string, info os.FileInfo) types.BaseFileInfo {
	details := s.spec.Details
	if details == nil {
		details = &types.FileQueryFlags{}
	}
	name := info.Name()
	base := types.FileInfo{Path: name}
	if details.FileSize {
		base.FileSize = info.Size()
	}
	if details.Modification {
		mtime := info.ModTime()
		base.Modification = &mtime
	}
	if details.FileOwner != nil && *details.FileOwner {
		base.Owner = "root"
	}
	ext := strings.ToLower(path.Ext(name))
	if len(s.spec.Query) == 0 {
		if !details.FileType {
			return &base
		}
		return typedInfo(base, info, ext, name, dir, details.FileSize)
	}
	for _, q := range s.spec.Query {
		switch q := q.(type) {
		case *types.FileQuery:
			return typedInfo(base, info, ext, name, dir, details.FileSize)
		case *types.FolderFileQuery:
			if info.IsDir() {
				return &types.FolderFileInfo{FileInfo: base}
			}
		case *types.VmDiskFileQuery:
			if !info.IsDir() && isDiskDescriptor(name) {
				return diskInfo(base, filepath.Join(dir, name), q.Details, details.FileSize)
			}
		case *types.IsoImageFileQuery:
			if ext == ".iso" {
				return &types.IsoImageFileInfo{FileInfo: base}
			}
		case *types.FloppyImageFileQuery:
			if ext == ".flp" || ext == ".img" {
				return &types.FloppyImageFileInfo{FileInfo: base}
			}
		case *types.VmConfigFileQuery:
			if ext == ".vmx" {
				return &types.VmConfigFileInfo{FileInfo: base}
			}
		case *types.VmNvramFileQuery:
			if ext == ".nvram" {
				return &types.VmNvramFileInfo{FileInfo: base}
			}
		case *types.VmLogFileQuery:
			if ext == ".log" {
				return &types.VmLogFileInfo{FileInfo: base}
			}
		case *types.VmSnapshotFileQuery:
			if ext == ".vmsn" {
				return &types.VmSnapshotFileInfo{FileInfo: base}
			}
		}
	}
	return nil
}

func typedInfo(base types.FileInfo, info os.FileInfo, ext, name, dir string, withSize bool) types.BaseFileInfo {
	switch {
	case info.IsDir():
		return &types.FolderFileInfo{FileInfo: base}
	case isDiskDescriptor(name):
		return diskInfo(base, filepath.Join(dir, name), nil, withSize)
	case ext == ".iso":
		return &types.IsoImageFileInfo{FileInfo: base}
	case ext == ".flp" || ext == ".img":
		return &types.FloppyImageFileInfo{FileInfo: base}
	case ext == ".vmx":
		return &types.VmConfigFileInfo{FileInfo: base}
	case ext == ".nvram":
		return &types.VmNvramFileInfo{FileInfo: base}
	case ext == ".log":
		return &types.VmLogFileInfo{FileInfo: base}
	case ext == ".vmsn":
		return &types.VmSnapshotFileInfo{FileInfo: base}
	}
	return &base
}

// diskInfo fills a VmDiskFileInfo from the disk's descriptor.
func diskInfo(base types.FileInfo, file string, flags *types.VmDiskFileQueryFlags, withSize bool) types.BaseFileInfo {
	d := parseDescriptorFile(file)
	info := &types.VmDiskFileInfo{FileInfo: base}
	if d == nil {
		return info
	}
	if withSize {
		for _, f := range extentFiles(file, d) {
			if f != file {
				if st, err := os.Stat(f); err == nil {
					info.FileSize += st.Size()
				}
			}
		}
	}
	if flags == nil {
		return info
	}
	if flags.CapacityKb {
		info.CapacityKb = d.capacityKB()
	}
	if flags.DiskType {
		info.DiskType = "VirtualDiskFlatVer2BackingInfo"
		if strings.Contains(strings.ToLower(d.createType), "sparse") {
			info.DiskType = "VirtualDiskSparseVer2BackingInfo"
		}
	}
	if flags.HardwareVersion {
		if v, err := strconv.ParseInt(d.ddb["ddb.virtualHWVersion"], 10, 32); err == nil {
			info.HardwareVersion = int32(v)
		}
	}
	if flags.ControllerType != nil && *flags.ControllerType {
		info.ControllerType = controllerTypes[d.ddb["ddb.adapterType"]]
	}
	if flags.Thin != nil && *flags.Thin {
		thin := d.thin()
		info.Thin = &thin
	}
	if flags.DiskExtents != nil && *flags.DiskExtents {
		for _, e := range d.extents {
			info.DiskExtents = append(info.DiskExtents, e.file)
		}
	}
	return info
}
