package engine

import "sync"

// interned keeps the strings the RBA model and the profile read for values
// that repeat from event to event (a user agent's hash, a browser name and
// major version), so that making them does not allocate on the hot path.
// It holds at most maxInterned entries of each kind and starts over when
// full: a flood of one-off user agents costs allocations, not memory.
type interned struct {
	mu       sync.RWMutex
	agents   map[string]string    // user agent → its hash text
	versions map[[2]string]string // name, major version → "name major"
}

const maxInterned = 20_000

func newInterned() *interned {
	return &interned{agents: map[string]string{}, versions: map[[2]string]string{}}
}

// agent returns hashText(ua).
func (in *interned) agent(ua string) string {
	in.mu.RLock()
	h, ok := in.agents[ua]
	in.mu.RUnlock()
	if ok {
		return h
	}
	h = hashText(ua)
	in.mu.Lock()
	if len(in.agents) >= maxInterned {
		clear(in.agents)
	}
	in.agents[ua] = h
	in.mu.Unlock()
	return h
}

// version returns nameVersion(name, version).
func (in *interned) version(name, version string) string {
	if name == "" {
		return ""
	}
	k := [2]string{name, majorOf(version)}
	in.mu.RLock()
	v, ok := in.versions[k]
	in.mu.RUnlock()
	if ok {
		return v
	}
	v = nameVersion(name, version)
	in.mu.Lock()
	if len(in.versions) >= maxInterned {
		clear(in.versions)
	}
	in.versions[k] = v
	in.mu.Unlock()
	return v
}
