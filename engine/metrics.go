package engine

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdictrisk/verdict/signals"
)

type metrics struct {
	decisions    *prometheus.CounterVec
	byAction     [4]prometheus.Counter
	latency      prometheus.Histogram
	reasons      *prometheus.CounterVec
	ruleErrors   *prometheus.CounterVec
	repeated     prometheus.Counter
	idReused     prometheus.Counter
	missing      *prometheus.CounterVec
	storeErrors  prometheus.Counter
	badForwarded prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_decisions_total",
			Help: "Decisions made, by action.",
		}, []string{"action"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "verdict_decision_duration_seconds",
			Help: "Engine time spent on one decision, from validation to recording.",
			Buckets: []float64{5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3,
				2.5e-3, 1e-2, 0.1},
		}),
		reasons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_reason_hits_total",
			Help: "Active rules that matched, by reason code.",
		}, []string{"code"}),
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_rule_errors_total",
			Help: "Rule or counter evaluations that failed at run time and counted as not matched.",
		}, []string{"rule"}),
		repeated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_events_repeated_total",
			Help: "Events whose id was seen before and that were answered with the first decision.",
		}),
		idReused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_events_id_reused_total",
			Help: "Events refused because their id was used for a different event within the dedupe window.",
		}),
		missing: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_signal_missing_total",
			Help: "Decisions made without a signal family, by family.",
		}, []string{"family"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_profile_read_errors_total",
			Help: "Decisions made without the user's profile because it could not be read.",
		}),
		badForwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_forwarded_header_errors_total",
			Help: "Events whose forwarding header had a malformed hop; the last good address was used.",
		}),
	}
	for a := range m.byAction {
		if a > 0 {
			m.byAction[a] = m.decisions.WithLabelValues(actionName(a))
		}
	}
	if reg != nil {
		reg.MustRegister(m.decisions, m.latency, m.reasons, m.ruleErrors, m.repeated,
			m.idReused, m.missing, m.storeErrors, m.badForwarded)
	}
	return m
}

func (m *metrics) observe(d *Decision, took time.Duration) {
	if int(d.Action) < len(m.byAction) && d.Action > 0 {
		m.byAction[d.Action].Inc()
	}
	m.latency.Observe(took.Seconds())
	for _, r := range d.Reasons {
		m.reasons.WithLabelValues(r.Code).Inc()
	}
	for _, f := range d.Missing {
		m.missing.WithLabelValues(f).Inc()
	}
}

func actionName(a int) string {
	return [...]string{"", "allow", "step_up", "deny"}[a]
}

func familiesOf(bits uint16) signals.Families { return signals.Families(bits) }

// noSource returns the families that have no source configured at all.
func (e *Engine) noSource() uint16 {
	var f signals.Families
	if e.opts.City == nil {
		f.Add(signals.FamilyGeo)
	}
	if e.opts.ASN == nil {
		f.Add(signals.FamilyASN)
	}
	if e.opts.Disposable == nil {
		f.Add(signals.FamilyEmail)
	}
	if e.opts.Lists == nil {
		f.Add(signals.FamilyLists)
	}
	return uint16(f)
}
