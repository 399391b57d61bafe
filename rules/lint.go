package rules

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/network"
)

// Enums are the signals that only ever hold one of a few values, and those
// values. A rule comparing one of them with anything else can never match
// (or always matches, with !=), which is nearly always a typo. The engine
// checks in a test that event.type and event.outcome stay in step with what
// it accepts.
var Enums = map[string][]string{
	"event.type": {"login", "signup", "challenge", "password_reset", "password_change",
		"account_update", "logout"},
	"event.outcome": {"attempted", "succeeded", "failed"},
	"ip.kind": {network.Public, network.Private, network.Loopback, network.CGNAT,
		network.LinkLocal, network.Multicast, network.Unspecified, network.Reserved},
	"device.type": {"desktop", "mobile", "tablet", "bot", "other"},
}

// lint finds what loads but is likely a mistake (it runs only on a set
// that compiles; TODO: lint the parts of a broken set that compile, so that
// check shows warnings and errors in one pass): lists and counters that no
// expression reads, rules that can never match, rules whose effect another
// rule's forced action always overrides, expired exceptions, and debug
// switches left on.
func lint(s *Set, used map[string]bool) Errors {
	out := lintUnused(s, used)
	now := time.Now()
	trees := make([]*ast.Node, len(s.Rules))
	for i, r := range s.Rules {
		if tree, err := parser.Parse(r.When); err == nil {
			trees[i] = &tree.Node
		}
	}
	for i, r := range s.Rules {
		warn := func(p pos, format string, args ...any) {
			out = append(out, &Error{File: r.File, Line: p.line, Col: p.col, Rule: r.Name,
				Warn: true, Msg: fmt.Sprintf(format, args...)})
		}
		if alwaysFalse(r) {
			warn(r.when.start(), "the condition is always false: the rule can never match")
		}
		if trees[i] != nil {
			for _, f := range lintValues(*trees[i]) {
				warn(r.when.at(f.at), "%s", f.msg)
			}
			if msg := contradiction(conjuncts(*trees[i])); msg != "" {
				warn(r.when.start(), "the rule can never match: %s", msg)
			}
		}
		if !r.Expires.IsZero() && !now.Before(r.Expires) {
			warn(r.at, "the rule expired at %s; it no longer applies",
				r.Expires.Format(time.RFC3339))
		}
		if r.Debug {
			warn(r.at, "debug is on: every evaluation of this rule is logged")
		}
	}
	return append(out, lintShadowed(s, trees, now)...)
}

// alwaysFalse reports whether a rule's condition reads no signal and is
// false. The compiler folds some constants (false && x) but not all (1 > 2),
// so a condition without any name in it is run once here.
func alwaysFalse(r *Rule) bool {
	node := r.program.Node()
	if b, ok := node.(*ast.BoolNode); ok {
		return !b.Value
	}
	var names nameFinder
	ast.Walk(&node, &names)
	if names {
		return false
	}
	out, err := vm.Run(r.program, signals.Set{})
	return err == nil && out == false
}

type nameFinder bool

func (f *nameFinder) Visit(node *ast.Node) {
	if _, ok := (*node).(*ast.IdentifierNode); ok {
		*f = true
	}
}

func lintUnused(s *Set, used map[string]bool) Errors {
	var out Errors
	names := make([]string, 0, len(s.Lists))
	for n := range s.Lists {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !used["list:"+n] {
			l := s.Lists[n]
			out = append(out, &Error{File: l.File, Line: l.Line, Col: l.col, Kind: "list", Rule: n,
				Warn: true, Msg: "the list is not used by any rule or counter"})
		}
	}
	for _, k := range s.Counters {
		if !used["counter:"+k.Name] {
			out = append(out, &Error{File: k.File, Line: k.Line, Col: k.col, Kind: "counter",
				Rule: k.Name, Warn: true, Msg: "the counter is not read by any rule"})
		}
	}
	return out
}

// finding is a lint message at a rune offset of an expression.
type finding struct {
	at  int
	msg string
}

// lintValues finds comparisons of an enum signal, or of ip.country, with a
// value it never holds.
func lintValues(tree ast.Node) []finding {
	var v valueLinter
	ast.Walk(&tree, &v)
	return v.found
}

type valueLinter struct{ found []finding }

func (v *valueLinter) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok {
		return
	}
	switch b.Operator {
	case "==", "!=":
		path, lit := comparedPath(b.Left, b.Right)
		if path == "" {
			path, lit = comparedPath(b.Right, b.Left)
		}
		if s, ok := lit.(*ast.StringNode); ok && path != "" {
			v.check(path, s)
		}
	case "in", "not in":
		path := memberPath(b.Left)
		arr, ok := b.Right.(*ast.ArrayNode)
		if path == "" || !ok {
			return
		}
		for _, n := range arr.Nodes {
			if s, ok := n.(*ast.StringNode); ok {
				v.check(path, s)
			}
		}
	}
}

func comparedPath(a, b ast.Node) (string, ast.Node) {
	if p := memberPath(a); p != "" {
		return p, b
	}
	return "", nil
}

func (v *valueLinter) check(path string, s *ast.StringNode) {
	at := s.Location().From
	if values, ok := Enums[path]; ok && !slices.Contains(values, s.Value) {
		v.found = append(v.found, finding{at, fmt.Sprintf("%s is never %q (it is one of %s)",
			path, s.Value, strings.Join(values, ", "))})
		return
	}
	if path != "ip.country" {
		return
	}
	problem := countryProblem(s.Value)
	if problem == "" && strings.ToUpper(s.Value) != s.Value {
		problem = "it holds upper-case codes, such as " + strings.ToUpper(s.Value)
	}
	if problem != "" {
		v.found = append(v.found, finding{at, fmt.Sprintf("ip.country is never %q: %s",
			s.Value, problem)})
	}
}

// conjuncts splits a condition at its top-level && operators.
func conjuncts(n ast.Node) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
		return append(conjuncts(b.Left), conjuncts(b.Right)...)
	}
	return []ast.Node{n}
}

// contradiction describes two conjuncts that cannot both hold: one signal
// equal to two different constants, or a flag both true and false.
func contradiction(parts []ast.Node) string {
	equals := map[string]string{}
	flags := map[string]bool{}
	for _, n := range parts {
		switch x := n.(type) {
		case *ast.BinaryNode:
			if x.Operator != "==" {
				continue
			}
			path, lit := comparedPath(x.Left, x.Right)
			if path == "" {
				path, lit = comparedPath(x.Right, x.Left)
			}
			val := literal(lit)
			if path == "" || val == "" {
				continue
			}
			if prev, ok := equals[path]; ok && prev != val {
				return fmt.Sprintf("%s cannot be both %s and %s", path, prev, val)
			}
			equals[path] = val
		case *ast.UnaryNode:
			if p := memberPath(x.Node); p != "" && (x.Operator == "!" || x.Operator == "not") {
				if flags[p] {
					return fmt.Sprintf("%s cannot be both true and false", p)
				}
				flags["!"+p] = true
			}
		case *ast.MemberNode:
			if p := memberPath(x); p != "" {
				if flags["!"+p] {
					return fmt.Sprintf("%s cannot be both true and false", p)
				}
				flags[p] = true
			}
		}
	}
	return ""
}

// literal returns a constant's source form, or "" for anything else.
func literal(n ast.Node) string {
	switch x := n.(type) {
	case *ast.StringNode:
		return strconv.Quote(x.Value)
	case *ast.IntegerNode:
		return strconv.Itoa(x.Value)
	case *ast.BoolNode:
		return strconv.FormatBool(x.Value)
	}
	return ""
}

// lintShadowed finds rules whose effect can never show: another active rule
// forces deny (or allow) whenever they match, because its condition is a
// part of theirs. Such a rule adds its score and reason to a decision that
// is already made.
func lintShadowed(s *Set, trees []*ast.Node, now time.Time) Errors {
	parts := make([]map[string]bool, len(s.Rules))
	for i, t := range trees {
		if t == nil {
			continue
		}
		parts[i] = map[string]bool{}
		for _, c := range conjuncts(*t) {
			if b, ok := c.(*ast.BoolNode); ok && b.Value {
				continue // "true" is no condition
			}
			parts[i][c.String()] = true
		}
	}
	var out Errors
	for i, b := range s.Rules {
		if parts[i] == nil || b.Shadow || b.Action == Deny {
			continue
		}
		for j, a := range s.Rules {
			if i == j || parts[j] == nil || !overrides(a, b, now) || !subset(parts[j], parts[i]) {
				continue
			}
			out = append(out, &Error{File: b.File, Line: b.at.line, Col: b.at.col, Rule: b.Name,
				Warn: true,
				Msg: fmt.Sprintf("the rule cannot change a decision: whenever it matches, "+
					"rule %q (%s:%d) forces %s", a.Name, a.File, a.Line, a.Action)})
			break
		}
	}
	return out
}

// overrides reports whether rule a's forced action, when it matches, makes
// rule b's score and action irrelevant.
func overrides(a, b *Rule, now time.Time) bool {
	if a.Shadow || (!a.Expires.IsZero() && !now.Before(a.Expires)) {
		return false
	}
	switch a.Action {
	case Deny:
		return true
	case Allow:
		return b.Action != Deny
	}
	return false
}

func subset(a, b map[string]bool) bool {
	if len(a) > len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
