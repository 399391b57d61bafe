package velocity

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// t0 is a bucket boundary for every window used in the tests (its Unix time
// is a multiple of 50s and of 1m).
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fixedClock returns a clock a day after t0, so that test events are never
// clamped as future ones unless a test means them to be.
func fixedClock() time.Time { return t0.Add(24 * time.Hour) }

func newTestStore(o Options) (*Store, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	if o.Clock == nil {
		o.Clock = fixedClock
	}
	o.Registerer = reg
	return NewStore(o), reg
}

// metric returns the value of the series of family name with the given
// labels, and whether it exists.
func metric(t *testing.T, reg *prometheus.Registry, name string,
	labels map[string]string) (float64, bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if !maps.Equal(got, labels) {
				continue
			}
			if m.Counter != nil {
				return m.GetCounter().GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// dump returns a counter's state keyed by key, with distinct values sorted,
// for exact comparisons.
func dump(c *Counter) map[uint64][]cell {
	out := map[uint64][]cell{}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, cells := range sh.keys {
			cs := slices.Clone(cells)
			if c.spec.Distinct {
				slices.SortFunc(cs, func(a, b cell) int {
					if a.v < b.v {
						return -1
					}
					if a.v > b.v {
						return 1
					}
					return 0
				})
			}
			out[k] = cs
		}
		sh.mu.Unlock()
	}
	return out
}

// keysOf returns the keys a counter holds, sorted.
func keysOf(c *Counter) []uint64 {
	return slices.Sorted(maps.Keys(dump(c)))
}
