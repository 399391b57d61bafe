// Package ruletest runs rule unit tests: YAML files of event sequences with
// the decisions expected at chosen steps, as `verdict test` and `make test`
// run them. Each test gets a fresh engine with in-memory state and a clock
// that follows the events, so counters, profiles and expiries behave as in
// production; reference data is optional, and a step can give its event the
// signals the data would have found. docs/rules.md describes the format.
package ruletest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/device"
	"github.com/verdictrisk/verdict/signals/velocity"
)

// Options configure a run.
type Options struct {
	// Engine is the template of every test's engine: its signal sources
	// (City, ASN, Devices, Disposable, Proxies) are used as they are; Rules,
	// the state stores and the clock are made fresh for each test. The zero
	// value runs without reference data.
	Engine engine.Options
	// Run, if set, runs only the tests whose name it matches.
	Run *regexp.Regexp
}

// Result is the outcome of a run.
type Result struct {
	Files []*FileResult
	// Coverage says, per rule set tested, which rules some expectation
	// asserted (by naming the reason code of a rule that matched).
	Coverage []*Coverage
}

// FileResult is the outcome of one test file.
type FileResult struct {
	File *File
	// Err is why the file's rule set could not be loaded; no test ran.
	Err   error
	Tests []*TestResult
}

// TestResult is the outcome of one test.
type TestResult struct {
	Test    *Test
	Skipped bool // filtered out by Options.Run
	// Checks is the number of expectations evaluated.
	Checks   int
	Failures []*Failure
	Took     time.Duration
}

// Failed reports whether some expectation failed.
func (t *TestResult) Failed() bool { return len(t.Failures) > 0 }

// Failure is an expectation that did not hold, with the decision it was
// checked against.
type Failure struct {
	Step     int // 1-based
	Line     int
	Problems []string
	Decision *engine.Decision
	// Err is set instead of Decision when the event was refused.
	Err error
}

// Coverage is which rules of one set the tests assert.
type Coverage struct {
	Rules   string
	Set     *rules.Set
	Covered map[string]bool
}

// Uncovered lists the rules no expectation asserted, expired rules left out.
func (c *Coverage) Uncovered(now time.Time) []string {
	var out []string
	for _, r := range c.Set.Rules {
		if !c.Covered[r.Name] && r.Active(now) {
			out = append(out, r.Name)
		}
	}
	return out
}

// Passed reports whether every test that ran passed and every file loaded.
func (r *Result) Passed() bool {
	for _, f := range r.Files {
		if f.Err != nil {
			return false
		}
		for _, t := range f.Tests {
			if t.Failed() {
				return false
			}
		}
	}
	return true
}

// Run runs the tests of files.
func Run(ctx context.Context, files []*File, opts Options) (*Result, error) {
	if opts.Engine.Devices == nil {
		p, err := device.NewParser(device.Options{})
		if err != nil {
			return nil, fmt.Errorf("user-agent parser: %w", err)
		}
		opts.Engine.Devices = p
	}
	res := &Result{}
	sets := map[string]*Coverage{}
	for _, f := range files {
		fr := &FileResult{File: f}
		res.Files = append(res.Files, fr)
		cov, ok := sets[f.Rules]
		if !ok {
			set, err := rules.LoadDir(f.Rules)
			if err != nil {
				fr.Err = fmt.Errorf("rules %s:\n%w", f.Rules, err)
				continue
			}
			cov = &Coverage{Rules: f.Rules, Set: set, Covered: map[string]bool{}}
			sets[f.Rules] = cov
			res.Coverage = append(res.Coverage, cov)
		}
		for _, t := range f.Tests {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if opts.Run != nil && !opts.Run.MatchString(t.Name) {
				fr.Tests = append(fr.Tests, &TestResult{Test: t, Skipped: true})
				continue
			}
			tr, err := runTest(ctx, t, cov, opts)
			if err != nil {
				return res, fmt.Errorf("%s:%d: test %q: %w", f.Path, t.Line, t.Name, err)
			}
			fr.Tests = append(fr.Tests, tr)
		}
	}
	return res, nil
}

// runTest decides the test's events in order on a fresh engine.
func runTest(ctx context.Context, t *Test, cov *Coverage, opts Options) (*TestResult, error) {
	start := time.Now()
	var clock atomic.Int64
	clock.Store(t.Start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	eo := opts.Engine
	eo.Rules, eo.Now, eo.Registerer = cov.Set, now, nil
	eo.Profiles, eo.ShadowRules = nil, nil
	eo.Logger = slog.New(slog.DiscardHandler)
	eo.Velocity = velocity.NewStore(velocity.Options{Clock: now, Logger: eo.Logger})
	eng, err := engine.New(eo)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	tr := &TestResult{Test: t}
	for i, s := range t.Steps {
		var d *engine.Decision
		var derr error
		for n := 1; n <= s.Repeat; n++ {
			at := s.At.Add(time.Duration(n-1) * s.Every)
			clock.Store(at.UnixNano())
			d, derr = decide(ctx, eng, s, n, at, fmt.Sprintf("test-%d-%d", i+1, n), s.Expect != nil)
			if derr != nil {
				break
			}
		}
		if s.Expect == nil && derr == nil {
			continue
		}
		tr.Checks++
		if f := check(s, d, derr, cov); f != nil {
			f.Step = i + 1
			tr.Failures = append(tr.Failures, f)
		}
	}
	tr.Took = time.Since(start)
	return tr, nil
}

// decide sends the n-th repetition of step s at time at.
func decide(ctx context.Context, eng *engine.Engine, s *Step, n int, at time.Time, id string,
	explain bool) (*engine.Decision, error) {
	ev := substitute(jsonable(s.event), strconv.Itoa(n)).(map[string]any)
	if _, ok := ev["time"]; !ok {
		ev["time"] = at.Format(time.RFC3339Nano)
	}
	if _, ok := ev["id"]; !ok {
		ev["id"] = id
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var event engine.Event
	if err := engine.DecodeEvent(b, &event); err != nil {
		return nil, err
	}
	o := engine.DecideOptions{Explain: explain}
	if len(s.Signals) > 0 {
		o.Adjust = func(set *signals.Set) {
			for k, v := range s.Signals {
				_ = rules.Assign(set, k, v) // checked when the file was parsed
				// A signal given is one found: its family is not missing.
				if f, ok := families[k]; ok {
					set.Missing &^= signals.Families(f)
				}
			}
		}
	}
	return eng.DecideWith(ctx, &event, o)
}

// families are the signal families whose signals a test can give.
var families = map[string]signals.Family{
	"ip.country": signals.FamilyGeo, "ip.region": signals.FamilyGeo, "ip.city": signals.FamilyGeo,
	"ip.lat": signals.FamilyGeo, "ip.lon": signals.FamilyGeo, "ip.accuracy_km": signals.FamilyGeo,
	"ip.asn": signals.FamilyASN, "ip.org": signals.FamilyASN,
	"ip.hosting": signals.FamilyLists, "ip.vpn": signals.FamilyLists, "ip.tor": signals.FamilyLists,
	"ip.blocklisted": signals.FamilyLists, "ip.allowlisted": signals.FamilyLists,
	"ip.lists":         signals.FamilyLists,
	"email.disposable": signals.FamilyEmail,
}

// substitute replaces {{n}} in every string of v.
func substitute(v any, n string) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "{{n}}", n)
	case map[string]any:
		for k, e := range x {
			x[k] = substitute(e, n)
		}
	case []any:
		for i, e := range x {
			x[i] = substitute(e, n)
		}
	}
	return v
}

// check compares a decision with the step's expectation and records which
// rules the expectation asserts.
func check(s *Step, d *engine.Decision, derr error, cov *Coverage) *Failure {
	e := s.Expect
	line := s.Line
	if e != nil {
		line = e.Line
	}
	if derr != nil {
		return &Failure{Line: line, Err: derr,
			Problems: []string{"the event was refused: " + derr.Error()}}
	}
	var probs []string
	if e.Action != "" && d.Action.String() != e.Action {
		probs = append(probs, fmt.Sprintf("action is %s, want %s", d.Action, e.Action))
	}
	if e.ScoreMin >= 0 && (d.Score < e.ScoreMin || d.Score > e.ScoreMax) {
		want := fmt.Sprintf("%d..%d", e.ScoreMin, e.ScoreMax)
		if e.ScoreMin == e.ScoreMax {
			want = strconv.Itoa(e.ScoreMin)
		}
		probs = append(probs, fmt.Sprintf("score is %d, want %s", d.Score, want))
	}
	got, shadow := reasonCodes(d.Reasons), reasonCodes(d.Shadow)
	for _, c := range e.Reasons {
		if !slices.Contains(got, c) {
			probs = append(probs, fmt.Sprintf("reason %s is missing (reasons: %s)", c, list(got)))
		}
	}
	for _, c := range e.NotReasons {
		if slices.Contains(got, c) {
			probs = append(probs, fmt.Sprintf("reason %s is present, want it absent", c))
		}
	}
	for _, c := range e.Shadow {
		if !slices.Contains(shadow, c) {
			probs = append(probs, fmt.Sprintf("shadow reason %s is missing (shadow: %s)", c, list(shadow)))
		}
	}
	probs = append(probs, checkSignals(cov.Set, d, e.Signals)...)
	cover(cov, d.Reasons, e.Reasons)
	cover(cov, d.Shadow, e.Shadow)
	if len(probs) == 0 {
		return nil
	}
	return &Failure{Line: line, Problems: probs, Decision: d}
}

func checkSignals(set *rules.Set, d *engine.Decision, want map[string]any) []string {
	var probs []string
	names := make([]string, 0, len(want))
	for k := range want {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		v, ok := set.Read(&d.Signals, name)
		switch {
		case !ok:
			probs = append(probs, fmt.Sprintf("signal %s does not exist", name))
		case !same(v, want[name]):
			probs = append(probs, fmt.Sprintf("signal %s is %v, want %v", name, show(v), show(want[name])))
		}
	}
	return probs
}

// same compares a signal with a value written in YAML: numbers by value.
func same(got, want any) bool {
	if a, ok := number(got); ok {
		b, ok := number(want)
		return ok && math.Abs(a-b) < 1e-9
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// cover marks as covered the matched rules whose reason code the
// expectation names.
func cover(cov *Coverage, matched []engine.Reason, asserted []string) {
	for _, r := range matched {
		if slices.Contains(asserted, r.Code) {
			cov.Covered[r.Rule] = true
		}
	}
}

func reasonCodes(rs []engine.Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Code
	}
	return out
}

func list(codes []string) string {
	if len(codes) == 0 {
		return "none"
	}
	return strings.Join(codes, ", ")
}
