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
	// Adjust, if set, changes the signals after enrichment and again after
	// the profile step, before counters and rules run. Rule tests use it
	// to give an event the geo, network or device values that reference
	// data would have found.
	Adjust func(*signals.Set)
	// Enriched, if set, holds the event's network, device and e-mail
	// signals, computed once by Enrich (of this engine or of another with
	// the same reference data and options), instead of computing them
	// again: replay decides every event in two engines.
	Enriched *Enriched
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
	if err := ev.validate(now, e.opts.MaxFutureSkew); err != nil {
		return nil, err
	}
	tenantKey := dedupeKey(ev)
	if prev := e.dedupe.get(tenantKey, now); prev != nil && !o.DryRun {
		if err := prev.reused(ev); err != nil {
			e.met.idReused.Inc()
			return nil, err
		}
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
	if o.Enriched != nil {
		o.Enriched.apply(e, ev, s)
	} else {
		e.enrich(ev, s)
	}
	if o.Adjust != nil {
		o.Adjust(s)
	}
	d.userKey = s.User.Key

	var u userStep
	e.remember(ev, s, o.DryRun, &u)
	defer u.release()
	if o.Adjust != nil {
		o.Adjust(s)
	}

	v := e.vms.Get().(*vm.VM)
	defer e.vms.Put(v)
	// Rules and counters read one copy of the signals; the counts they
	// produce are written through the copy's pointer to d.counts.
	env := any(*s)
	e.count(v, st, ev, u.seed, env, s.Velocity, o.DryRun)
	e.evaluate(v, st, ev, d, env, o.Explain)
	if st.shadow != nil {
		e.evaluateShadow(v, st, ev, d, u.seed, o.DryRun, o.Explain)
	}

	if !o.DryRun {
		e.learn(ev, d, &u)
		if ev.Type == TypeLogin && ev.Outcome == OutcomeSucceeded && d.Action == rules.Allow {
			e.habits.observe(ev.Tenant, s.Device.ClientData)
		}
		if tenantKey != "" {
			e.dedupe.put(tenantKey, d, eventDigest(ev), now)
		}
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
		counts[i] = e.applyCounter(v, k, st.counters[i], ev, seed, env, dry)
	}
}
