package engine

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdictrisk/verdict/rules"
)

// ruleMetrics are the per-rule series. Rule names are chosen by analysts
// and bounded by the rule files; no event value reaches a label. Run-time
// errors are counted in the engine's verdict_rule_errors_total{rule}.
type ruleMetrics struct {
	evals         *prometheus.CounterVec
	matches       *prometheus.CounterVec
	errors        *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	shadowMatches *prometheus.CounterVec
	shadowAgree   *prometheus.CounterVec
	shadowPairs   *prometheus.CounterVec
}

// boundRule holds one rule's series, resolved once per rule set so that a
// decision does no label lookup.
type boundRule struct {
	evals, matches prometheus.Counter
	duration       prometheus.Observer
}

type matchCounter = prometheus.Counter

func newRuleMetrics(reg prometheus.Registerer, errors *prometheus.CounterVec) *ruleMetrics {
	m := &ruleMetrics{errors: errors,
		evals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_rule_evaluations_total",
			Help: "Evaluations of a rule's condition (expired rules are not evaluated).",
		}, []string{"rule"}),
		matches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_rule_matches_total",
			Help: "Evaluations in which a rule matched, by rule and mode (active or shadow).",
		}, []string{"rule", "mode"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "verdict_rule_evaluation_duration_seconds",
			Help: "Time to evaluate a rule's condition, measured on one decision in 16.",
			Buckets: []float64{1e-8, 2.5e-8, 5e-8, 1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 1e-5,
				1e-4, 1e-3},
		}, []string{"rule"}),
		shadowMatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_shadow_set_rule_matches_total",
			Help: "Decisions in which a rule of the shadow rule set matched.",
		}, []string{"rule"}),
		shadowAgree: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_shadow_set_decisions_total",
			Help: "Decisions also made by the shadow rule set, by whether its action " +
				"agreed with the live one (result: agree or disagree).",
		}, []string{"result"}),
		shadowPairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_shadow_set_disagreements_total",
			Help: "Decisions on which the shadow rule set's action differed from the live one, " +
				"by both actions.",
		}, []string{"live_action", "shadow_action"}),
	}
	if reg != nil {
		reg.MustRegister(m.evals, m.matches, m.duration, m.shadowMatches,
			m.shadowAgree, m.shadowPairs)
	}
	return m
}

func mode(r *rules.Rule) string {
	if r.Shadow {
		return "shadow"
	}
	return "active"
}

// bind resolves the series of every rule of set.
func (m *ruleMetrics) bind(set *rules.Set) []boundRule {
	out := make([]boundRule, len(set.Rules))
	for i, r := range set.Rules {
		out[i] = boundRule{evals: m.evals.WithLabelValues(r.Name),
			matches:  m.matches.WithLabelValues(r.Name, mode(r)),
			duration: m.duration.WithLabelValues(r.Name)}
	}
	return out
}

// forget deletes the series of the rules of old that are gone from cur, and
// the match series of a rule whose mode changed.
func (m *ruleMetrics) forget(old, cur *rules.Set) {
	now := map[string]string{}
	for _, r := range cur.Rules {
		now[r.Name] = mode(r)
	}
	for _, r := range old.Rules {
		md, kept := now[r.Name]
		if md != mode(r) {
			m.matches.DeleteLabelValues(r.Name, mode(r))
		}
		if !kept {
			m.evals.DeleteLabelValues(r.Name)
			m.errors.DeleteLabelValues(r.Name)
			m.duration.DeleteLabelValues(r.Name)
		}
	}
}

func (m *ruleMetrics) bindShadow(set *rules.Set) []matchCounter {
	out := make([]matchCounter, len(set.Rules))
	for i, r := range set.Rules {
		out[i] = m.shadowMatches.WithLabelValues(r.Name)
	}
	return out
}

// forgetShadow deletes the series of the shadow set's rules that cur (nil
// for none) no longer has.
func (m *ruleMetrics) forgetShadow(old, cur *rules.Set) {
	kept := map[string]bool{}
	if cur != nil {
		for _, r := range cur.Rules {
			kept[r.Name] = true
		}
	}
	for _, r := range old.Rules {
		if !kept[r.Name] {
			m.shadowMatches.DeleteLabelValues(r.Name)
		}
	}
}

func (m *ruleMetrics) shadowDecision(live, shadow rules.Action) {
	if live == shadow {
		m.shadowAgree.WithLabelValues("agree").Inc()
		return
	}
	m.shadowAgree.WithLabelValues("disagree").Inc()
	m.shadowPairs.WithLabelValues(live.String(), shadow.String()).Inc()
}
