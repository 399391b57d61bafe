package engine

import (
	"context"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/google/uuid"

	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
)

// DecideOptions change how one decision is made.
type DecideOptions struct {
	// Explain records every rule's result and the signals it read.
	Explain bool
	// DryRun decides without recording: no profile, counter or dedupe
	// change. Counters are read as they are.
	DryRun bool
}

// Decide validates ev, makes its decision and records the event into state.
// The only errors are a *FieldError for an invalid event and ctx's error.
func (e *Engine) Decide(ctx context.Context, ev *Event) (*Decision, error) {
	return e.DecideWith(ctx, ev, DecideOptions{})
}

// DecideWith is Decide with options.
func (e *Engine) DecideWith(ctx context.Context, ev *Event, o DecideOptions) (*Decision, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	now := e.opts.Now()
	if err := ev.Validate(now); err != nil {
		return nil, err
	}
	if ev.at.Sub(now) > e.opts.MaxFutureSkew {
		ev.at = now
	}
	tenantKey := dedupeKey(ev)
	if prev := e.dedupe.get(tenantKey, now); prev != nil && !o.DryRun {
		d := prev.decision()
		d.TookUS = float64(time.Since(start).Nanoseconds()) / 1e3
		e.met.repeated.Inc()
		return d, nil
	}

	st := e.state.Load()
	d := &Decision{ID: newID(), EventID: ev.ID, RulesVersion: st.set.Version,
		Time: ev.at, counters: st.names, tenant: ev.Tenant}
	s := &d.Signals
	s.Velocity = &d.counts
	e.enrich(ev, s)
	d.userKey = s.User.Key

	var u userStep
	e.remember(ev, s, o.DryRun, &u)
	defer u.release()

	v := e.vms.Get().(*vm.VM)
	defer e.vms.Put(v)
	// Rules and counters read one copy of the signals; the counts they
	// produce are written through the copy's pointer to d.counts.
	env := any(*s)
	e.count(v, st, ev, u.seed, env, s.Velocity, o.DryRun)
	e.evaluate(v, st, ev, d, env, o.Explain)

	if !o.DryRun {
		e.learn(ev, d, &u)
		e.dedupe.put(tenantKey, d, now)
	}
	d.TookUS = float64(time.Since(start).Nanoseconds()) / 1e3
	e.met.observe(d, time.Since(start))
	return d, nil
}

func dedupeKey(ev *Event) string {
	if ev.ID == "" {
		return ""
	}
	return ev.Tenant + "\x00" + ev.ID
}

func profileKey(tenant, user string) string { return tenant + "\x00" + user }

func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// count updates the velocity counters with this event and reads them.
// Keys and distinct values are hashed with the tenant's seed, so tenants
// never share a count.
func (e *Engine) count(v *vm.VM, st *ruleState, ev *Event, seed uint64, env any,
	counts *signals.Counts, dry bool) {
	if len(st.counters) == 0 {
		return
	}
	for i, k := range st.set.Counters {
		key, distinct, ok, err := k.Apply(v, env)
		if err != nil {
			e.ruleError("counter:"+k.Name, err)
			continue
		}
		key, distinct = mixTenant(key, seed), mixTenant(distinct, seed)
		switch {
		case !ok:
			// The event does not count; rules still read the count so far
			// under its key, when it has one.
			if key != 0 {
				counts[i] = st.counters[i].Peek(key, ev.at)
			}
		case dry:
			counts[i] = st.counters[i].Peek(key, ev.at)
		default:
			counts[i] = st.counters[i].Add(key, distinct, ev.at)
		}
	}
}

// evaluate runs the rules and fills the decision's verdict.
func (e *Engine) evaluate(v *vm.VM, st *ruleState, ev *Event, d *Decision, env any, explain bool) {
	var res rules.Result
	st.set.Evaluate(v, env, ev.received, explain, &res)
	d.Action, d.Score = res.Action, res.Score
	d.Reasons = make([]Reason, 0, len(res.Matched))
	for _, m := range res.Matched {
		d.Reasons = append(d.Reasons, reasonOf(m))
	}
	for _, m := range res.Shadow {
		d.Shadow = append(d.Shadow, reasonOf(m))
	}
	for _, f := range res.Failed {
		e.ruleError(f.Rule.Name, f.Err)
	}
	if d.Missing = d.Signals.Missing.Names(); d.Missing == nil {
		d.Missing = []string{} // "missing": [] rather than null
	}
	if explain {
		d.Explain = explainOf(res.Trace, d)
	}
}

func reasonOf(m rules.Match) Reason {
	return Reason{Code: m.Rule.Reason, Rule: m.Rule.Name, Score: m.Rule.Score,
		Action: m.Rule.Action, Message: m.Message}
}

func (e *Engine) ruleError(name string, err error) {
	e.met.ruleErrors.WithLabelValues(name).Inc()
	if e.ruleErrLog.allow(name, time.Now()) {
		e.log.Warn("rule evaluation failed; counted as not matched", "rule", name, "err", err)
	}
}

func explainOf(trace []rules.Trace, d *Decision) []RuleResult {
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
				if v, ok := lookupPath(d, p); ok {
					r.Reads[p] = v
				}
			}
		}
		out = append(out, r)
	}
	return out
}
