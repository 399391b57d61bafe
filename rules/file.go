package rules

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// fileSpec is one rule file as written.
type fileSpec struct {
	Name       string
	Thresholds *thresholdSpec
	Lists      []*listSpec
	Counters   []*counterSpec
	Rules      []*ruleSpec
}

type pos struct{ line, col int }

type thresholdSpec struct {
	StepUp int            `yaml:"step_up"`
	Deny   int            `yaml:"deny"`
	Caps   map[string]int `yaml:"caps"`
	at     pos
	bad    map[string]bool // keys whose values had the wrong type (see decode)
}

type listSpec struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Kind        string   `yaml:"kind"`
	Values      []string `yaml:"values"`
	File        string   `yaml:"file"`
	at          pos
	valuesAt    []pos
	bad         map[string]bool // keys whose values had the wrong type (see decode)
}

type counterSpec struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Key         string `yaml:"key"`
	When        string `yaml:"when"`
	Distinct    string `yaml:"distinct"`
	Window      string `yaml:"window"`
	at          pos
	fields      map[string]span
	bad         map[string]bool // keys whose values had the wrong type (see decode)
}

type ruleSpec struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	When        string   `yaml:"when"`
	Score       int      `yaml:"score"`
	Action      string   `yaml:"action"`
	Reason      string   `yaml:"reason"`
	Message     string   `yaml:"message"`
	Tags        []string `yaml:"tags"`
	Mode        string   `yaml:"mode"`
	Expires     string   `yaml:"expires"`
	Debug       bool     `yaml:"debug"`
	at          pos
	fields      map[string]span
	bad         map[string]bool // keys whose values had the wrong type (see decode)
}

// parseFile reads one YAML rule file. Unknown keys, wrong types and a
// malformed document are reported as Errors with their position.
func parseFile(name string, data []byte) (*fileSpec, Errors) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{SyntaxError(name, data, err)}
	}
	f := &fileSpec{Name: name}
	if len(doc.Content) == 0 {
		return f, nil // an empty file is allowed
	}
	root := doc.Content[0]
	p := &yamlParser{file: name, lines: strings.Split(string(data), "\n")}
	if root.Kind != yaml.MappingNode {
		p.errAt(root, "", "", "a rule file must be a mapping with thresholds, lists, counters and rules")
		return nil, p.errs
	}
	p.eachKey(root, "", "", []string{"thresholds", "lists", "counters", "rules"},
		func(key string, v *yaml.Node) {
			switch key {
			case "thresholds":
				f.Thresholds = p.thresholds(v)
			case "lists":
				f.Lists = p.lists(v)
			case "counters":
				f.Counters = p.counters(v)
			case "rules":
				f.Rules = p.rules(v)
			}
		})
	return f, p.errs
}

type yamlParser struct {
	file  string
	lines []string // the file's lines, to place errors inside multi-line values
	errs  Errors
}

func (p *yamlParser) errAt(n *yaml.Node, kind, name, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: n.Line, Col: n.Column,
		Kind: kind, Rule: name, Msg: fmt.Sprintf(format, args...)})
}

// eachKey calls fn for each key of mapping n, reporting unknown and
// duplicate keys.
func (p *yamlParser) eachKey(n *yaml.Node, kind, name string, known []string,
	fn func(key string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errAt(n, kind, name, "expected a mapping")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !contains(known, k.Value):
			p.errAt(k, kind, name, "unknown key %q (expected one of %s)",
				k.Value, strings.Join(known, ", "))
		case seen[k.Value]:
			p.errAt(k, kind, name, "key %q given twice", k.Value)
		default:
			seen[k.Value] = true
			fn(k.Value, v)
		}
	}
}

// decode decodes a scalar or sequence node into out, reporting type errors
// at the value that has the wrong type. It returns false for such a value:
// the caller notes the key, so that the checks that a key is given (a rule
// needs a score) do not report it a second time.
func (p *yamlParser) decode(v *yaml.Node, kind, name, key string, out any) bool {
	if err := v.Decode(out); err != nil {
		msg, at := typeProblem(err)
		if at.line == 0 {
			at = pos{v.Line, v.Column}
		}
		p.errs = append(p.errs, &Error{File: p.file, Line: at.line, Col: at.col,
			Kind: kind, Rule: name, Msg: key + ": " + msg})
		return false
	}
	return true
}

// typeWords name the Go types values are decoded into as a rule file's
// reader knows them.
var typeWords = map[string]string{
	"int": "a whole number", "bool": "true or false", "string": "a single value",
	"[]string": "a list such as [a, b]",
}

// typeProblem says what is wrong with a value of the wrong type, and
// where, in the words of the rule file: the library says "cannot
// construct !!str `high` into int".
func typeProblem(err error) (string, pos) {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return strings.TrimPrefix(err.Error(), "yaml: "), pos{}
	}
	at := pos{le.Mark.Line, le.Mark.Column}
	rest, ok := strings.CutPrefix(le.Message, "cannot construct ")
	i := strings.LastIndex(rest, " into ")
	if !ok || i < 0 {
		return le.Message, at
	}
	got, into := rest[:i], rest[i+len(" into "):]
	want, known := typeWords[into]
	if !known {
		want = into
	}
	switch {
	case strings.Contains(got, "`"):
		got = strings.TrimSuffix(got[strings.Index(got, "`")+1:], "`")
		got = fmt.Sprintf("%q", got)
	case got == "!!seq":
		got = "a list"
	case got == "!!map":
		got = "a mapping"
	}
	return fmt.Sprintf("expected %s, not %s", want, got), at
}

func (p *yamlParser) thresholds(n *yaml.Node) *thresholdSpec {
	t := &thresholdSpec{at: pos{n.Line, n.Column}, bad: map[string]bool{}}
	p.eachKey(n, "", "", []string{"step_up", "deny", "caps"}, func(key string, v *yaml.Node) {
		dst := map[string]any{"step_up": &t.StepUp, "deny": &t.Deny, "caps": &t.Caps}[key]
		if !p.decode(v, "", "", "thresholds."+key, dst) {
			t.bad[key] = true
		}
	})
	return t
}

func (p *yamlParser) sequence(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		if n.Tag == "!!null" {
			return nil
		}
		p.errAt(n, "", "", "%s must be a list (entries starting with -)", what)
		return nil
	}
	return n.Content
}

// nameOf returns the value of the name key of a mapping, for error messages
// about the entry's other keys.
func nameOf(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func (p *yamlParser) lists(n *yaml.Node) []*listSpec {
	var out []*listSpec
	for _, item := range p.sequence(n, "lists") {
		l := &listSpec{at: pos{item.Line, item.Column}, Name: nameOf(item), bad: map[string]bool{}}
		p.eachKey(item, "list", l.Name, []string{"name", "description", "kind", "values", "file"},
			func(key string, v *yaml.Node) {
				if key == "values" {
					p.listValues(v, l)
					return
				}
				dst := map[string]*string{"name": &l.Name, "description": &l.Description,
					"kind": &l.Kind, "file": &l.File}[key]
				if !p.decode(v, "list", l.Name, key, dst) {
					l.bad[key] = true
				}
			})
		out = append(out, l)
	}
	return out
}

func (p *yamlParser) listValues(v *yaml.Node, l *listSpec) {
	if v.Kind != yaml.SequenceNode {
		p.errAt(v, "list", l.Name, "values must be a list")
		l.bad["values"] = true
		return
	}
	for _, item := range v.Content {
		if item.Kind != yaml.ScalarNode {
			p.errAt(item, "list", l.Name, "each value must be a single string or number")
			l.bad["values"] = true
			continue
		}
		l.Values = append(l.Values, item.Value)
		l.valuesAt = append(l.valuesAt, pos{item.Line, item.Column})
	}
}

func (p *yamlParser) counters(n *yaml.Node) []*counterSpec {
	var out []*counterSpec
	keys := []string{"name", "description", "key", "when", "distinct", "window"}
	for _, item := range p.sequence(n, "counters") {
		c := &counterSpec{at: pos{item.Line, item.Column}, Name: nameOf(item),
			fields: map[string]span{}, bad: map[string]bool{}}
		p.eachKey(item, "counter", c.Name, keys, func(key string, v *yaml.Node) {
			c.fields[key] = p.span(v)
			dst := map[string]*string{"name": &c.Name, "description": &c.Description,
				"key": &c.Key, "when": &c.When, "distinct": &c.Distinct, "window": &c.Window}[key]
			if !p.decode(v, "counter", c.Name, key, dst) {
				c.bad[key] = true
			}
		})
		out = append(out, c)
	}
	return out
}

func (p *yamlParser) rules(n *yaml.Node) []*ruleSpec {
	var out []*ruleSpec
	keys := []string{"name", "description", "when", "score", "action", "reason",
		"message", "tags", "mode", "expires", "debug"}
	for _, item := range p.sequence(n, "rules") {
		r := &ruleSpec{at: pos{item.Line, item.Column}, Name: nameOf(item),
			fields: map[string]span{}, bad: map[string]bool{}}
		p.eachKey(item, "rule", r.Name, keys, func(key string, v *yaml.Node) {
			r.fields[key] = p.span(v)
			p.ruleField(r, key, v)
		})
		out = append(out, r)
	}
	return out
}

func (p *yamlParser) ruleField(r *ruleSpec, key string, v *yaml.Node) {
	dst := map[string]any{"name": &r.Name, "description": &r.Description, "when": &r.When,
		"score": &r.Score, "action": &r.Action, "reason": &r.Reason, "message": &r.Message,
		"tags": &r.Tags, "mode": &r.Mode, "expires": &r.Expires, "debug": &r.Debug}[key]
	if !p.decode(v, "rule", r.Name, key, dst) {
		r.bad[key] = true
	}
}

// span maps a scalar's text back to the file, so that an error at an
// offset inside an expression is reported at its own line and column even
// when the expression spans lines. YAML joins the lines of a multi-line
// value with a newline (literal block, |) or a space (folded block, >, and
// plain or quoted scalars written over several lines); either way each
// line's text is followed by one joining character, so the offsets of the
// value and of the lines stay in step.
type span struct {
	segs []seg
	base int // offset of the value's text that offset 0 stands for
}

// seg is one line of a value: where its text starts and how many runes it
// holds.
type seg struct{ line, col, runes int }

func (p *yamlParser) span(v *yaml.Node) span {
	if v.Kind != yaml.ScalarNode {
		return span{segs: []seg{{v.Line, v.Column, 0}}}
	}
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return p.blockSpan(v)
	}
	col := v.Column
	if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		col++ // past the quote
	}
	segs := []seg{{v.Line, col, 0}}
	want := utf8.RuneCountInString(v.Value)
	first := p.line(v.Line)
	if col-1 <= len(first) {
		rest := strings.TrimRight(runeSuffix(first, col-1), " \t")
		segs[0].runes = min(utf8.RuneCountInString(rest), want)
	}
	// A plain or quoted scalar continues on the following lines, indented,
	// each joined to the previous one by a space.
	got := segs[0].runes
	for n := v.Line + 1; got < want && n <= len(p.lines); n++ {
		text := p.line(n)
		trimmed := strings.TrimLeft(text, " \t")
		c := utf8.RuneCountInString(text) - utf8.RuneCountInString(trimmed) + 1
		s := seg{n, c, utf8.RuneCountInString(strings.TrimRight(trimmed, " \t"))}
		segs = append(segs, s)
		got += 1 + s.runes
	}
	return span{segs: segs}
}

// blockSpan maps a literal or folded block: its lines start on the line
// after the indicator, at the indentation of the first line with text.
func (p *yamlParser) blockSpan(v *yaml.Node) span {
	indent := -1
	var segs []seg
	for n := v.Line + 1; n <= len(p.lines); n++ {
		text := p.line(n)
		trimmed := strings.TrimLeft(text, " ")
		if trimmed == "" {
			segs = append(segs, seg{n, 1, 0})
			continue
		}
		lead := len(text) - len(trimmed)
		if indent < 0 {
			indent = lead
		}
		if lead < indent {
			break // the block ended
		}
		segs = append(segs, seg{n, indent + 1, utf8.RuneCountInString(text[indent:])})
	}
	if len(segs) == 0 {
		segs = []seg{{v.Line, v.Column, 0}}
	}
	return span{segs: segs}
}

func (p *yamlParser) line(n int) string {
	if n < 1 || n > len(p.lines) {
		return ""
	}
	return strings.TrimSuffix(p.lines[n-1], "\r")
}

// runeSuffix returns s from its n-th rune on.
func runeSuffix(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[i:]
		}
		n--
	}
	return ""
}

// start is where the value's text starts.
func (s span) start() pos { return s.at(0) }

// at is the position of the rune at offset o of the value.
func (s span) at(o int) pos {
	if len(s.segs) == 0 {
		return pos{}
	}
	o += s.base
	for _, g := range s.segs {
		if o <= g.runes {
			return pos{g.line, g.col + o}
		}
		o -= g.runes + 1
	}
	last := s.segs[len(s.segs)-1]
	return pos{last.line, last.col + last.runes}
}

// shift returns the span of the value's text from offset o on.
func (s span) shift(o int) span { s.base += o; return s }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
