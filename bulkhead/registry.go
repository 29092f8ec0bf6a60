package bulkhead

import (
	"slices"
	"strings"
	"sync"
)

// Registry shares bulkheads by name, so that every caller of one backend, in
// any part of a program, draws on the same permits: a bulkhead only isolates
// if all the calls it guards go through it. The zero Registry is empty and
// ready to use; the package-level [Get] and [All] use a default one. A
// Registry is safe for concurrent use and must not be copied.
type Registry struct {
	mu        sync.RWMutex
	bulkheads map[string]*Bulkhead
}

// Get returns the registry's bulkhead named name, creating it with cfg and
// opts if there is none yet. The config applies on creation only; later
// calls get the existing bulkhead whatever config they pass. Concurrent calls
// for one name create one bulkhead. Get fails only when it creates, for the
// reasons [New] does.
func (r *Registry) Get(name string, cfg Config, opts ...Option) (*Bulkhead, error) {
	r.mu.RLock()
	b := r.bulkheads[name]
	r.mu.RUnlock()
	if b != nil {
		return b, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.bulkheads[name]; b != nil {
		return b, nil
	}
	b, err := New(name, cfg, opts...)
	if err != nil {
		return nil, err
	}
	if r.bulkheads == nil {
		r.bulkheads = make(map[string]*Bulkhead)
	}
	r.bulkheads[name] = b
	return b, nil
}

// All returns the registry's bulkheads, sorted by name: what a health check
// walks to report each one's [Bulkhead.Stats].
func (r *Registry) All() []*Bulkhead {
	r.mu.RLock()
	all := make([]*Bulkhead, 0, len(r.bulkheads))
	for _, b := range r.bulkheads {
		all = append(all, b)
	}
	r.mu.RUnlock()
	slices.SortFunc(all, func(a, b *Bulkhead) int { return strings.Compare(a.name, b.name) })
	return all
}

var defaultRegistry Registry

// DefaultRegistry returns the registry of the package-level [Get] and [All].
func DefaultRegistry() *Registry { return &defaultRegistry }

// Get returns the default registry's bulkhead named name, creating it with
// cfg and opts if need be. See [Registry.Get].
func Get(name string, cfg Config, opts ...Option) (*Bulkhead, error) {
	return defaultRegistry.Get(name, cfg, opts...)
}

// All returns the default registry's bulkheads, sorted by name.
func All() []*Bulkhead { return defaultRegistry.All() }
