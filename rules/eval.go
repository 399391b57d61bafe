package rules

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/verdictrisk/verdict/signals"
)

// Result is the outcome of evaluating a rule set against one event.
type Result struct {
	// Score is the sum of the scores of the active rules that matched,
	// clamped to 0–100.
	Score  int
	Action Action
	// Forced is the action a matched rule forced, or None.
	Forced  Action
	Matched []Match
	// Shadow lists the shadow rules that matched; they change nothing.
	Shadow []Match
	// Failed lists the rules whose evaluation failed; they count as not
	// matched.
	Failed []Failure
	// Trace, when requested, holds every rule's result in order.
	Trace []Trace
}

// Match is a rule that matched, with its rendered message.
type Match struct {
	Rule    *Rule
	Message string
}

// Failure is a rule whose condition could not be evaluated.
type Failure struct {
	Rule *Rule
	Err  error
}

// Trace is one rule's result for an explanation.
type Trace struct {
	Rule    *Rule
	Matched bool
	Skipped string // why the rule was not evaluated ("expired")
	Err     error
	Took    time.Duration
}

// Reset empties r for reuse, keeping its slices.
func (r *Result) Reset() {
	*r = Result{Matched: r.Matched[:0], Shadow: r.Shadow[:0], Failed: r.Failed[:0],
		Trace: r.Trace[:0]}
}

// Evaluate runs every rule against env, which must hold a signals.Set value
// (not a pointer: rules then read fields without allocating). now decides
// which rules have expired. With trace set, every rule's result is recorded
// in res.Trace.
//
// The score is the sum of the matched active rules' scores, where the rules
// carrying a capped tag (Thresholds.Caps) add at most the cap together,
// clamped to 0–100. Precedence: a matched active rule that forces deny
// wins; else one that forces allow wins (an exception beats the score);
// else the score decides through the thresholds, raised to step_up when a
// rule forces step_up.
func (s *Set) Evaluate(v *vm.VM, env any, now time.Time, trace bool, res *Result) {
	var capped [MaxCaps]int
	typ, typed := eventType(env)
	for _, r := range s.Rules {
		if !r.Active(now) {
			if trace {
				res.Trace = append(res.Trace, Trace{Rule: r, Skipped: "expired"})
			}
			continue
		}
		var start time.Time
		if trace {
			start = time.Now()
		}
		var matched bool
		var err error
		if !typed || !r.types.excludes(typ) {
			matched, err = r.Match(v, env)
		}
		if trace {
			res.Trace = append(res.Trace, Trace{Rule: r, Matched: matched, Err: err,
				Took: time.Since(start)})
		}
		switch {
		case err != nil:
			res.Failed = append(res.Failed, Failure{Rule: r, Err: err})
		case !matched:
		case r.Shadow:
			res.Shadow = append(res.Shadow, Match{Rule: r, Message: r.render(v, env)})
		default:
			res.Matched = append(res.Matched, Match{Rule: r, Message: r.render(v, env)})
			if r.capped >= 0 {
				capped[r.capped] += r.Score
			} else {
				res.Score += r.Score
			}
			if r.Action == Deny || (r.Action == Allow && res.Forced != Deny) ||
				(r.Action == StepUp && res.Forced == None) {
				res.Forced = r.Action
			}
		}
	}
	for i, c := range s.Thresholds.Caps {
		res.Score += min(capped[i], c.Max)
	}
	res.Score = min(max(res.Score, 0), 100)
	res.Action = s.Thresholds.action(res.Score, res.Forced)
}

func (t Thresholds) action(score int, forced Action) Action {
	switch forced {
	case Deny, Allow:
		return forced
	}
	a := Allow
	switch {
	case score >= t.Deny:
		a = Deny
	case score >= t.StepUp:
		a = StepUp
	}
	if forced == StepUp && a == Allow {
		a = StepUp
	}
	return a
}

// Active reports whether the rule applies at now: it has no expiry, or its
// expiry is later.
func (r *Rule) Active(now time.Time) bool { return r.Expires.IsZero() || now.Before(r.Expires) }

// Match evaluates the rule's condition. A run-time error or panic in the
// expression is returned as an error and the rule counts as not matched.
func (r *Rule) Match(v *vm.VM, env any) (matched bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			matched, err = false, fmt.Errorf("rule %s: panic: %v", r.Name, p)
		}
	}()
	out, err := v.Run(r.program, env)
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

// Message renders the rule's message for env; it is the description when
// the rule has no message.
func (r *Rule) render(v *vm.VM, env any) string {
	if r.message == nil {
		return r.Description
	}
	return r.message.render(v, env)
}

// Apply evaluates the counter's key and condition for env. The key is
// returned whenever it is not empty, so that an event the counter does not
// count can still read the count under its key; counted is true when the
// condition holds too.
//
// eventType is env's event.type, which the caller has at hand (reading it
// from env would copy the whole signal set); a when condition that starts by
// requiring another type is not run.
func (k *Counter) Apply(v *vm.VM, env any, eventType string) (key, distinct uint64, counted bool,
	err error) {
	defer func() {
		if p := recover(); p != nil {
			counted, err = false, fmt.Errorf("counter %s: panic: %v", k.Name, p)
		}
	}()
	key, ok, err := hashOf(v, k.key, env)
	if !ok || err != nil {
		return 0, 0, false, err
	}
	if k.whenTypes.excludes(eventType) {
		return key, 0, false, nil
	}
	if k.when != nil {
		out, err := v.Run(k.when, env)
		if err != nil {
			return key, 0, false, err
		}
		if b, _ := out.(bool); !b {
			return key, 0, false, nil
		}
	}
	if k.distinct != nil {
		d, ok, err := hashOf(v, k.distinct, env)
		if !ok || err != nil {
			return key, 0, false, err
		}
		distinct = d
	}
	return key, distinct, true, nil
}

// eventType returns event.type of env when env is a signal set.
func eventType(env any) (string, bool) {
	s, ok := env.(signals.Set)
	return s.Event.Type, ok
}

// hashOf runs p and hashes its value; an empty string or a zero number
// means there is nothing to count under.
func hashOf(v *vm.VM, p *vm.Program, env any) (uint64, bool, error) {
	out, err := v.Run(p, env)
	if err != nil {
		return 0, false, err
	}
	switch x := out.(type) {
	case string:
		return xxhash.Sum64String(x), x != "", nil
	case int:
		var buf [20]byte
		return xxhash.Sum64(strconv.AppendInt(buf[:0], int64(x), 10)), x != 0, nil
	case nil:
		return 0, false, nil
	default:
		s := fmt.Sprint(x)
		return xxhash.Sum64String(s), s != "", nil
	}
}

// HashKey hashes a key value the way counters do, so that state keyed by a
// user can be found again (for erasure).
func HashKey(s string) uint64 { return xxhash.Sum64String(s) }

// template is a message with {{ expression }} parts.
type template struct {
	parts []string      // literal text, len(exprs)+1 parts
	exprs []*vm.Program // values between the parts
}

func (c *compiler) template(at site, msg string) *template {
	t := &template{}
	rest, off := msg, 0 // off: rune offset of rest in msg
	failed := false     // a part did not compile; the others are checked too
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, rest)
			if failed {
				return nil
			}
			return t
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			c.fail(at.file, at.span.at(off+utf8.RuneCountInString(rest[:i])), at.kind, at.name,
				"message: {{ without a closing }}")
			return nil
		}
		t.parts = append(t.parts, rest[:i])
		inner := at
		inner.span = at.span.shift(off + utf8.RuneCountInString(rest[:i+2]))
		p := c.expr(inner, rest[i+2:i+j], kindAny)
		failed = failed || p == nil
		t.exprs = append(t.exprs, p)
		off += utf8.RuneCountInString(rest[:i+j+2])
		rest = rest[i+j+2:]
	}
}

func (t *template) render(v *vm.VM, env any) string {
	var b strings.Builder
	for i, p := range t.parts {
		b.WriteString(p)
		if i < len(t.exprs) {
			out, err := v.Run(t.exprs[i], env)
			if err != nil {
				b.WriteString("?")
				continue
			}
			b.WriteString(formatValue(out))
		}
	}
	return b.String()
}

func formatValue(v any) string {
	switch x := v.(type) {
	case float64:
		// One decimal; below 1, two significant digits, so that 0.04 h
		// does not read "0 h" (at most six decimals).
		digits := 1
		if a := math.Abs(x); a > 0 && a < 1 {
			digits = min(1-int(math.Floor(math.Log10(a))), 6)
		}
		p := math.Pow(10, float64(digits))
		return strconv.FormatFloat(math.Round(x*p)/p, 'f', -1, 64)
	case string:
		return x
	case []string:
		return strings.Join(x, ",")
	}
	return fmt.Sprint(v)
}

// reads lists the signal paths an expression reads, such as ip.country and
// velocity.failed_per_ip.
func reads(src string) []string {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	ast.Walk(&tree.Node, pathCollector(seen))
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

type pathCollector map[string]bool

func (c pathCollector) Visit(node *ast.Node) {
	if call, ok := (*node).(*ast.CallNode); ok {
		id, named := call.Callee.(*ast.IdentifierNode)
		if named && id.Value == "missing" && len(call.Arguments) == 1 {
			if fam, ok := call.Arguments[0].(*ast.StringNode); ok {
				c["missing("+fam.Value+")"] = true
			}
		}
		return
	}
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	if p := memberPath(m); p != "" {
		// Keep only the longest path: drop the prefix recorded for the
		// inner member node.
		if i := strings.LastIndexByte(p, '.'); i > 0 {
			delete(c, p[:i])
		}
		c[p] = true
	}
}

func memberPath(n ast.Node) string {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return x.Value
	case *ast.MemberNode:
		prop, ok := x.Property.(*ast.StringNode)
		if !ok {
			return ""
		}
		inner := memberPath(x.Node)
		if inner == "" {
			return ""
		}
		return inner + "." + prop.Value
	}
	return ""
}
