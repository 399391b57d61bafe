package rules

import (
	"slices"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// typeGuard is the event types a condition can hold for, read from the first
// of its conjuncts when that is event.type == "t" or event.type in [...];
// nil when the condition does not start so. Nearly every rule and counter
// condition starts with one, and a login is no signup: for an event of
// another type the condition is false without running it, which is what the
// VM finds too (its && stops at the first false operand, before anything
// that could fail), after reading event.type through reflection. The rules
// of the default pack skip a third of their runs so.
type typeGuard []string

// excludes reports whether the condition is false for an event of type t.
func (g typeGuard) excludes(t string) bool { return g != nil && !slices.Contains(g, t) }

func guardOf(p *vm.Program) typeGuard {
	if p == nil {
		return nil
	}
	return typesOf(p.Node())
}

// typesOf looks down the left operands of && for the first conjunct.
func typesOf(n ast.Node) typeGuard {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return nil
	}
	switch b.Operator {
	case "&&", "and":
		return typesOf(b.Left)
	case "==":
		if s, ok := b.Right.(*ast.StringNode); ok && isEventType(b.Left) {
			return typeGuard{s.Value}
		}
		if s, ok := b.Left.(*ast.StringNode); ok && isEventType(b.Right) {
			return typeGuard{s.Value}
		}
	case "in":
		if isEventType(b.Left) {
			return stringsIn(b.Right)
		}
	}
	return nil
}

func isEventType(n ast.Node) bool {
	m, ok := n.(*ast.MemberNode)
	if !ok || m.Optional {
		return false
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	prop, isStr := m.Property.(*ast.StringNode)
	return ok && isStr && id.Value == "event" && prop.Value == "type"
}

// stringsIn returns the strings of a literal list, which the compiler may
// have turned into a set; nil for anything else.
func stringsIn(n ast.Node) typeGuard {
	g := typeGuard{}
	switch n := n.(type) {
	case *ast.ArrayNode:
		for _, e := range n.Nodes {
			s, ok := e.(*ast.StringNode)
			if !ok {
				return nil
			}
			g = append(g, s.Value)
		}
	case *ast.ConstantNode:
		switch set := n.Value.(type) {
		case map[string]struct{}:
			for s := range set {
				g = append(g, s)
			}
		case map[any]struct{}:
			for k := range set {
				s, ok := k.(string)
				if !ok {
					return nil
				}
				g = append(g, s)
			}
		default:
			return nil
		}
	default:
		return nil
	}
	return g
}
