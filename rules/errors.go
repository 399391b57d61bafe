package rules

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a rule file, at a position.
type Error struct {
	File   string
	Line   int
	Col    int
	Rule   string // the rule, list or counter the problem is in; may be empty
	Kind   string // "rule", "list" or "counter"; empty for file-level problems
	Msg    string
	Warn   bool // a lint warning rather than an error
	parent error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, max(e.Col, 1))
	}
	b.WriteString(": ")
	if e.Rule != "" {
		kind := e.Kind
		if kind == "" {
			kind = "rule"
		}
		fmt.Fprintf(&b, "%s %q: ", kind, e.Rule)
	}
	if e.Warn {
		b.WriteString("warning: ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.parent }

// Errors is every problem found while loading a rule set. Loading reports all
// of them at once so that an analyst can fix a file in one pass.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Warnings returns the lint warnings.
func (es Errors) Warnings() Errors { return es.filter(true) }

// Fatal returns the errors that are not warnings.
func (es Errors) Fatal() Errors { return es.filter(false) }

func (es Errors) filter(warn bool) Errors {
	var out Errors
	for _, e := range es {
		if e.Warn == warn {
			out = append(out, e)
		}
	}
	return out
}

func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return es
}
