package main

// Hosts report their capabilities (host.capability), as real ESX hosts do;
// govmomi 0.24 leaves the property unset. libvirt's migration reads
// capability.vmotionSupported and refuses to go on without it.

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// hostCapability is what an ESXi 6.5 host of the kind the simulator models
// reports (the values that matter to clients: vMotion, reboot/shutdown,
// screenshots, limits).
func hostCapability() *types.HostCapability {
	yes := true
	return &types.HostCapability{
		RecursiveResourcePoolsSupported:         true,
		CpuMemoryResourceConfigurationSupported: true,
		RebootSupported:                         true,
		ShutdownSupported:                       true,
		VmotionSupported:                        true,
		StandbySupported:                        true,
		IpmiSupported:                           &yes,
		MaxSupportedVMs:                         1024,
		MaxRunningVMs:                           1024,
		MaxSupportedVcpus:                       128,
		MaxRegisteredVMs:                        1024,
		DatastorePrincipalSupported:             true,
		SanSupported:                            true,
		NfsSupported:                            true,
		IscsiSupported:                          true,
		VlanTaggingSupported:                    true,
		NicTeamingSupported:                     true,
		HighGuestMemSupported:                   true,
		MaintenanceModeSupported:                true,
		SuspendedRelocateSupported:              true,
		PerVmSwapFiles:                          true,
		LocalSwapDatastoreSupported:             true,
		UnsharedSwapVMotionSupported:            true,
		BackgroundSnapshotsSupported:            true,
		PreAssignedPCIUnitNumbersSupported:      true,
		ScreenshotSupported:                     true,
		ScaledScreenshotSupported:               true,
	}
}

// prepareHostCapabilities fills host.capability where the model left it unset.
func prepareHostCapabilities() {
	for _, e := range simulator.Map.All("HostSystem") {
		host := e.(*simulator.HostSystem)
		simulator.Map.WithLock(host, func() {
			if host.Capability == nil {
				host.Capability = hostCapability()
			}
		})
	}
}
