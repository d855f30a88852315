package main

// Performance statistics. A vCenter keeps them at four historical intervals (Past day, week,
// month, year); govmomi 0.24's PerformanceManager lists none, so clients cannot ask for
// anything but realtime samples. An ESX host keeps only realtime and Past day.

import (
	"strconv"
	"strings"
	"time"

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
	for i, base := range res.Res.Returnval {
		metric, ok := base.(*types.PerfEntityMetric)
		if !ok {
			continue
		}
		if idle(metric.Entity) {
			metric.SampleInfo, metric.Value = nil, nil
		}
		if i < len(req.QuerySpec) && req.QuerySpec[i].Format == string(types.PerfFormatCsv) {
			res.Res.Returnval[i] = asCSV(metric)
		}
	}
	return body
}

// asCSV is the same samples in the csv format a vCenter honours (0.24 answers "normal" only):
// "interval,timestamp,..." for the samples and "v1,v2,..." per series.
func asCSV(m *types.PerfEntityMetric) *types.PerfEntityMetricCSV {
	out := &types.PerfEntityMetricCSV{PerfEntityMetricBase: m.PerfEntityMetricBase}
	info := make([]string, 0, 2*len(m.SampleInfo))
	for _, s := range m.SampleInfo {
		info = append(info, strconv.Itoa(int(s.Interval)), s.Timestamp.UTC().Format(time.RFC3339))
	}
	out.SampleInfoCSV = strings.Join(info, ",")
	for _, base := range m.Value {
		ints, ok := base.(*types.PerfMetricIntSeries)
		if !ok {
			continue
		}
		values := make([]string, len(ints.Value))
		for i, v := range ints.Value {
			values[i] = strconv.FormatInt(v, 10)
		}
		out.Value = append(out.Value, types.PerfMetricSeriesCSV{PerfMetricSeries: ints.PerfMetricSeries, Value: strings.Join(values, ",")})
	}
	return out
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
