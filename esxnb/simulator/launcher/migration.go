package main

// ValidateMigration (ServiceInstance), which govmomi 0.24 lacks and
// libvirt's migration calls before MigrateVM_Task. It answers as vCenter
// does: a fault for objects that do not exist, else the list of problems as
// events (none when the move can go ahead).

import (
	"fmt"
	"net/http"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	ownMethods["ValidateMigration"] = (*state).validateMigration
}

func (st *state) validateMigration(w http.ResponseWriter, call *soapCall, body []byte) {
	vmRef, ok := call.Refs["vm"]
	if !ok {
		writeFault(w, &types.InvalidArgument{InvalidProperty: "vm"}, "ValidateMigration needs a vm")
		return
	}
	if simulator.Map.Get(vmRef) == nil {
		writeFault(w, &types.ManagedObjectNotFound{Obj: vmRef}, "managed object not found: "+vmRef.Value)
		return
	}
	var problems []string
	if hostRef, given := call.Refs["host"]; given {
		host, _ := simulator.Map.Get(hostRef).(*simulator.HostSystem)
		if host == nil {
			writeFault(w, &types.ManagedObjectNotFound{Obj: hostRef}, "managed object not found: "+hostRef.Value)
			return
		}
		switch {
		case host.Runtime.ConnectionState != types.HostSystemConnectionStateConnected:
			problems = append(problems, fmt.Sprintf("The host %s is %s.", host.Name, host.Runtime.ConnectionState))
		case host.Runtime.InMaintenanceMode:
			problems = append(problems, fmt.Sprintf("The host %s is in maintenance mode.", host.Name))
		}
	}
	if poolRef, given := call.Refs["pool"]; given && simulator.Map.Get(poolRef) == nil {
		writeFault(w, &types.ManagedObjectNotFound{Obj: poolRef}, "managed object not found: "+poolRef.Value)
		return
	}
	events := ""
	for i, text := range problems {
		events += fmt.Sprintf(`<returnval xsi:type="MigrationHostErrorEvent"><key>%d</key><chainId>%d</chainId>`+
			`<createdTime>%s</createdTime><userName></userName><fullFormattedMessage>%s</fullFormattedMessage>`+
			`<fault xsi:type="InvalidState"></fault></returnval>`, i, i, nowText(), xmlText(text))
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `%s<ValidateMigrationResponse xmlns="urn:vim25">%s</ValidateMigrationResponse>%s`,
		envelopeStart, events, envelopeEnd)
}

func nowText() string {
	return time.Now().UTC().Format(time.RFC3339Nano)
}

// migrateAsRelocate turns a MigrateVM_Task request (which 0.24 lacks) into
// the RelocateVM_Task the stock simulator performs, with the same pool and
// host: what vCenter does for a migration within its inventory. The answer's
// element is renamed back (wireWriter.rename).
func migrateAsRelocate(call *soapCall) []byte {
	spec := ""
	for _, name := range []string{"pool", "host"} {
		if ref, ok := call.Refs[name]; ok {
			spec += fmt.Sprintf(`<%s type="%s">%s</%s>`, name, ref.Type, xmlText(ref.Value), name)
		}
	}
	priority := call.Args["priority"]
	if priority == "" {
		priority = "defaultPriority"
	}
	return []byte(fmt.Sprintf(`%s<RelocateVM_Task xmlns="urn:vim25"><_this type="%s">%s</_this><spec>%s</spec>`+
		`<priority>%s</priority></RelocateVM_Task>%s`,
		envelopeStart, call.This.Type, xmlText(call.This.Value), spec, xmlText(priority), envelopeEnd))
}
