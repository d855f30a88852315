package main

// Behaviour set through the control API: injected faults, delays, slow
// tasks and questions waiting for a VM operation.

import (
	"sync"
	"time"
)

type faultRule struct {
	Fault   string
	Message string
	Task    bool
	Count   int // remaining uses; < 0: until cleared
}

type taskBehaviour struct {
	Duration time.Duration
	Steps    int
}

type choice struct {
	Key   string
	Label string
}

type questionRule struct {
	Text          string
	Choices       []choice
	Default       string
	On            string   // method that raises it, e.g. PowerOnVM_Task
	CancelChoices []string // answers that make the task fail
}

type rules struct {
	mu         sync.Mutex
	faults     map[string]*faultRule
	delays     map[string]time.Duration
	behaviours map[string]taskBehaviour
	questions  map[string][]*questionRule // by VM name, oldest first
}

func newRules() *rules {
	return &rules{
		faults:     map[string]*faultRule{},
		delays:     map[string]time.Duration{},
		behaviours: map[string]taskBehaviour{},
		questions:  map[string][]*questionRule{},
	}
}

// delayFor is the delay of method plus the delay for every method ("*").
func (r *rules) delayFor(method string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delays["*"] + r.delays[method]
}

// takeFault returns the fault rule of method, using up one count.
func (r *rules) takeFault(method string) *faultRule {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.faults[method]
	if !ok {
		return nil
	}
	copied := *f
	if f.Count > 0 {
		f.Count--
		if f.Count == 0 {
			delete(r.faults, method)
		}
	}
	return &copied
}

func (r *rules) behaviour(method string) (taskBehaviour, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.behaviours[method]
	return b, ok
}

// takeQuestion pops the oldest question for vmName raised by method.
func (r *rules) takeQuestion(vmName, method string) *questionRule {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.questions[vmName]
	for i, q := range list {
		if q.On == method {
			r.questions[vmName] = append(list[:i:i], list[i+1:]...)
			if len(r.questions[vmName]) == 0 {
				delete(r.questions, vmName)
			}
			return q
		}
	}
	return nil
}

func (r *rules) clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = map[string]*faultRule{}
	r.delays = map[string]time.Duration{}
	r.behaviours = map[string]taskBehaviour{}
	r.questions = map[string][]*questionRule{}
}
