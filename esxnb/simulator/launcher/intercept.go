package main

// SOAP methods the launcher answers itself, before the stock handler.

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// anonymousMethods work without a session (as in the stock dispatcher).
var anonymousMethods = map[string]bool{
	"RetrieveServiceContent": true, "Login": true, "LoginByToken": true, "LoginExtensionByCertificate": true,
	"RetrieveProperties": true, "RetrievePropertiesEx": true, "Fetch": true, "CloneSession": true,
}

var guestMethods = map[string]bool{"ShutdownGuest": true, "RebootGuest": true, "StandbyGuest": true}

type openQuestion struct {
	id   string
	rule *questionRule
	task *asyncTask
	call *soapCall
	body []byte
}

var questionCounter int64

// intercept answers call itself when a rule or a launcher feature applies;
// it returns false to let the stock handler answer.
func (st *state) intercept(w http.ResponseWriter, r *http.Request, call *soapCall, body []byte) bool {
	method := call.Method
	st.rules.mu.Lock()
	_, hasFault := st.rules.faults[method]
	_, hasBehaviour := st.rules.behaviours[method]
	st.rules.mu.Unlock()
	vm, isVM := simulator.Map.Get(call.This).(*simulator.VirtualMachine)
	special := method == "AnswerVM" || method == "CancelTask" || guestMethods[method]
	question := false
	if isVM && strings.HasSuffix(method, "_Task") {
		st.rules.mu.Lock()
		for _, q := range st.rules.questions[vm.Name] {
			question = question || q.On == method
		}
		st.rules.mu.Unlock()
	}
	_, own := ownMethods[method] // methods.go
	if !hasFault && !hasBehaviour && !special && !question && !own {
		return false
	}
	if !anonymousMethods[method] && !st.sessionValid(r) {
		return false // the stock handler answers NotAuthenticated
	}

	if hasFault {
		if rule := st.rules.takeFault(method); rule != nil {
			st.answerFault(w, call, rule)
			return true
		}
	}
	switch {
	case own:
		return st.serveOwn(w, call, body)
	case method == "AnswerVM" && isVM:
		st.answerVM(w, vm, call)
		return true
	case method == "CancelTask":
		st.cancelTask(w, call)
		return true
	case guestMethods[method] && isVM:
		st.guestOperation(w, vm, method)
		return true
	case question:
		if st.askQuestion(w, vm, call, body) {
			return true
		}
	}
	if hasBehaviour && strings.HasSuffix(method, "_Task") {
		if b, ok := st.rules.behaviour(method); ok {
			if obj := simulator.Map.Get(call.This); obj != nil {
				at := st.startTask(obj, method, true)
				writeTaskRef(w, method, at.task.Self)
				go st.slowTask(at, call, body, b)
				return true
			}
		}
	}
	return false
}

func (st *state) answerFault(w http.ResponseWriter, call *soapCall, rule *faultRule) {
	fault, err := newFault(rule.Fault)
	if err == nil {
		err = completeFault(fault, call.Method, call.This)
	}
	if err != nil {
		fault = &types.SystemError{Reason: err.Error()}
	}
	message := rule.Message
	if message == "" {
		message = fmt.Sprintf("injected %s fault", rule.Fault)
	}
	if rule.Task && strings.HasSuffix(call.Method, "_Task") {
		if obj := simulator.Map.Get(call.This); obj != nil {
			at := st.startTask(obj, call.Method, false)
			st.finish(at, nil, fault, message)
			writeTaskRef(w, call.Method, at.task.Self)
			return
		}
	}
	writeFault(w, fault, message)
}

func (st *state) slowTask(at *asyncTask, call *soapCall, body []byte, b taskBehaviour) {
	steps := b.Steps
	if steps < 1 {
		steps = 1
	}
	step := b.Duration / time.Duration(steps)
	for i := 1; i <= steps; i++ {
		select {
		case <-at.cancelled:
			return
		case <-time.After(step):
		}
		if i < steps {
			at.progress(int32(i * 100 / steps))
		}
	}
	at.once.Do(func() {}) // no cancel from here on: the change happens now
	simulator.Map.Update(at.task, []types.PropertyChange{{Name: "info.cancelable", Val: false}})
	st.runStock(at, call, body)
}

func (st *state) cancelTask(w http.ResponseWriter, call *soapCall) {
	st.mu.Lock()
	at, ok := st.tasks[call.This.Value]
	st.mu.Unlock()
	if !ok {
		if t, exists := simulator.Map.Get(call.This).(*simulator.Task); exists {
			msg := "The task cannot be cancelled."
			if t.Info.State == types.TaskInfoStateSuccess || t.Info.State == types.TaskInfoStateError {
				msg = "The task is already complete."
			}
			writeFault(w, &types.InvalidState{}, msg)
			return
		}
		writeFault(w, &types.ManagedObjectNotFound{Obj: call.This}, "managed object not found: "+call.This.Value)
		return
	}
	cancelled := false
	at.once.Do(func() {
		cancelled = true
		close(at.cancelled)
		if at.onCancel != nil {
			at.onCancel()
		}
		st.finish(at, nil, &types.RequestCanceled{}, "The task was canceled by a user.")
	})
	if !cancelled {
		writeFault(w, &types.InvalidState{}, "The task can no longer be cancelled.")
		return
	}
	writeVoid(w, "CancelTask")
}

// guestOperation implements ShutdownGuest, RebootGuest and StandbyGuest
// with the checks of a real host: powered on, tools running.
func (st *state) guestOperation(w http.ResponseWriter, vm *simulator.VirtualMachine, method string) {
	var power types.VirtualMachinePowerState
	simulator.Map.WithLock(vm, func() { power = vm.Runtime.PowerState })
	if power != types.VirtualMachinePowerStatePoweredOn {
		writeFault(w, &types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOn, ExistingState: power},
			fmt.Sprintf("The attempted operation cannot be performed in the current state (%s).", power))
		return
	}
	if !st.toolsRunning(vm) {
		writeFault(w, &types.ToolsUnavailable{},
			"Cannot complete operation because VMware Tools is not running in this virtual machine.")
		return
	}
	delay := st.opts.shutdownDelay
	ref := vm.Self
	switch method {
	case "ShutdownGuest", "StandbyGuest":
		simulator.Map.WithLock(vm, func() {
			state := "shuttingDown"
			if method == "StandbyGuest" {
				state = "standby"
			}
			simulator.Map.Update(vm, []types.PropertyChange{{Name: "guest.guestState", Val: state}})
		})
		target := "PowerOffVM_Task"
		if method == "StandbyGuest" {
			target = "SuspendVM_Task"
		}
		go func() {
			time.Sleep(delay)
			st.dispatch(internalBody(target, ref))
		}()
	case "RebootGuest":
		simulator.Map.WithLock(vm, func() {
			simulator.Map.Update(vm, []types.PropertyChange{{Name: "guest.guestState", Val: "resetting"}})
		})
		go func() {
			time.Sleep(delay)
			simulator.Map.WithLock(vm, func() {
				if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
					return
				}
				now := time.Now()
				simulator.Map.Update(vm, []types.PropertyChange{
					{Name: "runtime.bootTime", Val: now},
					{Name: "summary.runtime.bootTime", Val: now},
					{Name: "guest.guestState", Val: "running"},
				})
			})
		}()
	}
	writeVoid(w, method)
}

// askQuestion starts a task that waits for AnswerVM or CancelTask.
func (st *state) askQuestion(w http.ResponseWriter, vm *simulator.VirtualMachine, call *soapCall, body []byte) bool {
	if call.Method == "PowerOnVM_Task" {
		off := true
		simulator.Map.WithLock(vm, func() { off = vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn })
		if !off {
			return false // the stock handler reports InvalidPowerState
		}
	}
	st.mu.Lock()
	_, busy := st.asked[vm.Self]
	st.mu.Unlock()
	if busy {
		return false
	}
	rule := st.rules.takeQuestion(vm.Name, call.Method)
	if rule == nil {
		return false
	}
	id := fmt.Sprintf("_vmx%d", atomic.AddInt64(&questionCounter, 1))
	at := st.startTask(vm, call.Method, true)
	q := &openQuestion{id: id, rule: rule, task: at, call: call, body: body}
	info := &types.VirtualMachineQuestionInfo{Id: id, Text: rule.Text}
	for i, c := range rule.Choices {
		info.Choice.ChoiceInfo = append(info.Choice.ChoiceInfo, &types.ElementDescription{
			Description: types.Description{Label: c.Label, Summary: c.Label},
			Key:         c.Key,
		})
		if c.Key == rule.Default {
			info.Choice.DefaultIndex = int32(i)
		}
	}
	ref := vm.Self
	at.onCancel = func() { st.clearQuestion(vm, ref) }
	st.mu.Lock()
	st.asked[ref] = q
	st.mu.Unlock()
	simulator.Map.WithLock(vm, func() {
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "runtime.question", Val: info},
			{Name: "summary.runtime.question", Val: info},
		})
	})
	writeTaskRef(w, call.Method, at.task.Self)
	return true
}

func (st *state) clearQuestion(vm *simulator.VirtualMachine, ref types.ManagedObjectReference) {
	st.mu.Lock()
	delete(st.asked, ref)
	st.mu.Unlock()
	simulator.Map.WithLock(vm, func() {
		vm.Runtime.Question = nil
		vm.Summary.Runtime.Question = nil
		simulator.Map.Update(vm, []types.PropertyChange{
			{Name: "runtime.question", Val: nil},
			{Name: "summary.runtime.question", Val: nil},
		})
	})
}

func (st *state) answerVM(w http.ResponseWriter, vm *simulator.VirtualMachine, call *soapCall) {
	st.mu.Lock()
	q, ok := st.asked[vm.Self]
	st.mu.Unlock()
	id, answer := call.Args["questionId"], call.Args["answerChoice"]
	if !ok || q.id != id {
		writeFault(w, &types.InvalidArgument{InvalidProperty: "questionId"},
			fmt.Sprintf("No question with id %q is pending on %s.", id, vm.Name))
		return
	}
	valid := false
	var keys []string
	for _, c := range q.rule.Choices {
		keys = append(keys, c.Key)
		valid = valid || c.Key == answer
	}
	if !valid {
		writeFault(w, &types.InvalidArgument{InvalidProperty: "answerChoice"},
			fmt.Sprintf("Answer %q is not one of the choices %s.", answer, strings.Join(keys, ", ")))
		return
	}
	claimed := false
	q.task.once.Do(func() { claimed = true })
	if !claimed {
		writeFault(w, &types.InvalidState{}, "The question's task was cancelled.")
		return
	}
	st.clearQuestion(vm, vm.Self)
	for _, c := range q.rule.CancelChoices {
		if c == answer {
			st.finish(q.task, nil, &types.RequestCanceled{}, "The operation was cancelled by the answer to the question.")
			writeVoid(w, "AnswerVM")
			return
		}
	}
	st.runStock(q.task, q.call, q.body)
	writeVoid(w, "AnswerVM")
}
