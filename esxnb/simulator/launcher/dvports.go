package main

// Distributed virtual ports. govmomi 0.24's FetchDVPorts answers one bogus port per port
// group (keyed by the port group's key), then keys "0".."N-1" again in every port group,
// without port group, connectee or runtime state, and ignores the criteria. A vCenter numbers
// the ports of a switch uniquely and reports the VM NIC on each port; so does this one.

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

func init() {
	ownMethods["FetchDVPorts"] = (*state).fetchDVPorts
}

// numberPorts gives every port group of dvs keys no earlier port group uses (port groups
// added through the API get "0".."N-1" again); the keys already unique stay as they are.
func numberPorts(dvs *simulator.DistributedVirtualSwitch) {
	seen := map[string]bool{}
	next := 0
	var clashing []*simulator.DistributedVirtualPortgroup
	for _, ref := range dvs.Portgroup {
		pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup)
		if !ok {
			continue
		}
		clash := false
		for _, key := range pg.PortKeys {
			clash = clash || seen[key]
			seen[key] = true
			if n, err := strconv.Atoi(key); err == nil && n >= next {
				next = n + 1
			}
		}
		if clash {
			clashing = append(clashing, pg)
		}
	}
	for _, pg := range clashing {
		keys := make([]string, len(pg.PortKeys))
		for i := range keys {
			keys[i] = strconv.Itoa(next)
			next++
		}
		simulator.Map.WithLock(pg, func() { pg.PortKeys = keys })
	}
}

// portBinder hands out the free ports of distributed port groups, as a vCenter binds a NIC
// to a port when it joins an early-binding port group.
type portBinder map[string]int // port group key -> ports handed out

func (b portBinder) bind(pgRef types.ManagedObjectReference) string {
	pg, ok := simulator.Map.Get(pgRef).(*simulator.DistributedVirtualPortgroup)
	if !ok || pg.Config.DistributedVirtualSwitch == nil {
		return ""
	}
	if dvs, ok := simulator.Map.Get(*pg.Config.DistributedVirtualSwitch).(*simulator.DistributedVirtualSwitch); ok {
		numberPorts(dvs)
	}
	if b[pg.Key] >= len(pg.PortKeys) {
		return ""
	}
	b[pg.Key]++
	return pg.PortKeys[b[pg.Key]-1]
}

// vmPort is what sits on a port: a VM's NIC.
type vmPort struct {
	vm      types.ManagedObjectReference
	nicKey  int32
	mac     string
	running bool
}

// boundNICs are the VM NICs bound to a port, by port group key and port key. Port groups,
// not the switch UUID, say which switch: 0.24 derives the UUID from the switch's name, so the
// demo estate's two "DVS0" share one.
func boundNICs() map[[2]string]vmPort {
	out := map[[2]string]vmPort{}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		simulator.Map.WithLock(vm, func() {
			if vm.Config == nil {
				return
			}
			for _, d := range vm.Config.Hardware.Device {
				nic, ok := d.(types.BaseVirtualEthernetCard)
				if !ok {
					continue
				}
				card := nic.GetVirtualEthernetCard()
				b, ok := card.Backing.(*types.VirtualEthernetCardDistributedVirtualPortBackingInfo)
				if !ok || b.Port.PortKey == "" {
					continue
				}
				out[[2]string{b.Port.PortgroupKey, b.Port.PortKey}] = vmPort{
					vm: vm.Self, nicKey: card.Key, mac: card.MacAddress,
					running: vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn,
				}
			}
		})
	}
	return out
}

func wanted(keys []string, key string) bool {
	if len(keys) == 0 {
		return true
	}
	for _, k := range keys {
		if k == key {
			return true
		}
	}
	return false
}

// dvPorts are the ports of dvs that criteria selects (port group, connected, port key).
func dvPorts(dvs *simulator.DistributedVirtualSwitch, criteria *types.DistributedVirtualSwitchPortCriteria) []types.DistributedVirtualPort {
	if criteria == nil {
		criteria = &types.DistributedVirtualSwitchPortCriteria{}
	}
	numberPorts(dvs)
	nics := boundNICs()
	var out []types.DistributedVirtualPort
	for _, ref := range dvs.Portgroup {
		pg, ok := simulator.Map.Get(ref).(*simulator.DistributedVirtualPortgroup)
		if !ok || !wanted(criteria.PortgroupKey, pg.Key) {
			continue
		}
		for _, key := range pg.PortKeys {
			nic, connected := nics[[2]string{pg.Key, key}]
			if !wanted(criteria.PortKey, key) || (criteria.Connected != nil && *criteria.Connected != connected) {
				continue
			}
			port := types.DistributedVirtualPort{
				Key: key, DvsUuid: dvs.Uuid, PortgroupKey: pg.Key,
				Config: types.DVPortConfigInfo{Setting: pg.Config.DefaultPortConfig},
				State:  &types.DVPortState{RuntimeInfo: &types.DVPortStatus{}},
			}
			if connected {
				vm := nic.vm
				port.Connectee = &types.DistributedVirtualSwitchPortConnectee{
					ConnectedEntity: &vm, NicKey: strconv.Itoa(int(nic.nicKey)), Type: "vmVnic",
				}
				port.State.RuntimeInfo.LinkUp = nic.running
				port.State.RuntimeInfo.MacAddress = nic.mac
			}
			out = append(out, port)
		}
	}
	return out
}

func (st *state) fetchDVPorts(w http.ResponseWriter, call *soapCall, body []byte) {
	v, ok := decode(w, body) // vdisk.go
	if !ok {
		return
	}
	req := v.(*types.FetchDVPorts)
	dvs, ok := simulator.Map.Get(req.This).(*simulator.DistributedVirtualSwitch)
	if !ok {
		writeFault(w, &types.ManagedObjectNotFound{Obj: req.This}, "The object has already been deleted or has not been completely created")
		return
	}
	writeResponse(w, "FetchDVPorts", &types.FetchDVPortsResponse{Returnval: dvPorts(dvs, req.Criteria)})
}

// writeResponse answers method with res encoded as the stock simulator does.
func writeResponse(w http.ResponseWriter, method string, res interface{}) {
	var out bytes.Buffer
	out.WriteString(envelopeStart)
	enc := xml.NewEncoder(&out)
	start := xml.StartElement{Name: xml.Name{Space: "urn:vim25", Local: method + "Response"}}
	if err := enc.EncodeElement(res, start); err != nil {
		writeFault(w, &types.SystemError{Reason: err.Error()}, err.Error())
		return
	}
	_ = enc.Flush()
	out.WriteString(envelopeEnd)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}
