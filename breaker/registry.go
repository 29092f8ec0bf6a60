package breaker

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry shares breakers by name: code that asks for the breaker of "payments" anywhere in a program gets the same
// one, and so the same view of the dependency's health. The zero Registry is
// empty and ready to use; the package-level [Get], [All], [ResetAll] and
// [Execute] use a default one. A Registry is safe for concurrent use and must
// not be copied.
type Registry struct {
	mu        sync.RWMutex
	breakers  map[string]*Breaker
	listeners atomic.Pointer[[]*listener] // copy-on-write, written under mu
}

// Get returns the registry's breaker named name, creating it with cfg and
// opts if there is none yet. The config
// applies on creation only; later calls get the existing breaker whatever
// config they pass. Concurrent calls for one name create one breaker. Get
// fails only when it creates, for the reasons New does.
func (r *Registry) Get(name string, cfg Config, opts ...Option) (*Breaker, error) {
	r.mu.RLock()
	b := r.breakers[name]
	r.mu.RUnlock()
	if b != nil {
		return b, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.breakers[name]; b != nil {
		return b, nil
	}
	b, err := New(name, cfg, opts...)
	if err != nil {
		return nil, err
	}
	b.OnStateChange(r.forward) // before anyone can use it: no change is missed
	if r.breakers == nil {
		r.breakers = make(map[string]*Breaker)
	}
	r.breakers[name] = b
	return b, nil
}

// All returns the registry's breakers, sorted by name.
func (r *Registry) All() []*Breaker {
	r.mu.RLock()
	all := make([]*Breaker, 0, len(r.breakers))
	for _, b := range r.breakers {
		all = append(all, b)
	}
	r.mu.RUnlock()
	slices.SortFunc(all, func(a, b *Breaker) int { return strings.Compare(a.name, b.name) })
	return all
}

// ResetAll resets every breaker of the registry (see [Breaker.Reset]), as
// tests do between cases. The breakers stay in the registry.
func (r *Registry) ResetAll() {
	for _, b := range r.All() {
		b.Reset()
	}
}

// Execute runs fn through the registry's breaker named name, created with the
// zero Config if need be: the one-line way to guard a function by name. See
// [Breaker.Execute].
func (r *Registry) Execute(ctx context.Context, name string, fn func(context.Context) error) error {
	b, err := r.Get(name, Config{})
	if err != nil {
		return err
	}
	return b.Execute(ctx, fn)
}

// OnStateChange subscribes fn to the changes of state of all the registry's
// breakers, present and future, and returns the function that unsubscribes
// it. Each breaker delivers its changes as [Breaker.OnStateChange] says; the
// StateChange's Name tells the breakers apart.
func (r *Registry) OnStateChange(fn func(StateChange)) (unsubscribe func()) {
	if fn == nil {
		return func() {}
	}
	l := &listener{fn: fn}
	r.mu.Lock()
	var ls []*listener
	if p := r.listeners.Load(); p != nil {
		ls = *p
	}
	ls = append(slices.Clip(ls), l)
	r.listeners.Store(&ls)
	r.mu.Unlock()
	return func() {
		l.off.Store(true)
		r.mu.Lock()
		ls := slices.DeleteFunc(slices.Clone(*r.listeners.Load()), func(x *listener) bool { return x == l })
		r.listeners.Store(&ls)
		r.mu.Unlock()
	}
}

// forward passes a change of one of the registry's breakers to the
// registry's listeners.
func (r *Registry) forward(sc StateChange) {
	p := r.listeners.Load()
	if p == nil {
		return
	}
	for _, l := range *p {
		if !l.off.Load() {
			l.fn(sc)
		}
	}
}

var defaultRegistry Registry

// DefaultRegistry returns the registry of the package-level [Get], [All],
// [ResetAll] and [Execute], for subscribing to its changes of state.
func DefaultRegistry() *Registry { return &defaultRegistry }

// Get returns the default registry's breaker named name, creating it with cfg
// and opts if need be. See [Registry.Get].
func Get(name string, cfg Config, opts ...Option) (*Breaker, error) {
	return defaultRegistry.Get(name, cfg, opts...)
}

// All returns the default registry's breakers, sorted by name.
func All() []*Breaker { return defaultRegistry.All() }

// ResetAll resets every breaker of the default registry.
func ResetAll() { defaultRegistry.ResetAll() }

// Execute runs fn through the default registry's breaker named name, created
// with the zero Config if need be. See [Registry.Execute].
func Execute(ctx context.Context, name string, fn func(context.Context) error) error {
	return defaultRegistry.Execute(ctx, name, fn)
}
