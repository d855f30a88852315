package main

// Longer than most launcher files (about 540 lines) because it is one whole subsystem:
// the vSwitch and port group calls share the host network model they edit.

// Standard vSwitches and port groups as a real host keeps them. govmomi 0.24's
// HostNetworkSystem keeps a list of its own (so host.config.network never
// changes), drops the vSwitch spec (uplinks, MTU, policy), has no
// UpdateVirtualSwitch or UpdatePortGroup, refuses a port group name another
// host of the datacenter uses, and removes port groups VMs still use. Here
// HostNetworkSystem.networkInfo IS host.config.network, and:
//
//   - AddVirtualSwitch / UpdateVirtualSwitch keep the spec: uplinks
//     (bridge.nicDevice, device names or PhysicalNic keys), MTU (1280-9000),
//     ports, and the policy merged over ESX's defaults; a NIC already an
//     uplink of another vSwitch is ResourceInUse;
//   - AddPortGroup / UpdatePortGroup keep VLAN (0-4095) and policy, compute
//     the effective policy, and share one Network object per name among the
//     datacenter's hosts (network.host, host.network);
//   - RemovePortGroup / RemoveVirtualSwitch fail with ResourceInUse while a VM
//     on the host has a NIC on the port group or a VMkernel NIC uses it, and
//     drop the Network object with its last host.

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	ownMethods["AddVirtualSwitch"] = (*state).hostNetworkCall
	ownMethods["UpdateVirtualSwitch"] = (*state).hostNetworkCall
	ownMethods["RemoveVirtualSwitch"] = (*state).hostNetworkCall
	ownMethods["AddPortGroup"] = (*state).hostNetworkCall
	ownMethods["UpdatePortGroup"] = (*state).hostNetworkCall
	ownMethods["RemovePortGroup"] = (*state).hostNetworkCall
}

const (
	vswitchKeyPrefix   = "key-vim.host.VirtualSwitch-"
	portGroupKeyPrefix = "key-vim.host.PortGroup-"
	pnicKeyPrefix      = "key-vim.host.PhysicalNic-"
)

type netFault struct {
	fault   types.BaseMethodFault
	message string
}

func (st *state) hostNetworkCall(w http.ResponseWriter, call *soapCall, body []byte) {
	ns, _ := simulator.Map.Get(call.This).(*simulator.HostNetworkSystem)
	if ns == nil || ns.Host == nil {
		writeFault(w, &types.ManagedObjectNotFound{Obj: call.This}, "managed object not found: "+call.This.Value)
		return
	}
	host, _ := simulator.Map.Get(ns.Host.Self).(*simulator.HostSystem)
	if host == nil {
		writeFault(w, &types.ManagedObjectNotFound{Obj: ns.Host.Self}, "host not found")
		return
	}
	v, ok := decode(w, body)
	if !ok {
		return
	}
	var f *netFault
	var attach, detach []string
	switch req := v.(type) {
	case *types.AddVirtualSwitch:
		f = withHost(host, func(n *types.HostNetworkInfo) *netFault { return addVirtualSwitch(n, req.VswitchName, req.Spec) })
	case *types.UpdateVirtualSwitch:
		f = withHost(host, func(n *types.HostNetworkInfo) *netFault {
			return updateVirtualSwitch(n, req.VswitchName, &req.Spec)
		})
	case *types.RemoveVirtualSwitch:
		var groups []string
		withHost(host, func(n *types.HostNetworkInfo) *netFault {
			if vs := findVswitch(n, req.VswitchName); vs != nil {
				for _, key := range vs.Portgroup {
					groups = append(groups, strings.TrimPrefix(key, portGroupKeyPrefix))
				}
			}
			return nil
		})
		for _, pg := range groups {
			if f = portGroupInUse(host, pg); f != nil {
				break
			}
		}
		if f == nil {
			f = withHost(host, func(n *types.HostNetworkInfo) *netFault { return removeVirtualSwitch(n, req.VswitchName) })
			detach = groups
		}
	case *types.AddPortGroup:
		f = withHost(host, func(n *types.HostNetworkInfo) *netFault { return addPortGroup(n, req.Portgrp) })
		attach = []string{req.Portgrp.Name}
	case *types.UpdatePortGroup:
		if req.Portgrp.Name != "" && req.Portgrp.Name != req.PgName {
			f = portGroupInUse(host, req.PgName)
			attach, detach = []string{req.Portgrp.Name}, []string{req.PgName}
		}
		if f == nil {
			f = withHost(host, func(n *types.HostNetworkInfo) *netFault { return updatePortGroup(n, req.PgName, req.Portgrp) })
		}
	case *types.RemovePortGroup:
		if f = portGroupInUse(host, req.PgName); f == nil {
			f = withHost(host, func(n *types.HostNetworkInfo) *netFault { return removePortGroup(n, req.PgName) })
			detach = []string{req.PgName}
		}
	}
	if f != nil {
		writeFault(w, f.fault, f.message)
		return
	}
	for _, name := range detach {
		detachNetwork(host, name)
	}
	for _, name := range attach {
		attachNetwork(host, name)
	}
	simulator.Map.WithLock(host, func() {
		ns.NetworkInfo = host.Config.Network
		simulator.Map.Update(host, []types.PropertyChange{
			{Name: "config.network", Val: host.Config.Network},
			{Name: "network", Val: host.Network},
		})
	})
	writeVoid(w, call.Method)
}

// withHost runs f on the host's network configuration under the host's lock.
func withHost(host *simulator.HostSystem, f func(*types.HostNetworkInfo) *netFault) *netFault {
	var out *netFault
	simulator.Map.WithLock(host, func() {
		if host.Config == nil || host.Config.Network == nil {
			out = &netFault{&types.HostConfigFault{}, "The host has no network configuration."}
			return
		}
		out = f(host.Config.Network)
	})
	return out
}

func findVswitch(n *types.HostNetworkInfo, name string) *types.HostVirtualSwitch {
	for i := range n.Vswitch {
		if n.Vswitch[i].Name == name {
			return &n.Vswitch[i]
		}
	}
	return nil
}

func findPortGroup(n *types.HostNetworkInfo, name string) int {
	for i := range n.Portgroup {
		if n.Portgroup[i].Spec.Name == name {
			return i
		}
	}
	return -1
}

func notFound(what, name string) *netFault {
	return &netFault{&types.NotFound{}, fmt.Sprintf("The %s %s was not found.", what, name)}
}

func invalid(property, message string) *netFault {
	return &netFault{&types.InvalidArgument{InvalidProperty: property}, message}
}

// defaultPolicy is what ESX gives a new vSwitch.
func defaultPolicy(nics []string) *types.HostNetworkPolicy {
	f := false
	t := true
	return &types.HostNetworkPolicy{
		Security: &types.HostNetworkSecurityPolicy{AllowPromiscuous: &f, MacChanges: &t, ForgedTransmits: &t},
		NicTeaming: &types.HostNicTeamingPolicy{
			Policy: "loadbalance_srcid", ReversePolicy: &t, NotifySwitches: &t, RollingOrder: &f,
			FailureCriteria: &types.HostNicFailureCriteria{CheckSpeed: "minimum", Speed: 10, CheckDuplex: &f,
				FullDuplex: &f, CheckErrorPercent: &f, Percentage: 0, CheckBeacon: &f},
			NicOrder: &types.HostNicOrderPolicy{ActiveNic: nics},
		},
		OffloadPolicy: &types.HostNetOffloadCapabilities{CsumOffload: &t, TcpSegmentation: &t, ZeroCopyXmit: &t},
		ShapingPolicy: &types.HostNetworkTrafficShapingPolicy{Enabled: &f},
	}
}

// mergePolicy lays the parts over sets over base (a copy).
func mergePolicy(base, over *types.HostNetworkPolicy) *types.HostNetworkPolicy {
	merged := *base
	if over == nil {
		return &merged
	}
	if over.Security != nil {
		merged.Security = over.Security
	}
	if over.NicTeaming != nil {
		merged.NicTeaming = over.NicTeaming
	}
	if over.OffloadPolicy != nil {
		merged.OffloadPolicy = over.OffloadPolicy
	}
	if over.ShapingPolicy != nil {
		merged.ShapingPolicy = over.ShapingPolicy
	}
	return &merged
}

// applySwitchSpec checks spec and sets vs (name and port groups kept).
func applySwitchSpec(n *types.HostNetworkInfo, vs *types.HostVirtualSwitch, spec *types.HostVirtualSwitchSpec) *netFault {
	if spec.NumPorts < 0 || spec.NumPorts > 4088 {
		return invalid("spec.numPorts", fmt.Sprintf("Invalid number of ports %d (0-4088).", spec.NumPorts))
	}
	mtu := spec.Mtu
	if mtu == 0 {
		mtu = 1500
	}
	if mtu < 1280 || mtu > 9000 {
		return invalid("spec.mtu", fmt.Sprintf("Invalid MTU %d (1280-9000).", mtu))
	}
	var devices, keys []string
	if bond, ok := spec.Bridge.(*types.HostVirtualSwitchBondBridge); ok {
		for _, nic := range bond.NicDevice {
			dev := strings.TrimPrefix(nic, pnicKeyPrefix)
			found := false
			for _, p := range n.Pnic {
				found = found || p.Device == dev
			}
			if !found {
				return &netFault{&types.NotFound{}, fmt.Sprintf("The physical NIC %s was not found.", nic)}
			}
			for _, other := range n.Vswitch {
				if other.Name == vs.Name {
					continue
				}
				for _, k := range other.Pnic {
					if k == pnicKeyPrefix+dev {
						return &netFault{&types.ResourceInUse{Name: dev},
							fmt.Sprintf("The physical NIC %s is already an uplink of vSwitch %s.", dev, other.Name)}
					}
				}
			}
			devices = append(devices, dev)
			keys = append(keys, pnicKeyPrefix+dev)
		}
		bond.NicDevice = devices
	} else if spec.Bridge != nil {
		return invalid("spec.bridge", "Only bond bridges are supported on a standard vSwitch.")
	}
	spec.Mtu = mtu
	spec.Policy = mergePolicy(defaultPolicy(devices), spec.Policy)
	used := vs.NumPorts - vs.NumPortsAvailable
	vs.NumPorts = spec.NumPorts
	vs.NumPortsAvailable = spec.NumPorts - used
	vs.Mtu = mtu
	vs.Pnic = keys
	vs.Spec = *spec
	for i := range n.Portgroup {
		if n.Portgroup[i].Vswitch == vs.Key {
			n.Portgroup[i].ComputedPolicy = *mergePolicy(spec.Policy, &n.Portgroup[i].Spec.Policy)
		}
	}
	return nil
}

func addVirtualSwitch(n *types.HostNetworkInfo, name string, spec *types.HostVirtualSwitchSpec) *netFault {
	if name == "" || len(name) > 32 {
		return invalid("vswitchName", fmt.Sprintf("Invalid vSwitch name %q (1-32 characters).", name))
	}
	if findVswitch(n, name) != nil {
		return &netFault{&types.AlreadyExists{Name: name}, fmt.Sprintf("The vSwitch %s already exists.", name)}
	}
	if spec == nil {
		spec = &types.HostVirtualSwitchSpec{NumPorts: 128}
	}
	vs := types.HostVirtualSwitch{Name: name, Key: vswitchKeyPrefix + name}
	if f := applySwitchSpec(n, &vs, spec); f != nil {
		return f
	}
	n.Vswitch = append(n.Vswitch, vs)
	return nil
}

func updateVirtualSwitch(n *types.HostNetworkInfo, name string, spec *types.HostVirtualSwitchSpec) *netFault {
	vs := findVswitch(n, name)
	if vs == nil {
		return notFound("vSwitch", name)
	}
	updated := *vs
	if f := applySwitchSpec(n, &updated, spec); f != nil {
		return f
	}
	*vs = updated
	return nil
}

func removeVirtualSwitch(n *types.HostNetworkInfo, name string) *netFault {
	vs := findVswitch(n, name)
	if vs == nil {
		return notFound("vSwitch", name)
	}
	key := vs.Key
	kept := n.Portgroup[:0]
	for _, pg := range n.Portgroup {
		if pg.Vswitch != key {
			kept = append(kept, pg)
		}
	}
	n.Portgroup = kept
	for i := range n.Vswitch {
		if n.Vswitch[i].Name == name {
			n.Vswitch = append(n.Vswitch[:i], n.Vswitch[i+1:]...)
			break
		}
	}
	return nil
}

func checkPortGroupSpec(spec types.HostPortGroupSpec) *netFault {
	if spec.Name == "" {
		return invalid("portgrp.name", "A port group needs a name.")
	}
	if spec.VlanId < 0 || spec.VlanId > 4095 {
		return invalid("portgrp.vlanId", fmt.Sprintf("Invalid VLAN ID %d (0-4095).", spec.VlanId))
	}
	return nil
}

func addPortGroup(n *types.HostNetworkInfo, spec types.HostPortGroupSpec) *netFault {
	if f := checkPortGroupSpec(spec); f != nil {
		return f
	}
	vs := findVswitch(n, spec.VswitchName)
	if vs == nil {
		return notFound("vSwitch", spec.VswitchName)
	}
	if findPortGroup(n, spec.Name) >= 0 {
		return &netFault{&types.AlreadyExists{Name: spec.Name}, fmt.Sprintf("The port group %s already exists.", spec.Name)}
	}
	key := portGroupKeyPrefix + spec.Name
	n.Portgroup = append(n.Portgroup, types.HostPortGroup{
		Key:            key,
		Vswitch:        vs.Key,
		Spec:           spec,
		ComputedPolicy: *mergePolicy(vs.Spec.Policy, &spec.Policy),
	})
	vs.Portgroup = append(vs.Portgroup, key)
	return nil
}

func updatePortGroup(n *types.HostNetworkInfo, name string, spec types.HostPortGroupSpec) *netFault {
	i := findPortGroup(n, name)
	if i < 0 {
		return notFound("port group", name)
	}
	if spec.Name == "" {
		spec.Name = name
	}
	if spec.VswitchName == "" {
		spec.VswitchName = n.Portgroup[i].Spec.VswitchName
	}
	if f := checkPortGroupSpec(spec); f != nil {
		return f
	}
	if spec.VswitchName != n.Portgroup[i].Spec.VswitchName {
		return invalid("portgrp.vswitchName", "A port group cannot move to another vSwitch.")
	}
	if spec.Name != name && findPortGroup(n, spec.Name) >= 0 {
		return &netFault{&types.AlreadyExists{Name: spec.Name}, fmt.Sprintf("The port group %s already exists.", spec.Name)}
	}
	vs := findVswitch(n, spec.VswitchName)
	oldKey := n.Portgroup[i].Key
	pg := &n.Portgroup[i]
	pg.Spec = spec
	pg.Key = portGroupKeyPrefix + spec.Name
	pg.ComputedPolicy = *mergePolicy(vs.Spec.Policy, &spec.Policy)
	for j, k := range vs.Portgroup {
		if k == oldKey {
			vs.Portgroup[j] = pg.Key
		}
	}
	return nil
}

func removePortGroup(n *types.HostNetworkInfo, name string) *netFault {
	i := findPortGroup(n, name)
	if i < 0 {
		return notFound("port group", name)
	}
	key := n.Portgroup[i].Key
	n.Portgroup = append(n.Portgroup[:i], n.Portgroup[i+1:]...)
	for j := range n.Vswitch {
		keys := n.Vswitch[j].Portgroup[:0]
		for _, k := range n.Vswitch[j].Portgroup {
			if k != key {
				keys = append(keys, k)
			}
		}
		n.Vswitch[j].Portgroup = keys
	}
	return nil
}

// portGroupInUse is ResourceInUse when a VM of the host has a NIC on the
// port group, or a VMkernel NIC is on it.
func portGroupInUse(host *simulator.HostSystem, name string) *netFault {
	var vms []types.ManagedObjectReference
	var vmknic string
	simulator.Map.WithLock(host, func() {
		vms = append(vms, host.Vm...)
		if host.Config != nil && host.Config.Network != nil {
			for _, v := range host.Config.Network.Vnic {
				if v.Portgroup == name {
					vmknic = v.Device
				}
			}
		}
	})
	if vmknic != "" {
		return &netFault{&types.ResourceInUse{Type: "HostVirtualNic", Name: vmknic},
			fmt.Sprintf("The port group %s is in use by the VMkernel NIC %s.", name, vmknic)}
	}
	for _, ref := range vms {
		vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		uses := false
		simulator.Map.WithLock(vm, func() {
			if vm.Config == nil {
				return
			}
			for _, dev := range vm.Config.Hardware.Device {
				if nic, ok := dev.(types.BaseVirtualEthernetCard); ok {
					if b, ok := nic.GetVirtualEthernetCard().Backing.(*types.VirtualEthernetCardNetworkBackingInfo); ok && b.DeviceName == name {
						uses = true
					}
				}
			}
		})
		if uses {
			return &netFault{&types.ResourceInUse{Type: "VirtualMachine", Name: vm.Name},
				fmt.Sprintf("The port group %s is in use by the virtual machine %s.", name, vm.Name)}
		}
	}
	return nil
}

// networkFolder is the network folder of the host's datacenter.
func networkFolder(host *simulator.HostSystem) (*simulator.Datacenter, *simulator.Folder) {
	dc := datacenterOf(host.Self)
	if dc == nil {
		return nil, nil
	}
	folder, _ := simulator.Map.Get(dc.NetworkFolder).(*simulator.Folder)
	return dc, folder
}

// hostNetwork finds the Network object called name in the network folder
// of the host's datacenter (net nil: none yet; folder nil: no datacenter).
func hostNetwork(host *simulator.HostSystem, name string) (*simulator.Datacenter, *simulator.Folder, *mo.Network) {
	dc, folder := networkFolder(host)
	if folder == nil {
		return nil, nil, nil
	}
	var children []types.ManagedObjectReference
	simulator.Map.WithLock(folder, func() { children = append(children, folder.ChildEntity...) })
	net, _ := simulator.Map.FindByName(name, children).(*mo.Network)
	return dc, folder, net
}

// attachNetwork gives the host the Network object called name, creating it
// in the datacenter's network folder when no host has it yet.
func attachNetwork(host *simulator.HostSystem, name string) {
	dc, folder, net := hostNetwork(host, name)
	if folder == nil {
		return
	}
	if net == nil {
		net = &mo.Network{}
		net.Name = name
		net.Entity().Name = name
		simulator.Map.NewEntity(net)
		net.Summary = &types.NetworkSummary{Network: &net.Self, Name: name, Accessible: true}
		simulator.Map.WithLock(folder, func() {
			folder.ChildEntity = append(folder.ChildEntity, net.Self)
			simulator.Map.PutEntity(folder, net)
			simulator.Map.Update(folder, []types.PropertyChange{{Name: "childEntity", Val: folder.ChildEntity}})
		})
		simulator.Map.AddReference(dc, &dc.Network, net.Self)
	}
	simulator.Map.AddReference(net, &net.Host, host.Self)
	simulator.Map.WithLock(host, func() {
		if simulator.FindReference(host.Network, net.Self) == nil {
			host.Network = append(host.Network, net.Self)
		}
	})
}

// detachNetwork takes the Network object called name from the host, and
// removes it once no host has it.
func detachNetwork(host *simulator.HostSystem, name string) {
	dc, folder, net := hostNetwork(host, name)
	if net == nil {
		return
	}
	simulator.Map.WithLock(host, func() { simulator.RemoveReference(&host.Network, net.Self) })
	last := false
	simulator.Map.WithLock(net, func() {
		simulator.RemoveReference(&net.Host, host.Self)
		last = len(net.Host) == 0 && len(net.Vm) == 0
	})
	if !last {
		return
	}
	simulator.Map.WithLock(folder, func() {
		simulator.RemoveReference(&folder.ChildEntity, net.Self)
		simulator.Map.Update(folder, []types.PropertyChange{{Name: "childEntity", Val: folder.ChildEntity}})
	})
	simulator.Map.RemoveReference(dc, &dc.Network, net.Self)
	simulator.Map.Remove(net.Self)
}

// prepareNetworks makes every HostNetworkSystem show its host's
// configuration, and every host list the Network objects of its port groups.
func (st *state) prepareNetworks() {
	for _, e := range simulator.Map.All("HostSystem") {
		host := e.(*simulator.HostSystem)
		if host.ConfigManager.NetworkSystem == nil || host.Config == nil || host.Config.Network == nil {
			continue
		}
		if ns, ok := simulator.Map.Get(*host.ConfigManager.NetworkSystem).(*simulator.HostNetworkSystem); ok {
			ns.NetworkInfo = host.Config.Network
		}
		for _, pg := range host.Config.Network.Portgroup {
			if len(pg.Port) == 0 || pg.Port[0].Type != "host" {
				attachNetwork(host, pg.Spec.Name)
			}
		}
	}
}
