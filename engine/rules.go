package engine

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/velocity"
)

// timingSample is how often a decision times each rule: one decision in
// timingSample. Reading the clock twice per rule would cost about as much
// as evaluating the rules; a sample keeps the per-rule duration histogram
// honest at a sixteenth of that cost.
const timingSample = 16

// ruleRuntime is the engine's part that runs rule sets: the live set and
// the shadow set with the counters bound to them, and their metrics.
type ruleRuntime struct {
	// mu serialises SetRules and SetShadowRules; decisions never take it.
	mu sync.Mutex
	// shadowSet is the candidate set in shadow (nil for none), kept to
	// rebind it when the live set changes.
	shadowSet *rules.Set
	// shadowVelocity holds the counters only the shadow set declares, so
	// that they never touch the live counters. In memory only.
	// TODO: snapshot it too; today the shadow set's own counters start empty after a restart.
	shadowVelocity *velocity.Store
	met            *ruleMetrics
	shadowLog      *rateLimiter
}

// ruleState is a rule set with the velocity counters bound to it.
type ruleState struct {
	set      *rules.Set
	counters []*velocity.Counter
	names    []string
	hashes   []string
	rules    []boundRule
	debug    bool // some rule has debug on
	shadow   *shadowState
}

// shadowState is the candidate rule set run in shadow beside the live one.
type shadowState struct {
	set *rules.Set
	// live[i] is the index of the live counter with the same definition as
	// the shadow set's counter i, whose count is reused; -1 when the
	// shadow set alone has it, and counters[i] counts it.
	live     []int
	counters []*velocity.Counter
	matches  []matchCounter
}

func (e *Engine) initRules() {
	e.rr.shadowVelocity = velocity.NewStore(velocity.Options{Logger: e.opts.Logger})
	e.rr.met = newRuleMetrics(e.opts.Registerer, e.met.ruleErrors)
	e.rr.shadowLog = newRateLimiter(time.Second)
}

// SetRules makes set the active rule set. Decisions already running finish
// on the set they started with. A counter whose definition (key, condition,
// distinct value and window) did not change keeps its counts; a changed one
// starts empty. The metric series of rules no longer in the set are
// deleted.
func (e *Engine) SetRules(set *rules.Set) {
	e.rr.mu.Lock()
	defer e.rr.mu.Unlock()
	old := e.state.Load()
	e.dropChanged(old, set)
	st := &ruleState{set: set}
	for _, k := range set.Counters {
		st.counters = append(st.counters, e.opts.Velocity.Counter(velocity.Spec{
			Name: k.Name, Window: k.Window, Distinct: k.Distinct}))
		st.names = append(st.names, k.Name)
		st.hashes = append(st.hashes, k.Hash)
	}
	st.rules = e.rr.met.bind(set)
	for _, r := range set.Rules {
		st.debug = st.debug || r.Debug
	}
	st.shadow = e.bindShadow(st, e.rr.shadowSet)
	e.state.Store(st)
	e.retain(st.counters)
	if old != nil {
		e.rr.met.forget(old.set, set)
	}
}

// dropChanged removes from the store the counters of old whose name and
// window stay but whose definition changes in set, so that the new set
// gets them empty instead of holding counts of another key or condition.
func (e *Engine) dropChanged(old *ruleState, set *rules.Set) {
	if old == nil {
		return
	}
	keep := slices.Clone(old.counters)
	changed := false
	for _, k := range set.Counters {
		i := slices.Index(old.names, k.Name)
		if i >= 0 && old.hashes[i] != k.Hash {
			keep[i], changed = nil, true
		}
	}
	if changed {
		e.retain(keep)
	}
}

// retain keeps in the velocity store the counters given and the engine's
// own (device.seen_users), and drops the others.
func (e *Engine) retain(counters []*velocity.Counter) {
	e.opts.Velocity.Retain(append(slices.Clone(counters), e.seenUsers))
}

// SetShadowRules runs set in shadow beside the live rule set: every event is
// also decided by set, without effect, and the two actions are compared
// (verdict_shadow_set_decisions_total, a rate-limited log line per
// disagreement). nil stops the shadow set.
func (e *Engine) SetShadowRules(set *rules.Set) {
	e.rr.mu.Lock()
	defer e.rr.mu.Unlock()
	cur := e.state.Load()
	e.rr.shadowSet = set
	st := *cur
	st.shadow = e.bindShadow(&st, set)
	e.state.Store(&st)
	if cur.shadow != nil {
		e.rr.met.forgetShadow(cur.shadow.set, set)
	}
}

// ShadowRules returns the rule set running in shadow, or nil.
func (e *Engine) ShadowRules() *rules.Set {
	if sh := e.state.Load().shadow; sh != nil {
		return sh.set
	}
	return nil
}

func (e *Engine) bindShadow(live *ruleState, set *rules.Set) *shadowState {
	if set == nil {
		e.rr.shadowVelocity.Retain(nil)
		return nil
	}
	sh := &shadowState{set: set, matches: e.rr.met.bindShadow(set)}
	var own []*velocity.Counter
	for _, k := range set.Counters {
		i := slices.Index(live.hashes, k.Hash)
		var c *velocity.Counter
		if i < 0 {
			c = e.rr.shadowVelocity.Counter(velocity.Spec{Name: k.Name + "\x00" + k.Hash,
				Window: k.Window, Distinct: k.Distinct})
			own = append(own, c)
		}
		sh.live = append(sh.live, i)
		sh.counters = append(sh.counters, c)
	}
	e.rr.shadowVelocity.Retain(own)
	return sh
}

// Rules returns the active rule set.
func (e *Engine) Rules() *rules.Set { return e.state.Load().set }

// evaluate runs the rules and fills the decision's verdict.
func (e *Engine) evaluate(v *vm.VM, st *ruleState, ev *Event, d *Decision, env any, explain bool) {
	timed := rand.Uint32N(timingSample) == 0
	var res rules.Result
	st.set.Evaluate(v, env, ev.received, explain || timed || st.debug, &res)
	d.Action, d.Score = res.Action, res.Score
	d.Reasons = make([]Reason, 0, len(res.Matched))
	for _, m := range res.Matched {
		d.Reasons = append(d.Reasons, reasonOf(m))
		st.rules[m.Rule.Index].matches.Inc()
	}
	for _, m := range res.Shadow {
		d.Shadow = append(d.Shadow, reasonOf(m))
		st.rules[m.Rule.Index].matches.Inc()
	}
	for _, f := range res.Failed {
		e.ruleError(ev, &d.Signals, f.Rule.Name, f.Err)
	}
	for i, r := range st.set.Rules {
		if r.Active(ev.received) {
			st.rules[i].evals.Inc()
		}
	}
	if timed {
		for _, t := range res.Trace {
			if t.Skipped == "" {
				st.rules[t.Rule.Index].duration.Observe(t.Took.Seconds())
			}
		}
	}
	if d.Missing = d.Signals.Missing.Names(); d.Missing == nil {
		d.Missing = []string{} // "missing": [] rather than null
	}
	if st.debug {
		e.debugRules(st, ev, d, res.Trace)
	}
	if explain {
		d.Explain = explainOf(st.set, res.Trace, d)
	}
}

func reasonOf(m rules.Match) Reason {
	return Reason{Code: m.Rule.Reason, Rule: m.Rule.Name, Score: m.Rule.Score,
		Action: m.Rule.Action, Message: m.Message}
}

// ruleError logs a rule or counter that failed at run time, at most once a
// minute per rule, with the event's values taken out of the error; the
// failure counts as not matched.
func (e *Engine) ruleError(ev *Event, s *signals.Set, name string, err error) {
	e.met.ruleErrors.WithLabelValues(name).Inc()
	if e.ruleErrLog.allow(name, time.Now()) {
		e.log.Warn("rule evaluation failed; counted as not matched", "rule", name,
			"err", redactEvent(err.Error(), ev, s.User.Key, s.Email.Normalized, s.IP.Network))
	}
}

// debugRules logs every evaluation of the rules with debug on, with the
// values they read; values that identify a person are left out.
func (e *Engine) debugRules(st *ruleState, ev *Event, d *Decision, trace []rules.Trace) {
	for _, t := range trace {
		if !t.Rule.Debug {
			continue
		}
		attrs := []any{"rule", t.Rule.Name, "decision_id", d.ID, "matched", t.Matched}
		if t.Skipped != "" {
			attrs = append(attrs, "skipped", t.Skipped)
		}
		if t.Err != nil {
			attrs = append(attrs, "err", redactEvent(t.Err.Error(), ev, d.Signals.User.Key,
				d.Signals.Email.Normalized, d.Signals.IP.Network))
		}
		for _, p := range t.Rule.Reads {
			if v, ok := st.set.Read(&d.Signals, p); ok {
				if personal[p] {
					v = "(personal, not logged)"
				}
				attrs = append(attrs, "read."+p, v)
			}
		}
		e.log.Info("rule debug", attrs...)
	}
}

// personal are the signals that identify a person or their address; debug
// logs leave them out.
var personal = map[string]bool{"ip.address": true, "ip.network": true, "user.key": true,
	"email.normalized": true, "device.id": true}

func explainOf(set *rules.Set, trace []rules.Trace, d *Decision) []RuleResult {
	out := make([]RuleResult, 0, len(trace))
	for _, t := range trace {
		r := RuleResult{Rule: t.Rule.Name, Matched: t.Matched, Shadow: t.Rule.Shadow,
			Skipped: t.Skipped, TookNS: t.Took.Nanoseconds()}
		if t.Err != nil {
			r.Error = t.Err.Error()
		}
		if len(t.Rule.Reads) > 0 {
			r.Reads = map[string]any{}
			for _, p := range t.Rule.Reads {
				if v, ok := set.Read(&d.Signals, p); ok {
					r.Reads[p] = v
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// evaluateShadow decides the event again with the shadow set, on the same
// signals, and compares. The shadow set's own counters count the event
// (unless dry); counters it shares with the live set are read, not counted
// twice.
func (e *Engine) evaluateShadow(v *vm.VM, st *ruleState, ev *Event, d *Decision, seed uint64,
	dry, explain bool) {
	sh := st.shadow
	counts := new(signals.Counts)
	s := d.Signals
	s.Velocity = counts
	env := any(s)
	for i, k := range sh.set.Counters {
		if j := sh.live[i]; j >= 0 {
			counts[i] = d.counts[j]
			continue
		}
		counts[i] = e.applyCounter(v, k, sh.counters[i], ev, seed, env, dry)
	}
	var res rules.Result
	sh.set.Evaluate(v, env, ev.received, false, &res)
	for _, m := range res.Matched {
		sh.matches[m.Rule.Index].Inc()
	}
	for _, f := range res.Failed {
		e.ruleError(ev, &d.Signals, "shadow_set:"+f.Rule.Name, f.Err)
	}
	e.rr.met.shadowDecision(d.Action, res.Action)
	if res.Action != d.Action && e.rr.shadowLog.allow("", time.Now()) {
		e.log.Info("shadow rule set disagrees", "decision_id", d.ID,
			"live_action", d.Action.String(), "live_score", d.Score, "live_reasons", codes(d.Reasons),
			"shadow_action", res.Action.String(), "shadow_score", res.Score,
			"shadow_reasons", matchCodes(res.Matched), "shadow_version", sh.set.Version)
	}
	if explain {
		out := &ShadowSetResult{RulesVersion: sh.set.Version, Action: res.Action,
			Score: res.Score, Reasons: make([]Reason, 0, len(res.Matched))}
		for _, m := range res.Matched {
			out.Reasons = append(out.Reasons, reasonOf(m))
		}
		d.ShadowSet = out
	}
}

// applyCounter counts the event in c when k says so and returns the count
// under the event's key. Keys and distinct values are mixed with the
// tenant's seed, so that tenants never share a count.
func (e *Engine) applyCounter(v *vm.VM, k *rules.Counter, c *velocity.Counter, ev *Event,
	seed uint64, env any, dry bool) int {
	key, distinct, ok, err := k.Apply(v, env, ev.Type)
	key, distinct = mixTenant(key, seed), mixTenant(distinct, seed)
	switch {
	case err != nil:
		sig, _ := env.(signals.Set)
		e.ruleError(ev, &sig, "counter:"+k.Name, err)
		return 0
	case !ok && key == 0:
		return 0
	case !ok, dry:
		// The event does not count (or must not); rules still read the
		// count so far under its key.
		return c.Peek(key, ev.at)
	}
	return c.Add(key, distinct, ev.at)
}

func codes(rs []Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Code
	}
	return out
}

func matchCodes(ms []rules.Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Rule.Reason
	}
	return out
}
