package main

// A vCenter keeps performance statistics at four historical intervals (Past day, week,
// month, year); govmomi 0.24's PerformanceManager lists none, so clients cannot ask for
// anything but realtime samples. An ESX host keeps only realtime and Past day.

import (
	"github.com/vmware/govmomi/simulator"
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
}
