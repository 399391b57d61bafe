package ruletest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
)

// DefaultStart is when a test's first event happens unless the file or the
// test says otherwise.
var DefaultStart = time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)

// File is one parsed test file.
type File struct {
	Path string
	// Rules is the rule set under test: a folder or a file, resolved
	// against the test file's folder.
	Rules string
	Tests []*Test
}

// Test is a sequence of events decided by a fresh engine, with expectations
// at chosen steps.
type Test struct {
	Name  string
	Line  int
	Start time.Time
	Steps []*Step
}

// Step is one event, or the same event sent Repeat times Every apart, and
// what its (last) decision must be.
type Step struct {
	Line int
	// At is when the step's first event happens.
	At     time.Time
	Repeat int
	Every  time.Duration
	// event is the event as written, a JSON object once converted; the
	// runner substitutes {{n}} and fills time and id.
	event map[string]any
	// Signals are values given to the event as if reference data had
	// found them (ip.country: BR).
	Signals map[string]any
	Expect  *Expect
}

// Expect is what a step's decision must be. Unset fields are not checked.
type Expect struct {
	Line   int
	Action string
	// ScoreMin and ScoreMax bound the score; both -1 when not checked.
	ScoreMin, ScoreMax int
	// Reasons must all be among the decision's reason codes; NotReasons
	// must all be absent; Shadow must all be among the shadow rules'
	// codes.
	Reasons, NotReasons, Shadow []string
	// Signals are values the decision's signals must hold
	// (velocity.failed_logins_per_ip: 8).
	Signals map[string]any
}

// posError is a problem in a test file, at a position.
type posError struct {
	file      string
	line, col int
	msg       string
}

func (e *posError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.file, e.line, e.col, e.msg)
}

type parser struct {
	file string
	errs []error
	// eventDefaults fill what a step's event leaves out; signalDefaults
	// are given to every event before the step's own signals.
	eventDefaults, signalDefaults map[string]any
}

func (p *parser) defaults(v *yaml.Node) {
	p.mapping(v, []string{"event", "signals"}, func(k string, v *yaml.Node) {
		switch k {
		case "event":
			if v.Kind != yaml.MappingNode || v.Decode(&p.eventDefaults) != nil {
				p.fail(v, "defaults.event must be a mapping of event fields")
			}
		case "signals":
			p.signalDefaults = p.signals(v)
		}
	})
}

// merge returns m with the fields of defaults it lacks, objects merged
// field by field.
func merge(m, defaults map[string]any) map[string]any {
	out := make(map[string]any, len(m)+len(defaults))
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range m {
		sub, ok1 := v.(map[string]any)
		def, ok2 := out[k].(map[string]any)
		if ok1 && ok2 {
			v = merge(sub, def)
		}
		out[k] = v
	}
	return out
}

func (p *parser) fail(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &posError{p.file, n.Line, n.Column, fmt.Sprintf(format, args...)})
}

// LoadFile parses a test file. Every problem is reported at once, each with
// file:line:col.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses the test file named path with content data.
func Parse(path string, data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, rules.SyntaxError(path, data, err)
	}
	p := &parser{file: path}
	f := &File{Path: path, Rules: ".."}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty; it needs tests", path)
	}
	start := DefaultStart
	p.mapping(doc.Content[0], []string{"rules", "start", "defaults", "tests"},
		func(k string, v *yaml.Node) {
			switch k {
			case "rules":
				f.Rules = p.str(v)
			case "start":
				start = p.time(v)
			case "defaults":
				p.defaults(v)
			}
		})
	tests := p.child(doc.Content[0], "tests")
	if tests == nil {
		p.fail(doc.Content[0], "the file has no tests")
	} else {
		f.Tests = p.tests(tests, start)
	}
	if !filepath.IsAbs(f.Rules) {
		f.Rules = filepath.Join(filepath.Dir(path), f.Rules)
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return f, nil
}

// deref follows an alias (*name) to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// mapping calls fn for each key of n, reporting keys not in known.
func (p *parser) mapping(n *yaml.Node, known []string, fn func(string, *yaml.Node)) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.fail(n, "expected a mapping with %s", strings.Join(known, ", "))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(known, k.Value):
			p.fail(k, "unknown key %q (expected one of %s)", k.Value, strings.Join(known, ", "))
		case seen[k.Value]:
			p.fail(k, "key %q given twice", k.Value)
		default:
			seen[k.Value] = true
			fn(k.Value, deref(v))
		}
	}
}

func (p *parser) child(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func (p *parser) str(v *yaml.Node) string {
	if v.Kind != yaml.ScalarNode {
		p.fail(v, "expected a single value")
		return ""
	}
	return v.Value
}

func (p *parser) time(v *yaml.Node) time.Time {
	t, err := time.Parse(time.RFC3339, p.str(v))
	if err != nil {
		p.fail(v, "%q is not an RFC 3339 time such as 2026-11-02T09:00:00Z", v.Value)
	}
	return t
}

// duration reads 30s, 10m, 2h, 1h30m or, as rule windows do, days: 2d.
func (p *parser) duration(v *yaml.Node) time.Duration {
	text := p.str(v)
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(text, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(text)
	}
	if err != nil || d < 0 {
		p.fail(v, "%q is not a duration such as 30s, 10m, 2h or 3d", v.Value)
	}
	return d
}

func (p *parser) list(v *yaml.Node) []string {
	if v.Kind != yaml.SequenceNode {
		p.fail(v, "expected a list, such as [credential_stuffing]")
		return nil
	}
	var out []string
	for _, it := range v.Content {
		out = append(out, p.str(it))
	}
	return out
}

func (p *parser) tests(n *yaml.Node, start time.Time) []*Test {
	if n.Kind != yaml.SequenceNode {
		p.fail(n, "tests must be a list (entries starting with -)")
		return nil
	}
	var out []*Test
	names := map[string]bool{}
	for _, item := range n.Content {
		t := &Test{Line: item.Line, Start: start}
		var steps *yaml.Node
		p.mapping(item, []string{"name", "start", "steps"}, func(k string, v *yaml.Node) {
			switch k {
			case "name":
				t.Name = p.str(v)
			case "start":
				t.Start = p.time(v)
			case "steps":
				steps = v
			}
		})
		switch {
		case t.Name == "":
			p.fail(item, "a test needs a name")
		case names[t.Name]:
			p.fail(item, "test %q: a test of this name is already defined", t.Name)
		}
		names[t.Name] = true
		if steps == nil || steps.Kind != yaml.SequenceNode || len(steps.Content) == 0 {
			p.fail(item, "test %q needs steps: a list of events", t.Name)
			continue
		}
		at := t.Start
		for i, sn := range steps.Content {
			s := p.step(sn, at, i == 0)
			t.Steps = append(t.Steps, s)
			at = s.At.Add(time.Duration(max(s.Repeat-1, 0)) * s.Every)
		}
		out = append(out, t)
	}
	return out
}

var stepKeys = []string{"event", "at", "after", "repeat", "every", "signals", "expect"}

func (p *parser) step(n *yaml.Node, prev time.Time, first bool) *Step {
	s := &Step{Line: n.Line, Repeat: 1, Every: time.Second}
	after := time.Second
	if first {
		after = 0
	}
	var at time.Time
	p.mapping(n, stepKeys, func(k string, v *yaml.Node) {
		switch k {
		case "event":
			s.event = p.event(v)
		case "at":
			at = p.time(v)
		case "after":
			after = p.duration(v)
		case "repeat":
			r, err := strconv.Atoi(p.str(v))
			if err != nil || r < 1 || r > 100_000 {
				p.fail(v, "repeat must be a whole number from 1 to 100000")
			}
			s.Repeat = r
		case "every":
			s.Every = p.duration(v)
		case "signals":
			s.Signals = p.signals(v)
		case "expect":
			s.Expect = p.expect(v)
		}
	})
	if s.event == nil {
		p.fail(n, "a step needs an event")
	}
	if p.signalDefaults != nil {
		s.Signals = merge(s.Signals, p.signalDefaults)
	}
	s.At = prev.Add(after)
	if !at.IsZero() {
		s.At = at
	}
	return s
}

// event reads the event object and checks it once as the engine would, so
// that a misspelt field is reported at its step.
func (p *parser) event(v *yaml.Node) map[string]any {
	var m map[string]any
	if err := v.Decode(&m); err != nil || v.Kind != yaml.MappingNode {
		p.fail(v, "event must be a mapping of event fields (see docs/events.md)")
		return nil
	}
	m = merge(m, p.eventDefaults)
	b, err := json.Marshal(jsonable(m))
	if err != nil {
		p.fail(v, "event: %v", err)
		return nil
	}
	var ev engine.Event
	if err := engine.DecodeEvent(bytes.ReplaceAll(b, []byte("{{n}}"), []byte("1")), &ev); err != nil {
		p.fail(v, "event: %v", err)
	}
	return m
}

// jsonable turns what YAML decodes (times, maps with any keys) into values
// JSON can carry.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return v
}

func (p *parser) signals(v *yaml.Node) map[string]any {
	var m map[string]any
	if v.Kind != yaml.MappingNode || v.Decode(&m) != nil {
		p.fail(v, "signals must be a mapping of signal names to values, such as {ip.country: BR}")
		return nil
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k := v.Content[i]
		if err := rules.Assign(new(signals.Set), k.Value, m[k.Value]); err != nil {
			p.fail(v.Content[i+1], "signals: %v", err)
		}
	}
	return m
}

func (p *parser) expect(v *yaml.Node) *Expect {
	e := &Expect{Line: v.Line, ScoreMin: -1, ScoreMax: -1}
	p.mapping(v, []string{"action", "score", "reasons", "not_reasons", "shadow", "signals"},
		func(k string, v *yaml.Node) {
			switch k {
			case "action":
				e.Action = p.str(v)
				if _, err := rules.ParseAction(e.Action); err != nil {
					p.fail(v, "action: %v", err)
				}
			case "score":
				e.ScoreMin, e.ScoreMax = p.score(v)
			case "reasons":
				e.Reasons = p.list(v)
			case "not_reasons":
				e.NotReasons = p.list(v)
			case "shadow":
				e.Shadow = p.list(v)
			case "signals":
				if v.Kind != yaml.MappingNode || v.Decode(&e.Signals) != nil {
					p.fail(v, "signals must be a mapping, such as {velocity.users_per_ip: 8}")
				}
			}
		})
	return e
}

// score reads 70 (exactly), 50..89 (a range) or ">= 50".
func (p *parser) score(v *yaml.Node) (int, int) {
	s := strings.ReplaceAll(p.str(v), " ", "")
	if lo, hi, ok := strings.Cut(s, ".."); ok {
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 == nil && err2 == nil && a <= b {
			return a, b
		}
	} else if rest, ok := strings.CutPrefix(s, ">="); ok {
		if a, err := strconv.Atoi(rest); err == nil {
			return a, 100
		}
	} else if rest, ok := strings.CutPrefix(s, "<="); ok {
		if b, err := strconv.Atoi(rest); err == nil {
			return 0, b
		}
	} else if n, err := strconv.Atoi(s); err == nil {
		return n, n
	}
	p.fail(v, "score: %q is not a score (70), a range (50..89) or a bound (>= 50, <= 49)", v.Value)
	return -1, -1
}
