// Package eval measures detection quality: it feeds a labelled stream (see
// package sim) through the real engine in-process, with a given rule set
// and fresh in-memory state, and reports how many attacks each attacker
// model gets through and how many legitimate customers are bothered, the
// way research on risk-based authentication measures both (Wiefling et
// al., ACM TOPS 2022). `verdict eval` and `make eval` print its Report;
// the package's tests gate CI on it. docs/evaluation.md explains every
// measure.
//
// The auth server around the engine is simulated too: a stepped-up
// successful login or signup is followed by its challenge, which the
// legitimate user passes and the attacker fails, so that the profiles
// learn as they would in production.
package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/verdictrisk/verdict/bench/sim"
	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/rules"
)

// EngineFunc builds a fresh engine with empty in-memory state that decides
// with set and reads the time from now.
type EngineFunc func(set *rules.Set, now func() time.Time) (*engine.Engine, error)

// Options configure an evaluation.
type Options struct {
	// Rules is the rule set to evaluate. Required.
	Rules *rules.Set
	// NewEngine builds the engine (with the reference data). Required.
	NewEngine EngineFunc
	// Curve are the step-up thresholds of the trade-off curve. Default
	// DefaultCurve. The deny threshold stays the rule set's.
	Curve []int
	// Exact runs the stream again for every point of the curve, with the
	// rule set's step-up threshold changed, instead of applying each
	// threshold to the recorded scores. It costs a run per point; the
	// difference is what the engine learns from the decisions (see
	// docs/evaluation.md). Default false.
	Exact bool
	// ChallengeDelay is how long after a stepped-up event its challenge
	// is answered. Default 30s.
	ChallengeDelay time.Duration
	// Decisions, when set, receives one JSON line per decisive event of
	// the main run: its label, the event and the engine's decision, for
	// studying what the rules did with each attack. Default nil (none).
	Decisions io.Writer
}

// DefaultCurve are the step-up thresholds the trade-off curve visits.
var DefaultCurve = []int{5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90,
	95, 100}

// observation is what the evaluation keeps of one decisive event.
type observation struct {
	label  sim.Label
	user   string // the account the event names
	login  bool   // a successful login
	signup bool
	score  int
	forced rules.Action
	action rules.Action
	// prior is how many legitimate successful logins the user made before
	// this one, in the stream.
	prior   int
	reasons []string
}

// Run evaluates recs, which must be in time order, and returns the report.
func Run(ctx context.Context, recs []sim.Record, o Options) (*Report, error) {
	if o.Rules == nil || o.NewEngine == nil {
		return nil, errors.New("eval: Rules and NewEngine are required")
	}
	if len(o.Curve) == 0 {
		o.Curve = DefaultCurve
	}
	if o.ChallengeDelay <= 0 {
		o.ChallengeDelay = 30 * time.Second
	}
	began := time.Now()
	obs, stats, err := decideAll(ctx, recs, o.Rules, o)
	if err != nil {
		return nil, err
	}
	o.Decisions = nil // the exact curve's runs are not written
	if err := checkRecorded(obs, o.Rules.Thresholds); err != nil {
		return nil, err
	}
	rep := build(obs, o.Rules, o.Curve)
	rep.Events, rep.Challenges = stats.events, stats.challenges
	if o.Exact {
		if rep.Curve, err = exactCurve(ctx, recs, o); err != nil {
			return nil, err
		}
		rep.CurveExact = true
	}
	rep.Took = time.Since(began)
	return rep, nil
}

type runStats struct{ events, challenges int }

// decideAll runs every record through a fresh engine deciding with set and
// returns the observations of the decisive ones.
func decideAll(ctx context.Context, recs []sim.Record, set *rules.Set,
	o Options) ([]observation, runStats, error) {
	var clock time.Time
	eng, err := o.NewEngine(set, func() time.Time { return clock })
	if err != nil {
		return nil, runStats{}, fmt.Errorf("eval: engine: %w", err)
	}
	defer eng.Close()
	var st runStats
	logins := map[string]int{}
	obs := make([]observation, 0, len(recs))
	for i := range recs {
		rec := &recs[i]
		ev := rec.Event // Decide fills the event's parsed fields: work on a copy
		t, err := time.Parse(time.RFC3339Nano, ev.Time)
		if err != nil {
			return nil, st, fmt.Errorf("eval: record %d: time %q: %w", i+1, ev.Time, err)
		}
		clock = t
		d, err := eng.Decide(ctx, &ev)
		if err != nil {
			return nil, st, fmt.Errorf("eval: record %d: %w", i+1, err)
		}
		st.events++
		if !rec.Label.Decisive {
			continue
		}
		if o.Decisions != nil {
			if err := writeDecision(o.Decisions, rec, d); err != nil {
				return nil, st, fmt.Errorf("eval: decisions: %w", err)
			}
		}
		ob := observe(rec, d)
		if ob.login && rec.Label.Kind == sim.KindLegit {
			ob.prior = logins[ob.user]
			logins[ob.user]++
		}
		obs = append(obs, ob)
		if d.Action == rules.StepUp && (ob.login || ob.signup) {
			if err := challenge(ctx, eng, rec, t.Add(o.ChallengeDelay), &clock); err != nil {
				return nil, st, fmt.Errorf("eval: record %d: challenge: %w", i+1, err)
			}
			st.challenges++
		}
	}
	return obs, st, nil
}

// writeDecision writes one line of Options.Decisions.
func writeDecision(w io.Writer, rec *sim.Record, d *engine.Decision) error {
	line, err := json.Marshal(struct {
		Label    sim.Label        `json:"label"`
		Event    *engine.Event    `json:"event"`
		Decision *engine.Decision `json:"decision"`
	}{rec.Label, &rec.Event, d})
	if err != nil {
		return err
	}
	_, err = w.Write(append(line, '\n'))
	return err
}

func observe(rec *sim.Record, d *engine.Decision) observation {
	ev := &rec.Event
	ob := observation{label: rec.Label, user: ev.User.ID, score: d.Score,
		forced: forcedOf(d), action: d.Action,
		login:  ev.Type == engine.TypeLogin && ev.Outcome == engine.OutcomeSucceeded,
		signup: ev.Type == engine.TypeSignup}
	if ob.user == "" {
		ob.user = ev.User.Email
	}
	for _, r := range d.Reasons {
		ob.reasons = append(ob.reasons, r.Code)
	}
	return ob
}

// forcedOf returns the action the decision's matched rules forced, by the
// precedence rules.Set.Evaluate applies: deny, else allow, else step-up.
func forcedOf(d *engine.Decision) rules.Action {
	forced := rules.None
	for _, r := range d.Reasons {
		switch {
		case r.Action == rules.Deny:
			return rules.Deny
		case r.Action == rules.Allow:
			forced = rules.Allow
		case r.Action == rules.StepUp && forced == rules.None:
			forced = rules.StepUp
		}
	}
	return forced
}

// challenge answers a step-up as the auth server would report it: the
// legitimate user passes the second factor, the attacker fails it.
//
// TODO: every customer passes and every attacker fails; no abandoned or phished challenges.
func challenge(ctx context.Context, eng *engine.Engine, rec *sim.Record, at time.Time,
	clock *time.Time) error {
	ev := rec.Event
	ev.Type, ev.Outcome = engine.TypeChallenge, engine.OutcomeSucceeded
	if rec.Label.Kind == sim.KindAttack {
		ev.Outcome = engine.OutcomeFailed
	}
	ev.ID += "-challenge"
	ev.Time = at.UTC().Format(time.RFC3339Nano)
	*clock = at
	_, err := eng.Decide(ctx, &ev)
	return err
}

// exactCurve runs the stream once per curve point with the step-up
// threshold changed and reads each point off its own run.
func exactCurve(ctx context.Context, recs []sim.Record, o Options) ([]CurvePoint, error) {
	out := make([]CurvePoint, 0, len(o.Curve))
	for _, t := range o.Curve {
		set := *o.Rules // a Set is immutable: a shallow copy may change its thresholds
		set.Thresholds.StepUp = t
		obs, _, err := decideAll(ctx, recs, &set, o)
		if err != nil {
			return nil, err
		}
		out = append(out, curvePoint(obs, set.Thresholds))
	}
	return out, nil
}
