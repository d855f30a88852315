package main

// HostAutoStartManager, which govmomi 0.24 names in every host's
// configManager but does not implement. Each host gets its own manager
// (vCenter hosts all shared "ha-autostart-mgr" in 0.24's template) with
// autostart disabled, as a fresh ESXi host; ReconfigureAutostart merges the
// defaults and per-VM power info it is given, as ESXi does.

import (
	"fmt"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type autoStartManager struct {
	mo.HostAutoStartManager
	host types.ManagedObjectReference
}

// prepareAutostart gives every host its manager.
func (st *state) prepareAutostart() {
	for _, e := range simulator.Map.All("HostSystem") {
		host := e.(*simulator.HostSystem)
		ref := types.ManagedObjectReference{Type: "HostAutoStartManager", Value: "ha-autostart-mgr"}
		if st.opts.mode != "esx" {
			ref.Value = "autoStartManager-" + host.Self.Value
		}
		host.ConfigManager.AutoStartManager = &ref // a pointer the template's hosts all shared
		no := false
		m := &autoStartManager{host: host.Self}
		m.Self = ref
		m.Config.Defaults = &types.AutoStartDefaults{
			Enabled: &no, StartDelay: 120, StopDelay: 120, WaitForHeartbeat: &no, StopAction: "PowerOff",
		}
		simulator.Map.Put(m)
	}
}

func (m *autoStartManager) ReconfigureAutostart(req *types.ReconfigureAutostart) soap.HasFault {
	body := &methods.ReconfigureAutostartBody{}
	host, _ := simulator.Map.Get(m.host).(*simulator.HostSystem)
	for _, info := range req.Spec.PowerInfo {
		if host == nil || !hasRef(host.Vm, info.Key) {
			body.Fault_ = simulator.Fault(fmt.Sprintf("%s is not a VM of this host", info.Key.Value),
				&types.InvalidArgument{InvalidProperty: "powerInfo.key"})
			return body
		}
		switch info.StartAction {
		case "", "none", "powerOn", "PowerOn", "None":
		default:
			body.Fault_ = simulator.Fault("startAction must be none or powerOn, not "+info.StartAction,
				&types.InvalidArgument{InvalidProperty: "powerInfo.startAction"})
			return body
		}
	}
	if d := req.Spec.Defaults; d != nil {
		cur := m.Config.Defaults
		if d.Enabled != nil {
			cur.Enabled = d.Enabled
		}
		if d.StartDelay != 0 {
			cur.StartDelay = d.StartDelay
		}
		if d.StopDelay != 0 {
			cur.StopDelay = d.StopDelay
		}
		if d.WaitForHeartbeat != nil {
			cur.WaitForHeartbeat = d.WaitForHeartbeat
		}
		if d.StopAction != "" {
			cur.StopAction = d.StopAction
		}
	}
	for _, info := range req.Spec.PowerInfo {
		replaced := false
		for i := range m.Config.PowerInfo {
			if m.Config.PowerInfo[i].Key == info.Key {
				m.Config.PowerInfo[i], replaced = info, true
			}
		}
		if !replaced {
			m.Config.PowerInfo = append(m.Config.PowerInfo, info)
		}
	}
	simulator.Map.Update(m, []types.PropertyChange{{Name: "config", Val: m.Config}})
	body.Res = &types.ReconfigureAutostartResponse{}
	return body
}
