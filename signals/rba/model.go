package rba

import (
	"math"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxValues is Options.MaxValues when it is zero.
const DefaultMaxValues = 500_000

// evictSample is how many values a full table compares to pick the least
// frequent one to evict.
const evictSample = 16

// Options configure a Model.
type Options struct {
	// MaxValues bounds the distinct values one level's table holds, over
	// all tenants. Default (zero or negative) 500,000. Only the address
	// and user-agent tables come near it in practice; each value costs
	// about 40 bytes (BenchmarkModelMemory). When a table is full, a new
	// value evicts the least frequent of 16 sampled values, counted in
	// verdict_rba_evictions_total: an evicted value reads as unseen, which
	// for a rare value changes its global likelihood by no more than its
	// own small count over all logins.
	MaxValues int
	// Registerer, when set, gets the model's metrics.
	Registerer prometheus.Registerer
}

// Model holds the global frequency tables of every tenant. It is safe for
// concurrent use; Score and Learn take one lock for a few map lookups.
type Model struct {
	maxValues int

	mu      sync.Mutex
	tables  [NumLevels]table
	tenants map[string]*tenant
	byID    []*tenant
	// dirty holds what changed since the last flush, flushing what a
	// flush in progress is writing; spare is the set emptied by the last
	// flush, the next dirty one.
	dirty, flushing, spare changes
	// snap is the copy of the changed records a flush writes.
	snap snapshot
}

// table counts one level's values. Keys are the xxhash of the value with the
// tenant's seed mixed in, so tenants share the bound but not the counts.
type table struct {
	m         map[uint64]cell
	evictions uint64
}

type cell struct {
	n      uint32
	tenant uint32
}

// tenant is one tenant's totals.
type tenant struct {
	id       uint32
	name     string
	seed     uint64
	logins   uint64
	users    uint64
	distinct [NumLevels]uint64
}

// changes are the records changed since a flush: each value with its cell
// as it is now (n is 0 for a value gone from its table), so that a flush
// reads them without the model's lock.
type changes struct {
	values  map[valueKey]cell
	tenants map[uint32]struct{}
}

type valueKey struct {
	level Level
	key   uint64
}

// New returns an empty model.
func New(opts Options) *Model {
	m := &Model{maxValues: opts.MaxValues, tenants: map[string]*tenant{}}
	if m.maxValues <= 0 {
		m.maxValues = DefaultMaxValues
	}
	for i := range m.tables {
		m.tables[i].m = map[uint64]cell{}
	}
	m.dirty = newChanges()
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(collector{m})
	}
	return m
}

func newChanges() changes {
	return changes{values: map[valueKey]cell{}, tenants: map[uint32]struct{}{}}
}

// tenantOf returns the tenant, creating it when create is set; m.mu is held.
// TODO: bound the number of tenants; values are bounded, tenant records (~100 B) are not.
func (m *Model) tenantOf(name string, create bool) *tenant {
	t := m.tenants[name]
	if t == nil && create {
		t = &tenant{id: uint32(len(m.byID)), name: name, seed: seedOf(name)}
		m.tenants[name] = t
		m.byID = append(m.byID, t)
		m.dirty.tenants[t.id] = struct{}{}
	}
	return t
}

// seedOf is what a tenant's value hashes are mixed with: 0 for the default
// tenant.
func seedOf(tenant string) uint64 {
	if tenant == "" {
		return 0
	}
	return xxhash.Sum64String(tenant) | 1
}

func (t *tenant) key(v string) uint64 { return xxhash.Sum64String(v) ^ t.seed }

// Score scores login x of a user with history h in a tenant. It does not
// change the model: the engine teaches it afterwards, if the login is
// allowed.
func (m *Model) Score(tenantName string, x *Login, h History) Score {
	var g globalCounts
	m.mu.Lock()
	t := m.tenantOf(tenantName, false)
	if t != nil {
		g.logins, g.users = float64(t.logins), float64(t.users)
		for l := range NumLevels {
			g.count[l] = float64(m.tables[l].m[t.key(x[l])].n)
			g.distinct[l] = float64(t.distinct[l])
		}
	}
	m.mu.Unlock()
	return score(&g, x, h)
}

// Learn adds a login to the tenant's tables. first says that it is the
// user's first login, which makes one more user.
func (m *Model) Learn(tenantName string, x *Login, first bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenantOf(tenantName, true)
	t.logins++
	if first {
		t.users++
	}
	m.dirty.tenants[t.id] = struct{}{}
	for l := range NumLevels {
		m.add(l, t, t.key(x[l]), 1)
	}
}

// Unlearn takes a learnt login back out (feedback says it was fraud). last
// says that it was the user's only login, which makes one user fewer.
func (m *Model) Unlearn(tenantName string, x *Login, last bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenantOf(tenantName, false)
	if t == nil {
		return
	}
	t.logins = subFloor(t.logins, 1)
	if last {
		t.users = subFloor(t.users, 1)
	}
	m.dirty.tenants[t.id] = struct{}{}
	for l := range NumLevels {
		m.sub(l, t, t.key(x[l]), 1)
	}
}

// Forget takes a whole user out of the tenant's tables (erasure): logins is
// their number of logins, and each calls fn with a level's values and
// counts as the user's history holds them.
func (m *Model) Forget(tenantName string, logins int, each func(l Level, fn func(v string, n int))) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenantOf(tenantName, false)
	if t == nil || logins <= 0 {
		return
	}
	t.logins = subFloor(t.logins, uint64(logins))
	t.users = subFloor(t.users, 1)
	m.dirty.tenants[t.id] = struct{}{}
	for l := range NumLevels {
		each(l, func(v string, n int) { m.sub(l, t, t.key(v), uint32(max(n, 0))) })
	}
}

func subFloor(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// add raises a value's count, evicting when the table is full; m.mu is held.
func (m *Model) add(l Level, t *tenant, key uint64, n uint32) {
	tb := &m.tables[l]
	c, ok := tb.m[key]
	if !ok {
		if len(tb.m) >= m.maxValues {
			m.evict(l)
		}
		c.tenant = t.id
		t.distinct[l]++
	}
	c.n = uint32(min(uint64(c.n)+uint64(n), math.MaxUint32))
	tb.m[key] = c
	m.dirty.values[valueKey{l, key}] = c
}

// sub lowers a value's count and drops it at zero; m.mu is held.
func (m *Model) sub(l Level, t *tenant, key uint64, n uint32) {
	tb := &m.tables[l]
	c, ok := tb.m[key]
	if !ok || c.tenant != t.id {
		return
	}
	if c.n <= n {
		delete(tb.m, key)
		t.distinct[l] = subFloor(t.distinct[l], 1)
		m.dirty.values[valueKey{l, key}] = cell{}
		return
	}
	c.n -= n
	tb.m[key] = c
	m.dirty.values[valueKey{l, key}] = c
}

// evict removes the least frequent of a sample of values; m.mu is held.
// Ranging over a Go map starts at a random place, which makes the sample
// random.
func (m *Model) evict(l Level) {
	tb := &m.tables[l]
	var victim uint64
	least, seen := uint32(math.MaxUint32), 0
	for k, c := range tb.m {
		if c.n < least {
			victim, least = k, c.n
		}
		if seen++; seen == evictSample {
			break
		}
	}
	c := tb.m[victim]
	delete(tb.m, victim)
	tb.evictions++
	if int(c.tenant) < len(m.byID) {
		t := m.byID[c.tenant]
		t.distinct[l] = subFloor(t.distinct[l], 1)
	}
	m.dirty.values[valueKey{l, victim}] = cell{}
}

// Stats describes the model.
type Stats struct {
	// Values is the number of values per level, over all tenants.
	Values [NumLevels]int
	// Evictions counts values evicted per level.
	Evictions [NumLevels]uint64
	// Logins and Users add up the tenants'.
	Logins, Users uint64
	Tenants       int
}

// Stats returns the model's sizes.
func (m *Model) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s Stats
	for l := range NumLevels {
		s.Values[l] = len(m.tables[l].m)
		s.Evictions[l] = m.tables[l].evictions
	}
	for _, t := range m.byID {
		s.Logins += t.logins
		s.Users += t.users
	}
	s.Tenants = len(m.byID)
	return s
}

// TenantStats returns a tenant's logins and users, and whether the model
// knows the tenant.
func (m *Model) TenantStats(name string) (logins, users uint64, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenantOf(name, false)
	if t == nil {
		return 0, 0, false
	}
	return t.logins, t.users, true
}
