package main

// Performance statistics. A vCenter keeps them at four historical intervals (Past day, week,
// month, year); govmomi 0.24's PerformanceManager lists none, so clients cannot ask for
// anything but realtime samples. An ESX host keeps only realtime and Past day.

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func (st *state) preparePerfIntervals() {
	if st.model.ServiceContent.PerfManager == nil {
		return
	}
	pm, ok := simulator.Map.Get(*st.model.ServiceContent.PerfManager).(*simulator.PerformanceManager)
	if !ok || len(pm.HistoricalInterval) > 0 {
		return
	}
	intervals := []types.PerfInterval{
		{Key: 1, SamplingPeriod: 300, Name: "Past day", Length: 86400, Level: 1, Enabled: true},
		{Key: 2, SamplingPeriod: 1800, Name: "Past week", Length: 604800, Level: 1, Enabled: true},
		{Key: 3, SamplingPeriod: 7200, Name: "Past month", Length: 2592000, Level: 1, Enabled: true},
		{Key: 4, SamplingPeriod: 86400, Name: "Past year", Length: 31536000, Level: 1, Enabled: true},
	}
	if st.opts.mode == "esx" {
		intervals = intervals[:1]
	}
	simulator.Map.WithLock(pm, func() { pm.HistoricalInterval = intervals })
	st.followPowerState()
}

// livePerf is the stock PerformanceManager, except that a VM that is not running (and a host
// that is not connected or is in maintenance) has no samples, as on a vCenter: 0.24's canned
// series make a powered-off VM busy.
type livePerf struct {
	simulator.PerformanceManager
}

func (p *livePerf) QueryPerf(ctx *simulator.Context, req *types.QueryPerf) soap.HasFault {
	body := p.PerformanceManager.QueryPerf(ctx, req)
	res, ok := body.(*methods.QueryPerfBody)
	if !ok || res.Res == nil {
		return body
	}
	for _, base := range res.Res.Returnval {
		metric, ok := base.(*types.PerfEntityMetric)
		if !ok || !idle(metric.Entity) {
			continue
		}
		metric.SampleInfo, metric.Value = nil, nil
	}
	return body
}

// idle tells whether an entity does no work: a VM not powered on, a host not serving.
func idle(ref types.ManagedObjectReference) bool {
	switch obj := simulator.Map.Get(ref).(type) {
	case *simulator.VirtualMachine:
		off := false
		simulator.Map.WithLock(obj, func() { off = obj.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn })
		return off
	case *simulator.HostSystem:
		out := false
		simulator.Map.WithLock(obj, func() {
			out = obj.Runtime.InMaintenanceMode || obj.Runtime.ConnectionState != types.HostSystemConnectionStateConnected
		})
		return out
	}
	return false
}

// followPowerState puts livePerf in the stock manager's place.
func (st *state) followPowerState() {
	if st.model.ServiceContent.PerfManager == nil {
		return
	}
	pm, ok := simulator.Map.Get(*st.model.ServiceContent.PerfManager).(*simulator.PerformanceManager)
	if !ok {
		return
	}
	simulator.Map.Put(&livePerf{PerformanceManager: *pm})
}
