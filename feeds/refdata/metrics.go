package refdata

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector turns the feeds' status into metrics at scrape time, so the
// age is current and no goroutine keeps gauges up to date.
type collector struct {
	m                                            *Manager
	loaded, entries, age, success, lastOK, stale *prometheus.Desc
	problems, errors                             *prometheus.Desc
}

// Collector returns the feeds' Prometheus metrics (listed in the package
// doc). The only label is the feed's name, which the configuration limits
// to lower-case letters, digits, "_" and "-".
func (m *Manager) Collector() prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("verdict_feed_"+name, help, []string{"feed"}, nil)
	}
	return &collector{m: m,
		loaded:  d("loaded", "1 when the feed has a copy in use, 0 when its signals are missing."),
		entries: d("entries", "Entries in the feed's copy in use (prefixes, numbers, domains or ranges)."),
		age:     d("age_seconds", "Seconds since the feed last loaded or confirmed its sources."),
		success: d("last_success_timestamp_seconds", "When the feed last loaded successfully, as a Unix time."),
		lastOK:  d("last_load_successful", "1 when the feed's last load attempt succeeded."),
		stale:   d("stale", "1 when the feed's copy is older than its max_age."),
		problems: d("problems",
			"Junk lines skipped and warnings in the feed's copy in use."),
		errors: d("load_errors_total", "Failed loads of the feed since the process started."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.loaded, c.entries, c.age, c.success, c.lastOK,
		c.stale, c.problems, c.errors} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, s := range c.m.Status() {
		g := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, s.Name)
		}
		g(c.loaded, b(s.Loaded))
		g(c.entries, float64(s.Entries))
		g(c.lastOK, b(s.LastOK))
		g(c.stale, b(s.Stale))
		g(c.problems, float64(s.JunkLines+s.Warnings))
		if !s.LastSuccess.IsZero() {
			g(c.age, s.AgeSeconds)
			g(c.success, float64(s.LastSuccess.UnixNano())/1e9)
		}
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(s.Errors), s.Name)
	}
}
