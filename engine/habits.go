package engine

import (
	"sync"
)

// habits learns what a tenant's logins usually look like, for signals that
// only mean something against that background: a login without client data
// is suspect where nearly every login has it, and normal for an auth server
// that sends none (device.client_data_usual).
//
// Each tenant's share is an exponentially weighted moving average over its
// allowed successful logins, so it follows a change of integration (a new
// SDK rolled out) within a few times habitSpan logins. It lives in memory:
// after a restart it is 0 until HabitMinLogins logins have been seen again.
//
// TODO: keep the shares in the state folder so a restart does not wait for HabitMinLogins logins.
type habits struct {
	min     int
	mu      sync.Mutex
	tenants map[string]*habit
}

// habit is one tenant's background.
type habit struct {
	clientData float64 // moving share of logins with client data
	n          int     // logins seen, up to the habits' min
}

const (
	// habitSpan is the number of logins the moving average mostly
	// reflects: each login weighs 1/habitSpan.
	habitSpan = 500
	// maxHabitTenants bounds the tenants tracked; further tenants share
	// the "" tenant's background rather than grow the map without end.
	maxHabitTenants = 10_000
)

func newHabits(min int) *habits {
	return &habits{min: min, tenants: map[string]*habit{}}
}

// observe records an allowed successful login of tenant, with or without
// client data.
func (h *habits) observe(tenant string, clientData bool) {
	x := 0.0
	if clientData {
		x = 1
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tenants[tenant]
	if t == nil {
		if len(h.tenants) >= maxHabitTenants {
			tenant = ""
		}
		if t = h.tenants[tenant]; t == nil {
			t = &habit{}
			h.tenants[tenant] = t
		}
	}
	if t.n < h.min {
		// Until the average has enough weight, it is the plain mean.
		t.n++
		t.clientData += (x - t.clientData) / float64(t.n)
		return
	}
	t.clientData += (x - t.clientData) / habitSpan
}

// clientDataUsual returns tenant's share of logins with client data, or 0
// while fewer than the minimum have been seen.
func (h *habits) clientDataUsual(tenant string) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tenants[tenant]
	if t == nil && len(h.tenants) >= maxHabitTenants {
		t = h.tenants[""]
	}
	if t == nil || t.n < h.min {
		return 0
	}
	return t.clientData
}
