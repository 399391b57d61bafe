package velocity

import (
	"runtime"
	"testing"
	"time"
)

// benchKey spreads i over the key space as xxhash would.
func benchKey(i uint64) uint64 { return i * 0x9E3779B97F4A7C15 }

// benchKeys is the number of keys of the big benchmarks. Their stores allow
// twice as many, so that no eviction runs.
const benchKeys = 1_000_000

var benchOptions = Options{Clock: fixedClock, MaxKeys: 2 * benchKeys}

// fill adds one event per key for n keys, with cellsPerKey buckets or values
// each, and returns the time after the last event.
func fill(c *Counter, n, cellsPerKey int) time.Time {
	at := t0
	for j := range cellsPerKey {
		for i := range n {
			// One bucket (50s) apart, so that each Add makes a new cell.
			c.Add(benchKey(uint64(i)), uint64(j), t0.Add(time.Duration(j)*50*time.Second))
		}
		at = t0.Add(time.Duration(j) * 50 * time.Second)
	}
	return at
}

func BenchmarkAdd(b *testing.B) {
	b.Run("warm_key", func(b *testing.B) {
		c := NewStore(benchOptions).Counter(Spec{Name: "c", Window: 10 * time.Minute})
		at := t0
		b.ReportAllocs()
		for b.Loop() {
			// Event time moves on, so buckets roll over and old ones go.
			at = at.Add(time.Millisecond)
			c.Add(42, 0, at)
		}
	})
	b.Run("many_keys", func(b *testing.B) {
		c := NewStore(benchOptions).Counter(Spec{Name: "c", Window: 10 * time.Minute})
		fill(c, benchKeys, 1)
		i := uint64(0)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			i++
			c.Add(benchKey(i%benchKeys), 0, t0.Add(time.Duration(i)))
		}
	})
	b.Run("parallel", func(b *testing.B) {
		c := NewStore(benchOptions).Counter(Spec{Name: "c", Window: 10 * time.Minute})
		fill(c, 1<<16, 1)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := uint64(0)
			for pb.Next() {
				i++
				c.Add(benchKey(i&(1<<16-1)), 0, t0.Add(time.Duration(i)))
			}
		})
	})
}

func BenchmarkAddDistinct(b *testing.B) {
	cases := []struct {
		name  string
		value func(i uint64) uint64
	}{
		{"warm_key_3_values", func(i uint64) uint64 { return i % 3 }},
		{"saturated_key_1000_values", benchKey},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c := NewStore(benchOptions).
				Counter(Spec{Name: "u", Window: 10 * time.Minute, Distinct: true})
			at := t0
			i := uint64(0)
			b.ReportAllocs()
			for b.Loop() {
				i++
				at = at.Add(time.Millisecond)
				c.Add(42, tc.value(i), at)
			}
		})
	}
}

func BenchmarkPeek(b *testing.B) {
	c := NewStore(benchOptions).Counter(Spec{Name: "c", Window: 10 * time.Minute})
	at := fill(c, 1<<16, 6)
	i := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		i++
		c.Peek(benchKey(i&(1<<16-1)), at)
	}
}

// BenchmarkMemory reports the heap bytes per key of a counter holding a
// million keys, measured and as Stats estimates it (run with -benchtime=1x).
func BenchmarkMemory(b *testing.B) {
	cases := []struct {
		name     string
		distinct bool
		cells    int
	}{
		{"events_1_bucket", false, 1},
		{"events_3_buckets", false, 3},
		{"distinct_1_value", true, 1},
		{"distinct_3_values", true, 3},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var perKey float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s := NewStore(benchOptions)
				c := s.Counter(Spec{Name: "c", Window: 10 * time.Minute, Distinct: tc.distinct})
				fill(c, benchKeys, tc.cells)
				runtime.GC()
				runtime.ReadMemStats(&after)
				perKey = float64(after.HeapAlloc-before.HeapAlloc) / benchKeys
				b.ReportMetric(float64(s.Stats().MemoryBytes)/benchKeys, "estimate-B/key")
				runtime.KeepAlive(c)
			}
			b.ReportMetric(perKey, "B/key")
		})
	}
}
