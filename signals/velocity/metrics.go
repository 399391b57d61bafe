package velocity

import "github.com/prometheus/client_golang/prometheus"

// The store's metrics. They are read from the counters at scrape time, so
// Add touches no metric, and a counter dropped by Retain has no series left.
var (
	descKeys = prometheus.NewDesc("verdict_velocity_keys",
		"Number of keys a velocity counter holds.", []string{"counter"}, nil)
	descMemory = prometheus.NewDesc("verdict_velocity_memory_bytes",
		"Estimated memory of a velocity counter's keys and cells, in bytes.",
		[]string{"counter"}, nil)
	descEvictions = prometheus.NewDesc("verdict_velocity_evictions_total",
		"Keys evicted from a velocity counter, by reason: expired (nothing "+
			"they held still counted) or capacity (MaxKeys was reached).",
		[]string{"counter", "reason"}, nil)
	descLate = prometheus.NewDesc("verdict_velocity_late_events_total",
		"Events not counted because their time was older than the "+
			"counter's newest event time minus lateness and window.",
		[]string{"counter"}, nil)
	descFuture = prometheus.NewDesc("verdict_velocity_future_events_total",
		"Events whose time was too far ahead of the clock and was clamped.",
		[]string{"counter"}, nil)
	descSaturated = prometheus.NewDesc("verdict_velocity_distinct_saturated_total",
		"Events that found their key's distinct set full, so the count "+
			"saturated at MaxDistinct.", []string{"counter"}, nil)
)

// collector exports a Store's Stats as metrics.
type collector struct{ s *Store }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descKeys, descMemory, descEvictions,
		descLate, descFuture, descSaturated} {
		ch <- d
	}
}

func (m collector) Collect(ch chan<- prometheus.Metric) {
	// During a reload an old and a new counter may share a name; their
	// series are summed, as one series per name is all a registry accepts.
	byName := map[string]*CounterStats{}
	var names []string
	for _, cs := range m.s.Stats().Counters {
		sum, ok := byName[cs.Spec.Name]
		if !ok {
			sum = &CounterStats{}
			byName[cs.Spec.Name] = sum
			names = append(names, cs.Spec.Name)
		}
		sum.Keys += cs.Keys
		sum.MemoryBytes += cs.MemoryBytes
		sum.EvictedExpired += cs.EvictedExpired
		sum.EvictedCapacity += cs.EvictedCapacity
		sum.LateEvents += cs.LateEvents
		sum.FutureEvents += cs.FutureEvents
		sum.DistinctSaturated += cs.DistinctSaturated
	}
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	for _, name := range names {
		cs := byName[name]
		ch <- prometheus.MustNewConstMetric(descKeys, gauge, float64(cs.Keys), name)
		ch <- prometheus.MustNewConstMetric(descMemory, gauge, float64(cs.MemoryBytes), name)
		ch <- prometheus.MustNewConstMetric(descEvictions, counter,
			float64(cs.EvictedExpired), name, "expired")
		ch <- prometheus.MustNewConstMetric(descEvictions, counter,
			float64(cs.EvictedCapacity), name, "capacity")
		ch <- prometheus.MustNewConstMetric(descLate, counter, float64(cs.LateEvents), name)
		ch <- prometheus.MustNewConstMetric(descFuture, counter, float64(cs.FutureEvents), name)
		ch <- prometheus.MustNewConstMetric(descSaturated, counter,
			float64(cs.DistinctSaturated), name)
	}
}
