package main

// CreateScreenshot_Task, which govmomi 0.24 lacks: the launcher draws the
// VM's console (its name, power state, guest OS and the time, in a 5x7
// bitmap font on a console-like background) as a real PNG, writes it beside
// the VM's .vmx as "<name>-<n>.png" and returns its datastore path, as ESXi
// does. A VM that is not powered on has no console: InvalidPowerState.

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	screenWidth  = 640
	screenHeight = 400
)

func init() {
	ownMethods["CreateScreenshot_Task"] = (*state).createScreenshot
}

func (st *state) createScreenshot(w http.ResponseWriter, call *soapCall, body []byte) {
	vm, ok := simulator.Map.Get(call.This).(*simulator.VirtualMachine)
	if !ok {
		writeFault(w, &types.ManagedObjectNotFound{Obj: call.This}, "managed object not found: "+call.This.Value)
		return
	}
	var name, guest, vmxPath string
	var power types.VirtualMachinePowerState
	simulator.Map.WithLock(vm, func() {
		name, guest, power = vm.Name, vm.Config.GuestFullName, vm.Runtime.PowerState
		vmxPath = vm.Config.Files.VmPathName
	})
	if power != types.VirtualMachinePowerStatePoweredOn {
		writeFault(w, &types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOn, ExistingState: power},
			fmt.Sprintf("the virtual machine %s is %s: only a powered-on VM has a console to capture", name, power))
		return
	}
	var dsPath object.DatastorePath
	if !dsPath.FromString(vmxPath) {
		writeFault(w, &types.FileFault{File: vmxPath}, "the VM has no datastore path: "+vmxPath)
		return
	}
	dir, ok := st.localPath(vm.Self, vmxPath)
	if !ok {
		writeFault(w, &types.FileNotFound{FileFault: types.FileFault{File: vmxPath}}, "no such datastore file: "+vmxPath)
		return
	}
	dir = filepath.Dir(dir)
	image := renderConsole(name, string(power), guest, time.Now().UTC())
	file := ""
	for n := 1; ; n++ {
		file = fmt.Sprintf("%s-%d.png", name, n)
		if _, err := os.Stat(filepath.Join(dir, file)); os.IsNotExist(err) {
			break
		}
	}
	if err := os.WriteFile(filepath.Join(dir, file), image, 0o644); err != nil {
		writeFault(w, &types.CannotCreateFile{FileFault: types.FileFault{File: file}}, err.Error())
		return
	}
	result := dsPath.String()
	result = result[:len(result)-len(path.Base(dsPath.Path))] + file
	task := simulator.CreateTask(vm, "createScreenshot", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return result, nil
	})
	writeTaskRef(w, call.Method, task.Run())
}

// renderConsole draws a console screen and returns it as PNG bytes.
func renderConsole(name, power, guest string, at time.Time) []byte {
	img := image.NewRGBA(image.Rect(0, 0, screenWidth, screenHeight))
	background := color.RGBA{0x10, 0x18, 0x28, 0xff}
	bar := color.RGBA{0x2a, 0x5d, 0x9f, 0xff}
	text := color.RGBA{0xe0, 0xe6, 0xf0, 0xff}
	green := color.RGBA{0x5f, 0xd0, 0x6a, 0xff}
	for y := 0; y < screenHeight; y++ {
		for x := 0; x < screenWidth; x++ {
			c := background
			if y < 36 {
				c = bar
			}
			img.Set(x, y, c)
		}
	}
	drawText(img, 12, 10, 2, text, name)
	lines := []string{
		"POWER STATE: " + power,
		"GUEST OS:    " + guest,
		"CAPTURED:    " + at.Format("2006-01-02 15:04:05") + " UTC",
		"",
		"LOGIN: _",
	}
	for i, line := range lines {
		c := text
		if strings.HasPrefix(line, "POWER") {
			c = green
		}
		drawText(img, 16, 64+i*24, 2, c, line)
	}
	var out bytes.Buffer
	_ = png.Encode(&out, img)
	return out.Bytes()
}

// drawText writes s with the 5x7 font, each dot scale x scale pixels.
func drawText(img *image.RGBA, x, y, scale int, c color.Color, s string) {
	for _, r := range strings.ToUpper(s) {
		glyph, ok := font5x7[r]
		if !ok {
			glyph = font5x7['?']
		}
		for row, bits := range glyph {
			for col := 0; col < 5; col++ {
				if bits&(1<<(4-col)) == 0 {
					continue
				}
				for dy := 0; dy < scale; dy++ {
					for dx := 0; dx < scale; dx++ {
						px, py := x+col*scale+dx, y+row*scale+dy
						if px < screenWidth && py < screenHeight {
							img.Set(px, py, c)
						}
					}
				}
			}
		}
		x += 6 * scale
	}
}

// font5x7: rows top to bottom, the 5 low bits left to right.
var font5x7 = map[rune][7]byte{
	' ': {0, 0, 0, 0, 0, 0, 0},
	'A': {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, 'B': {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e},
	'C': {0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e}, 'D': {0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e},
	'E': {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f}, 'F': {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10},
	'G': {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f}, 'H': {0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11},
	'I': {0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}, 'J': {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c},
	'K': {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, 'L': {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f},
	'M': {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11}, 'N': {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},
	'O': {0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, 'P': {0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10},
	'Q': {0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d}, 'R': {0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11},
	'S': {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e}, 'T': {0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},
	'U': {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, 'V': {0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04},
	'W': {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a}, 'X': {0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11},
	'Y': {0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04}, 'Z': {0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f},
	'0': {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, '1': {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
	'2': {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, '3': {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
	'4': {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, '5': {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
	'6': {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, '7': {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
	'8': {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, '9': {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
	'_': {0, 0, 0, 0, 0, 0, 0x1f}, '-': {0, 0, 0, 0x1f, 0, 0, 0}, '.': {0, 0, 0, 0, 0, 0x0c, 0x0c},
	':': {0, 0x0c, 0x0c, 0, 0x0c, 0x0c, 0}, '/': {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10},
	'(': {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}, ')': {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08},
	',': {0, 0, 0, 0, 0x0c, 0x04, 0x08}, '?': {0x0e, 0x11, 0x01, 0x02, 0x04, 0, 0x04},
}

// serveScreen answers GET /screen?id=MOREF, the host's console endpoint that
// libvirt's virsh screenshot reads (a session cookie or basic authentication
// is required): the PNG of a powered-on VM, 404 for an unknown one, 409 for
// one that is not on.
func (st *state) serveScreen(w http.ResponseWriter, r *http.Request) {
	if !st.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="VMware HTTP server"`)
		http.Error(w, "401 Unauthorized: log in first or use basic authentication", http.StatusUnauthorized)
		return
	}
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: r.URL.Query().Get("id")}
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		http.Error(w, "404 Not Found: no virtual machine "+ref.Value, http.StatusNotFound)
		return
	}
	var name, guest string
	var power types.VirtualMachinePowerState
	simulator.Map.WithLock(vm, func() {
		name, guest, power = vm.Name, vm.Config.GuestFullName, vm.Runtime.PowerState
	})
	if power != types.VirtualMachinePowerStatePoweredOn {
		http.Error(w, "409 Conflict: "+name+" is "+string(power), http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(renderConsole(name, string(power), guest, time.Now().UTC()))
}
