package profile

import "github.com/prometheus/client_golang/prometheus"

// metrics of a Store:
//
//	verdict_profiles_cached                     gauge: profiles held in memory
//	verdict_profiles_evicted_total              profiles dropped from memory (kept on disk)
//	verdict_profiles_written_total              profiles written to disk
//	verdict_profiles_swept_total                profiles erased by Sweep (not seen within the horizon)
//	verdict_profiles_store_errors_total{op}     errors of the database: op is read, write, or
//	                                            encode (a record left out of a flush)
//	verdict_profiles_flush_duration_seconds     time to write one batch (histogram)
type metrics struct {
	evictions prometheus.Counter
	written   prometheus.Counter
	swept     prometheus.Counter
	errors    *prometheus.CounterVec
	flushes   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, s *Store) *metrics {
	m := &metrics{
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_profiles_evicted_total",
			Help: "Profiles dropped from memory to stay within the cache bound (they stay on disk).",
		}),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_profiles_written_total",
			Help: "Profiles written to the profile store.",
		}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_profiles_swept_total",
			Help: "Profiles erased because their user was not seen within the profile horizon.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_profiles_store_errors_total",
			Help: "Errors reading, writing or encoding records of the profile store, by operation.",
		}, []string{"op"}),
		flushes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "verdict_profiles_flush_duration_seconds",
			Help:    "Time taken to write one batch of changed profiles.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.evictions, m.written, m.swept, m.errors, m.flushes,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "verdict_profiles_cached",
				Help: "Profiles held in memory.",
			}, func() float64 { return float64(s.Len()) }))
	}
	return m
}
