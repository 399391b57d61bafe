package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
)

func ruleSet(t testing.TB, src string) *rules.Set {
	t.Helper()
	s, err := rules.Load(fstest.MapFS{"r.yaml": {Data: []byte(src)}}, ".")
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	return s
}

// syncBuffer is a log destination tests can read while the engine writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type ruleEngine struct {
	eng   *engine.Engine
	reg   *prometheus.Registry
	log   *syncBuffer
	clock time.Time
}

func newRuleEngine(t testing.TB, set *rules.Set) *ruleEngine {
	t.Helper()
	r := &ruleEngine{reg: prometheus.NewRegistry(), log: &syncBuffer{},
		clock: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	eng, err := engine.New(engine.Options{Rules: set, Registerer: r.reg,
		Logger: slog.New(slog.NewJSONHandler(r.log, nil)),
		Now:    func() time.Time { return r.clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	r.eng = eng
	return r
}

func (r *ruleEngine) decide(t testing.TB, raw string, o engine.DecideOptions) *engine.Decision {
	t.Helper()
	var ev engine.Event
	if err := engine.DecodeEvent([]byte(raw), &ev); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	d, err := r.eng.DecideWith(context.Background(), &ev, o)
	if err != nil {
		t.Fatalf("decide %s: %v", raw, err)
	}
	return d
}

// metric returns the value of the series name{labels}, and whether it exists.
func metric(t testing.TB, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue(), true
				case m.Gauge != nil:
					return m.Gauge.GetValue(), true
				case m.Histogram != nil:
					return float64(m.Histogram.GetSampleCount()), true
				}
			}
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestRuleThatPanicsCountsAsNotMatched: an integer division by zero panics
// inside the expression; the rule counts as not matched, is counted and
// logged once a minute, and the decision is made by the other rules.
func TestRuleThatPanicsCountsAsNotMatched(t *testing.T) {
	r := newRuleEngine(t, ruleSet(t, `
rules:
  - {name: boom, when: 'int(event.properties.n) % int(event.properties.d) == 0', action: deny}
  - {name: fine, when: 'event.type == "login"', score: 60}
`))
	event := `{"type":"login","ip":"10.1.2.3","user":{"id":"u"},"properties":{"n":4,"d":0}}`
	for range 3 {
		d := r.decide(t, event, engine.DecideOptions{})
		if d.Action != rules.StepUp || len(d.Reasons) != 1 || d.Reasons[0].Rule != "fine" {
			t.Fatalf("decision = %v %+v, want step_up by fine alone", d.Action, d.Reasons)
		}
	}
	if v, _ := metric(t, r.reg, "verdict_rule_errors_total", "rule", "boom"); v != 3 {
		t.Errorf("verdict_rule_errors_total{rule=boom} = %v, want 3", v)
	}
	if n := strings.Count(r.log.String(), `"rule":"boom"`); n != 1 {
		t.Errorf("boom logged %d times, want once (rate-limited):\n%s", n, r.log)
	}
	if !strings.Contains(r.log.String(), "divide by zero") {
		t.Errorf("log does not say why:\n%s", r.log)
	}
	d := r.decide(t, event, engine.DecideOptions{Explain: true})
	if d.Explain[0].Rule != "boom" || d.Explain[0].Matched || d.Explain[0].Error == "" {
		t.Errorf("explain of boom = %+v", d.Explain[0])
	}
}

func TestPerRuleMetrics(t *testing.T) {
	r := newRuleEngine(t, ruleSet(t, `
rules:
  - {name: logins, when: 'event.type == "login"', score: 10}
  - {name: watch, when: 'event.type == "login"', score: 10, mode: shadow}
  - {name: gone, when: 'event.type == "signup"', score: 10}
  - {name: old, when: 'true', score: 10, expires: 2020-01-01}
`))
	for range 4 {
		r.decide(t, `{"type":"login","ip":"10.1.2.3","user":{"id":"u"}}`, engine.DecideOptions{})
	}
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"verdict_rule_evaluations_total", []string{"rule", "logins"}, 4},
		{"verdict_rule_evaluations_total", []string{"rule", "gone"}, 4},
		{"verdict_rule_evaluations_total", []string{"rule", "old"}, 0},
		{"verdict_rule_matches_total", []string{"rule", "logins", "mode", "active"}, 4},
		{"verdict_rule_matches_total", []string{"rule", "watch", "mode", "shadow"}, 4},
		{"verdict_rule_matches_total", []string{"rule", "gone"}, 0},
	}
	for _, c := range checks {
		if v, _ := metric(t, r.reg, c.name, c.labels...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	// Timing is sampled: after enough decisions some are timed.
	for range 200 {
		r.decide(t, `{"type":"login","ip":"10.1.2.3","user":{"id":"u"}}`, engine.DecideOptions{})
	}
	if n, ok := metric(t, r.reg, "verdict_rule_evaluation_duration_seconds", "rule", "logins"); !ok || n == 0 {
		t.Errorf("no evaluation time recorded for logins (%v)", n)
	}

	// A reload without "gone" and with "watch" active deletes their stale series.
	r.eng.SetRules(ruleSet(t, `
rules:
  - {name: logins, when: 'event.type == "login"', score: 10}
  - {name: watch, when: 'event.type == "login"', score: 10}
`))
	if _, ok := metric(t, r.reg, "verdict_rule_evaluations_total", "rule", "gone"); ok {
		t.Error("the series of a removed rule is still exported")
	}
	if _, ok := metric(t, r.reg, "verdict_rule_matches_total", "rule", "watch", "mode", "shadow"); ok {
		t.Error("the shadow series of a rule now active is still exported")
	}
	if v, _ := metric(t, r.reg, "verdict_rule_evaluations_total", "rule", "logins"); v != 204 {
		t.Errorf("a kept rule lost its count: %v", v)
	}
}

// TestCounterKeepsStateOnlyWhileItsDefinitionHolds: a reload keeps the counts
// of a counter it does not change, and starts a counter whose key changed
// from zero when its condition changed, even though its name, key and
// window stay.
func TestCounterKeepsStateOnlyWhileItsDefinitionHolds(t *testing.T) {
	const tmpl = `
counters:
  - {name: fails, key: ip.address, when: 'WHEN', window: 1h}
rules:
  - {name: many, when: velocity.fails > 100, score: 10}
`
	set := func(when, limit string) *rules.Set {
		return ruleSet(t, strings.NewReplacer("WHEN", when, "100", limit).Replace(tmpl))
	}
	failed := `event.outcome == "failed"`
	r := newRuleEngine(t, set(failed, "100"))
	fail := `{"type":"login","outcome":"failed","ip":"10.1.2.3","user":{"id":"u"}}`
	for range 3 {
		r.decide(t, fail, engine.DecideOptions{})
	}
	r.eng.SetRules(set(failed, "200"))
	if got := r.decide(t, fail, engine.DecideOptions{}).Velocity()["fails"]; got != 4 {
		t.Errorf("unchanged counter after reload = %d, want 4", got)
	}
	r.eng.SetRules(set(`event.type == "login"`, "200"))
	if got := r.decide(t, fail, engine.DecideOptions{}).Velocity()["fails"]; got != 1 {
		t.Errorf("counter with a new condition after reload = %d, want 1", got)
	}
}

// TestShadowSet: a candidate set in shadow sees every event, counts with its
// own counters where it declares new ones, and never changes the action.
func TestShadowSet(t *testing.T) {
	const counters = `
counters:
  - {name: fails, key: ip.address, when: 'event.outcome == "failed"', window: 1h}
`
	live := ruleSet(t, counters+`
rules:
  - {name: many-fails, when: velocity.fails >= 3, score: 60}
`)
	candidate := ruleSet(t, counters+`
  - {name: users, key: ip.address, distinct: user.key, window: 1h}
rules:
  - {name: spread, when: velocity.users >= 2 && velocity.fails >= 2, action: deny}
`)
	r := newRuleEngine(t, live)
	r.eng.SetShadowRules(candidate)
	var d *engine.Decision
	for _, u := range []string{"a", "b", "c"} {
		d = r.decide(t, `{"type":"login","outcome":"failed","ip":"10.1.2.3","user":{"id":"`+u+`"}}`,
			engine.DecideOptions{Explain: true})
	}
	if d.Action != rules.StepUp || d.Velocity()["fails"] != 3 {
		t.Fatalf("live decision = %v, fails %d; want step_up and 3 (the shadow set "+
			"must not count shared counters twice)", d.Action, d.Velocity()["fails"])
	}
	if d.ShadowSet == nil || d.ShadowSet.Action != rules.Deny ||
		d.ShadowSet.RulesVersion != candidate.Version {
		t.Fatalf("shadow set result = %+v", d.ShadowSet)
	}
	agree, _ := metric(t, r.reg, "verdict_shadow_set_decisions_total", "result", "agree")
	disagree, _ := metric(t, r.reg, "verdict_shadow_set_decisions_total", "result", "disagree")
	if agree != 1 || disagree != 2 {
		// a: both allow; b: live allow, shadow deny; c: step_up against deny.
		t.Errorf("agree %v disagree %v, want 1 and 2", agree, disagree)
	}
	if v, _ := metric(t, r.reg, "verdict_shadow_set_disagreements_total",
		"live_action", "allow", "shadow_action", "deny"); v != 1 {
		t.Errorf("allow/deny disagreements = %v, want 1", v)
	}
	logs := r.log.String()
	if !strings.Contains(logs, "shadow rule set disagrees") || strings.Contains(logs, "10.1.2.3") {
		t.Errorf("disagreement log (must not hold the address):\n%s", logs)
	}
	r.eng.SetShadowRules(nil)
	if d := r.decide(t, `{"type":"login","ip":"10.1.2.3","user":{"id":"a"}}`,
		engine.DecideOptions{Explain: true}); d.ShadowSet != nil {
		t.Error("the shadow set still runs after it was removed")
	}
	if _, ok := metric(t, r.reg, "verdict_shadow_set_rule_matches_total", "rule", "spread"); ok {
		t.Error("the removed shadow set's rule series is still exported")
	}
}

// TestExplainReadsTheValues: every rule's result names the values it read,
// velocity counts, free-form properties and missing families included.
func TestExplainReadsTheValues(t *testing.T) {
	r := newRuleEngine(t, ruleSet(t, `
counters:
  - {name: logins, key: user.key, window: 1h}
rules:
  - name: big
    when: 'velocity.logins >= 1 && event.properties.plan == "pro" && !missing("geo")'
    score: 10
  - {name: private, when: 'ip.private && ip.kind == "private"', score: 5}
`))
	d := r.decide(t, `{"type":"login","ip":"10.1.2.3","user":{"id":"u"},"properties":{"plan":"pro"}}`,
		engine.DecideOptions{Explain: true})
	b, _ := json.Marshal(d.Explain)
	want := `[{"rule":"big","matched":false,"took_ns":`
	if !strings.HasPrefix(string(b), want) {
		t.Fatalf("explain = %s", b)
	}
	reads := d.Explain[0].Reads
	if reads["velocity.logins"] != 1 || reads["event.properties.plan"] != "pro" ||
		reads["missing(geo)"] != true {
		t.Errorf("reads of big = %v", reads)
	}
	if d.Explain[1].Reads["ip.kind"] != "private" || d.Explain[1].Reads["ip.private"] != true ||
		!d.Explain[1].Matched {
		t.Errorf("explain of private = %+v", d.Explain[1])
	}
}

// TestAdjustFeedsTheProfile: signals set by Adjust count as enrichment: a
// country given to the second login is new for the user.
func TestAdjustFeedsTheProfile(t *testing.T) {
	r := newRuleEngine(t, ruleSet(t, `
rules:
  - {name: new-country, when: ip.country_new, score: 50}
`))
	in := func(c string) engine.DecideOptions {
		return engine.DecideOptions{Adjust: func(s *signals.Set) { s.IP.Country = c }}
	}
	login := `{"type":"login","outcome":"succeeded","ip":"203.0.113.5","user":{"id":"u"}}`
	r.decide(t, login, in("DE"))
	if d := r.decide(t, login, in("DE")); d.Action != rules.Allow {
		t.Errorf("home country again: %v", d.Action)
	}
	if d := r.decide(t, login, in("BR")); d.Action != rules.StepUp || !d.Signals.IP.CountryNew {
		t.Errorf("new country: %v %+v", d.Action, d.Signals.IP)
	}
}

// TestDebugRuleLogsWithoutPersonalData: a rule with debug on logs each
// evaluation and the values it read, except those that identify someone.
func TestDebugRuleLogsWithoutPersonalData(t *testing.T) {
	r := newRuleEngine(t, ruleSet(t, `
rules:
  - {name: dbg, when: 'ip.address == "10.9.9.9" && ip.kind == "private"', score: 5, debug: true}
`))
	r.decide(t, `{"type":"login","ip":"10.9.9.9","user":{"id":"u"}}`, engine.DecideOptions{})
	logs := r.log.String()
	if !strings.Contains(logs, `"msg":"rule debug"`) || !strings.Contains(logs, `"read.ip.kind":"private"`) ||
		!strings.Contains(logs, `"matched":true`) {
		t.Errorf("debug log:\n%s", logs)
	}
	if strings.Contains(logs, `"read.ip.address":"10.9.9.9"`) {
		t.Errorf("debug log holds the address:\n%s", logs)
	}
}

// TestRuleErrorLogsNoPersonalData: a rule that fails on a person's values
// (an e-mail, an address, a token in the properties) is logged without
// them; the caller's explanation keeps the full error.
func TestRuleErrorLogsNoPersonalData(t *testing.T) {
	r := newRuleEngine(t, ruleSet(t, `
counters:
  - {name: odd, key: 'ip.address', when: 'int(event.properties.token) > 0', window: 10m}
rules:
  - {name: numeric-user, when: 'int(user.key) > 5', score: 10}
  - {name: numeric-ip, when: 'float(ip.address) > 1', score: 10}
  - {name: numeric-token, when: 'int(event.properties.deep.token) > 1', score: 10}
  - {name: reads-odd, when: 'velocity.odd > 1', score: 10}
`))
	event := `{"type":"login","ip":"81.2.69.142","user":{"email":"Secret.Person@Example.org"},
		"properties":{"token":"tok_SECRET123","deep":{"token":"tok_DEEP456"}}}`
	d := r.decide(t, event, engine.DecideOptions{Explain: true})
	logs := r.log.String()
	for _, leak := range []string{"secret.person", "Secret.Person", "81.2.69.142", "tok_SECRET123",
		"tok_DEEP456"} {
		if strings.Contains(logs, leak) {
			t.Errorf("the log holds %q:\n%s", leak, logs)
		}
	}
	for _, rule := range []string{"numeric-user", "numeric-ip", "numeric-token", "counter:odd"} {
		if !strings.Contains(logs, `"rule":"`+rule+`"`) {
			t.Errorf("the failure of %s is not logged:\n%s", rule, logs)
		}
	}
	if !strings.Contains(logs, "<redacted>") {
		t.Errorf("the log does not show where a value was taken out:\n%s", logs)
	}
	if d.Explain[0].Error == "" || !strings.Contains(d.Explain[0].Error, "secret.person") {
		t.Errorf("the explanation lost the error the caller may see: %+v", d.Explain[0])
	}
}
