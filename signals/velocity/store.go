package velocity

import (
	"slices"
	"sync"
	"time"
)

// Store holds the counters of the rule sets in use. It is safe for
// concurrent use.
type Store struct {
	opts Options

	mu   sync.Mutex
	live []*Counter // in creation order; Snapshot writes them in this order
}

// NewStore returns an empty store. A metrics registration error is logged,
// and the store works without metrics.
func NewStore(opts Options) *Store {
	s := &Store{opts: opts.withDefaults()}
	if r := s.opts.Registerer; r != nil {
		if err := r.Register(collector{s}); err != nil {
			s.opts.Logger.Error("velocity metrics not registered", "err", err)
		}
	}
	return s
}

// Counter returns the counter for spec, creating it if needed. Calling it
// again with an equal Spec (after defaults) returns the same *Counter and so
// keeps its counts across a rule reload; a changed Spec under the same name
// gets a new, empty counter, and the old one lives on, still counting for
// the rule set that holds it, until Retain drops it.
//
// An invalid spec (see Spec.Validate) is clamped into range and logged, so
// that a counter always exists; rule compilers should validate first.
func (s *Store) Counter(spec Spec) *Counter {
	if err := spec.Validate(); err != nil {
		s.opts.Logger.Warn("velocity counter spec clamped", "err", err)
	}
	spec = spec.normalize()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.find(spec); c != nil {
		return c
	}
	c := newCounter(spec, s.opts)
	s.live = append(s.live, c)
	return c
}

// find returns the live counter with the given normalised spec; s.mu is
// held.
func (s *Store) find(spec Spec) *Counter {
	for _, c := range s.live {
		if c.spec == spec {
			return c
		}
	}
	return nil
}

// Retain drops every counter that is not in keep, with its state and its
// metric series. Call it after every rule reload, successful or not, with
// the counters of the rule set in use.
func (s *Store) Retain(keep []*Counter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = slices.DeleteFunc(s.live, func(c *Counter) bool {
		return !slices.Contains(keep, c)
	})
}

// counters returns the live counters.
func (s *Store) counters() []*Counter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.live)
}

// Forget deletes keys from every counter and, because rules hash keys and
// distinct values the same way, deletes the values keys from every distinct
// set, for the erasure of a user (their key and its aliases). It returns how
// many entries (keys and distinct values) it removed. Removing values scans
// every key of every distinct counter once, whatever the number of keys.
func (s *Store) Forget(keys ...uint64) int {
	n := 0
	for _, c := range s.counters() {
		n += c.forget(keys)
	}
	return n
}

func (c *Counter) forget(keys []uint64) int {
	n := 0
	for _, key := range keys {
		sh := c.shardFor(key)
		sh.mu.Lock()
		if cells, ok := sh.keys[key]; ok {
			sh.cellCap -= cap(cells)
			delete(sh.keys, key)
			n++
		}
		sh.mu.Unlock()
	}
	if !c.spec.Distinct {
		return n
	}
	for i := range c.shards {
		n += forgetValues(&c.shards[i], keys)
	}
	return n
}

// forgetValues removes the values vs from every key of sh.
func forgetValues(sh *shard, vs []uint64) int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	n := 0
	for key, cells := range sh.keys {
		removed := 0
		for _, v := range vs {
			var ok bool
			if cells, ok = removeValue(cells, v); ok {
				removed++
			}
		}
		switch {
		case removed == 0:
			continue
		case len(cells) == 0:
			sh.cellCap -= cap(cells)
			delete(sh.keys, key)
		default:
			sh.keys[key] = cells
		}
		n += removed
	}
	return n
}

// Stats describes a store's counters.
type Stats struct {
	Counters []CounterStats
	// Keys and MemoryBytes add up the counters'.
	Keys        int
	MemoryBytes int64
}

// CounterStats describes one counter.
type CounterStats struct {
	Spec Spec
	Keys int
	// Cells is the number of buckets (event counters) or values (distinct
	// counters) the keys hold room for.
	Cells int
	// MemoryBytes estimates the memory of the keys and cells: measured map
	// overhead per key plus 16 bytes per cell.
	MemoryBytes int64
	// Newest is the newest event time the counter accepted; zero before the
	// first.
	Newest time.Time
	// EvictedExpired counts keys removed because nothing they held still
	// counted; EvictedCapacity counts live keys evicted to stay at MaxKeys.
	EvictedExpired, EvictedCapacity uint64
	// LateEvents counts events dropped as too late; FutureEvents counts
	// events whose time was clamped; DistinctSaturated counts events that
	// found their key's distinct set full.
	LateEvents, FutureEvents, DistinctSaturated uint64
}

// Stats returns the keys, memory estimate and event tallies of every
// counter.
func (s *Store) Stats() Stats {
	var st Stats
	for _, c := range s.counters() {
		cs := c.stats()
		st.Counters = append(st.Counters, cs)
		st.Keys += cs.Keys
		st.MemoryBytes += cs.MemoryBytes
	}
	return st
}

// mapBytesPerKey is the measured memory of one map entry (key, slice header
// and the map's own overhead at its usual load) without the cells; see
// BenchmarkMemory.
const mapBytesPerKey = 80

func (c *Counter) stats() CounterStats {
	cs := CounterStats{
		Spec:              c.spec,
		EvictedExpired:    c.evictExpired.Load(),
		EvictedCapacity:   c.evictCapacity.Load(),
		LateEvents:        c.late.Load(),
		FutureEvents:      c.future.Load(),
		DistinctSaturated: c.saturated.Load(),
	}
	if t := c.newest.Load(); t != noTime {
		cs.Newest = time.Unix(0, t).UTC()
	}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		cs.Keys += len(sh.keys)
		cs.Cells += sh.cellCap
		sh.mu.Unlock()
	}
	cs.MemoryBytes = int64(cs.Keys)*mapBytesPerKey + int64(cs.Cells)*16
	return cs
}
