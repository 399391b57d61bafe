package rba

import "github.com/prometheus/client_golang/prometheus"

var (
	descValues = prometheus.NewDesc("verdict_rba_values",
		"Distinct values the RBA model's global table of a level holds, over all tenants.",
		[]string{"level"}, nil)
	descEvictions = prometheus.NewDesc("verdict_rba_evictions_total",
		"Values evicted from an RBA global table to stay within its bound.",
		[]string{"level"}, nil)
	descLogins = prometheus.NewDesc("verdict_rba_logins",
		"Logins the RBA model's global tables were learnt from, over all tenants.", nil, nil)
)

// collector exports a Model's Stats at scrape time, so Learn touches no
// metric.
type collector struct{ m *Model }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descValues
	ch <- descEvictions
	ch <- descLogins
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Stats()
	for l := range NumLevels {
		ch <- prometheus.MustNewConstMetric(descValues, prometheus.GaugeValue,
			float64(s.Values[l]), l.String())
		ch <- prometheus.MustNewConstMetric(descEvictions, prometheus.CounterValue,
			float64(s.Evictions[l]), l.String())
	}
	ch <- prometheus.MustNewConstMetric(descLogins, prometheus.GaugeValue, float64(s.Logins))
}
