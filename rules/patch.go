package rules

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"

	"github.com/verdictrisk/verdict/signals"
)

// patcher checks and rewrites an expression's tree before type checking:
// velocity.<name> becomes an index into the counts array, the names given
// to in_list and missing must exist, and so must every signal read. It
// notes every problem and goes on, so that an analyst sees all the wrong
// names of an expression in one pass; each wrong name is replaced by a
// value of any type, so that the type checker, which stops at its first
// error, does not stop at one of them.
type patcher struct {
	set  *Set
	used map[string]bool
	// broken are the lists and counters declared but refused (see
	// compiler.broken): reading one is no error of the expression.
	broken map[string]bool
	errs   []error

	// notValues are the identifiers that are not read as values by
	// themselves: callees, and the start of a member chain (checked with
	// the whole chain). lets are the names of let variables.
	notValues map[ast.Node]bool
	lets      map[string]bool
}

// patch checks and rewrites the tree at node.
func (p *patcher) patch(node *ast.Node) {
	p.notValues, p.lets = map[ast.Node]bool{}, map[string]bool{}
	ast.Walk(node, scope{p})
	ast.Walk(node, p)
}

// scope finds what an identifier stands for before the patcher walks the
// tree (ast.Walk visits children before their parent).
type scope struct{ p *patcher }

func (s scope) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		s.p.notValues[n.Callee] = true
	case *ast.MemberNode:
		s.p.notValues[n.Node] = true
	case *ast.VariableDeclaratorNode:
		s.p.lets[n.Name] = true
	}
}

func (p *patcher) errorf(n ast.Node, format string, args ...any) {
	p.errs = append(p.errs, &file.Error{Location: n.Location(),
		Message: fmt.Sprintf(format, args...)})
}

// add adds the type checker's error, unless a problem was already noted
// where it points.
func (p *patcher) add(err error) {
	var fe *file.Error
	if errors.As(err, &fe) {
		for _, e := range p.errs {
			var prev *file.Error
			if errors.As(e, &prev) && prev.From == fe.From {
				return
			}
		}
	}
	p.errs = append(p.errs, err)
}

// sorted returns the problems in the order they are written.
func (p *patcher) sorted() []error {
	from := func(err error) int {
		var fe *file.Error
		if errors.As(err, &fe) {
			return fe.From
		}
		return 1 << 30
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return from(p.errs[i]) < from(p.errs[j]) })
	return p.errs
}

// anyValue stands in for a wrong name once it is reported: $env?.name of
// a name the environment lacks has no type, which the checker accepts
// anywhere.
func anyValue() ast.Node {
	return &ast.MemberNode{Node: &ast.IdentifierNode{Value: "$env"},
		Property: &ast.StringNode{Value: "__wrong_name"}, Optional: true}
}

func (p *patcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if !p.notValues[n] && !p.known(n.Value) {
			p.unknownSignal(node, n.Value)
		}
	case *ast.MemberNode:
		p.member(node, n)
	case *ast.CallNode:
		p.call(node, n)
	case *ast.BinaryNode:
		// A constant pattern is compiled once, at load; a pattern computed
		// per event would be compiled on every evaluation, and could fail
		// there.
		if _, constant := n.Right.(*ast.StringNode); n.Operator == "matches" && !constant {
			p.errorf(leftmost(n.Right), "the pattern after matches must be a quoted string, "+
				"so that it is compiled once when the rules load")
		}
	}
}

// known reports whether name, standing alone, is something an expression
// can read: a signal family, a let variable or $env.
func (p *patcher) known(name string) bool {
	return name == "$env" || p.lets[name] || contains(topNames(), name)
}

func (p *patcher) unknownSignal(node *ast.Node, name string) {
	p.errorf(*node, "unknown signal %s%s", name, signalHint(name))
	ast.Patch(node, anyValue())
}

// leftmost is the node a member chain (event.properties.p) starts with, for
// an error that points at the start of an operand.
func leftmost(n ast.Node) ast.Node {
	for {
		m, ok := n.(*ast.MemberNode)
		if !ok {
			return n
		}
		n = m.Node
	}
}

// member checks a member chain such as ip.country: a counter, a free-form
// property, or a signal that exists.
func (p *patcher) member(node *ast.Node, n *ast.MemberNode) {
	path := memberPath(n)
	root, _, _ := strings.Cut(path, ".")
	switch {
	case path == "" || root == "$env" || p.lets[root]:
		// Not a chain of names (an index, a method's result, a reported
		// name), or one the type checker judges.
	case root == "velocity":
		if id, ok := n.Node.(*ast.IdentifierNode); ok {
			p.counter(node, n, id)
		}
	case strings.HasPrefix(path, "event.properties."):
	default:
		if _, ok := signalFields()[path]; ok {
			return
		}
		parent := path[:strings.LastIndexByte(path, '.')]
		// A field of a family that it lacks, or a chain that starts with
		// an unknown name; a field of a value (ip.country.x) or a method
		// is the type checker's to judge.
		switch {
		case !p.known(root):
			p.errorf(leftmost(n), "unknown signal %s%s", path, signalHint(path))
			ast.Patch(node, anyValue())
		case families()[parent] && !n.Method:
			p.unknownSignal(node, path)
		}
	}
}

func (p *patcher) counter(node *ast.Node, n *ast.MemberNode, id *ast.IdentifierNode) {
	prop, ok := n.Property.(*ast.StringNode)
	if !ok {
		return
	}
	for _, k := range p.set.Counters {
		if k.Name == prop.Value {
			p.used["counter:"+k.Name] = true
			ast.Patch(node, &ast.MemberNode{Node: id, Property: &ast.IntegerNode{Value: k.Index}})
			return
		}
	}
	if !p.broken["counter:"+prop.Value] {
		var names []string
		for _, k := range p.set.Counters {
			names = append(names, k.Name)
		}
		p.errorf(n, "no counter %q is declared%s", prop.Value,
			declaredHint(prop.Value, p.withBroken("counter:", names), "counters"))
	}
	ast.Patch(node, anyValue())
}

// maxListed is how many declared names an error lists when none is close
// to the wrong one; a set with more would bury the message.
const maxListed = 5

// declaredHint ends a message about a name that is not declared: the
// closest declared name when one is close, else the declared names when
// they are few.
func declaredHint(got string, names []string, what string) string {
	if s := suggestName(got, names); s != "" {
		return s
	}
	switch {
	case len(names) == 0:
		return fmt.Sprintf(" (the set has no %s)", what)
	case len(names) <= maxListed:
		return fmt.Sprintf(" (declared: %s)", strings.Join(names, ", "))
	}
	return ""
}

func (p *patcher) call(node *ast.Node, n *ast.CallNode) {
	callee, ok := n.Callee.(*ast.IdentifierNode)
	if !ok || len(n.Arguments) == 0 {
		return
	}
	arg, constant := n.Arguments[0].(*ast.StringNode)
	switch callee.Value {
	case "in_list":
		if !constant {
			p.errorf(n, "in_list needs the list's name as a quoted string")
			return
		}
		_, ok := p.set.Lists[arg.Value]
		if !ok && !p.broken["list:"+arg.Value] {
			p.errorf(n, "no list %q is declared%s", arg.Value,
				declaredHint(arg.Value, p.withBroken("list:", p.listNames()), "lists"))
		}
		if !ok {
			return
		}
		p.used["list:"+arg.Value] = true
	case "missing":
		if !constant {
			p.errorf(n, "missing needs a signal family name as a quoted string")
			return
		}
		f, ok := signals.FamilyByName(arg.Value)
		if !ok {
			p.errorf(n, "unknown signal family %q%s", arg.Value,
				suggestName(arg.Value, signals.Families(math.MaxUint16).Names()))
			return
		}
		ast.Patch(node, &ast.CallNode{
			Callee: &ast.IdentifierNode{Value: "__missing"},
			Arguments: []ast.Node{&ast.IdentifierNode{Value: "$env"},
				&ast.IntegerNode{Value: int(f)}},
		})
	}
}

func (p *patcher) listNames() []string {
	names := make([]string, 0, len(p.set.Lists))
	for n := range p.set.Lists {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// withBroken adds to names the broken declarations of a kind ("list:"),
// which are declared too, sorted after the good ones.
func (p *patcher) withBroken(kind string, names []string) []string {
	var more []string
	for k := range p.broken {
		if n, ok := strings.CutPrefix(k, kind); ok {
			more = append(more, n)
		}
	}
	sort.Strings(more)
	return append(names, more...)
}

// friendlier rewrites the checker's "type signals.IP has no field countri"
// into the names analysts write, with a suggestion. (The patcher reports
// such names itself; the checker still meets one where the patcher cannot
// follow, as under a let variable of the same name.)
func friendlier(msg string) string {
	var typ, field string
	if _, err := fmt.Sscanf(msg, "type signals.%s has no field %s", &typ, &field); err != nil {
		if _, err := fmt.Sscanf(msg, "unknown name %s", &field); err == nil {
			return fmt.Sprintf("unknown signal %s%s", field, signalHint(field))
		}
		return msg
	}
	st, ok := reflect.TypeOf(signals.Set{}).FieldByNameFunc(func(n string) bool {
		f, _ := reflect.TypeOf(signals.Set{}).FieldByName(n)
		return f.Type.Name() == typ
	})
	if !ok {
		return msg
	}
	path := st.Tag.Get("expr") + "." + field
	return fmt.Sprintf("unknown signal %s%s", path, signalHint(path))
}

// families are the names that hold signals: ip, event, ..., and the
// name of any nested group.
var families = sync.OnceValue(func() map[string]bool {
	out := map[string]bool{}
	for n := range signalFields() {
		for i, c := range n {
			if c == '.' {
				out[n[:i]] = true
			}
		}
	}
	return out
})

// signalHint suggests the signal meant by a name that is none: the one
// whose last part it is (tor: ip.tor), or the closest by spelling.
func signalHint(name string) string {
	names := SignalNames()
	if !strings.Contains(name, ".") {
		var same []string
		for _, n := range names {
			if n[strings.LastIndexByte(n, '.')+1:] == name {
				same = append(same, n)
			}
		}
		if len(same) == 1 {
			return fmt.Sprintf(" (did you mean %s?)", same[0])
		}
		names = append(names, topNames()...)
	}
	return suggestName(name, names)
}

func topNames() []string { return fieldNames(reflect.TypeOf(signals.Set{})) }

func fieldNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if n := t.Field(i).Tag.Get("expr"); n != "" && n != "-" {
			out = append(out, n)
		}
	}
	return out
}

// suggestName names the closest known name when it is a likely typo: one
// edit away, or up to a quarter of its length for a longer name (gps is
// not geo, but failed_login_per_ip is failed_logins_per_ip).
func suggestName(got string, names []string) string {
	best, bestD := "", max(1, len(got)/4)+1
	for _, n := range names {
		if d := EditDistance(got, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// EditDistance counts the insertions, deletions, substitutions and swaps of
// two neighbouring letters that turn a into b: a swap (nwe for new) is one
// typo, not two.
func EditDistance(a, b string) int {
	// Rows i-2, i-1 and i of the table of distances between prefixes.
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
