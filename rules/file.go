package rules

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
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
	StepUp int `yaml:"step_up"`
	Deny   int `yaml:"deny"`
	at     pos
}

type listSpec struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Kind        string   `yaml:"kind"`
	Values      []string `yaml:"values"`
	File        string   `yaml:"file"`
	at          pos
	valuesAt    []pos
}

type counterSpec struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Key         string `yaml:"key"`
	When        string `yaml:"when"`
	Distinct    string `yaml:"distinct"`
	Window      string `yaml:"window"`
	at          pos
	fields      map[string]pos
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
	fields      map[string]pos
	whenStyle   yaml.Style
}

// parseFile reads one YAML rule file. Unknown keys, wrong types and a
// malformed document are reported as Errors with their position.
func parseFile(name string, data []byte) (*fileSpec, Errors) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{yamlError(name, err)}
	}
	f := &fileSpec{Name: name}
	if len(doc.Content) == 0 {
		return f, nil // an empty file is allowed
	}
	root := doc.Content[0]
	p := &yamlParser{file: name}
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

func yamlError(file string, err error) *Error {
	// yaml.v3 reports "yaml: line N: message"; keep its line.
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: file, Msg: msg, parent: err}
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		e.Line = line
		e.Msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	return e
}

type yamlParser struct {
	file string
	errs Errors
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
// at the node.
func (p *yamlParser) decode(v *yaml.Node, kind, name, key string, out any) {
	if err := v.Decode(out); err != nil {
		p.errAt(v, kind, name, "%s: %s", key, typeProblem(err))
	}
}

func typeProblem(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "yaml: unmarshal errors") {
		msg = msg[i+2:]
	}
	return strings.TrimPrefix(msg, "yaml: ")
}

func (p *yamlParser) thresholds(n *yaml.Node) *thresholdSpec {
	t := &thresholdSpec{at: pos{n.Line, n.Column}}
	p.eachKey(n, "", "", []string{"step_up", "deny"}, func(key string, v *yaml.Node) {
		switch key {
		case "step_up":
			p.decode(v, "", "", "thresholds.step_up", &t.StepUp)
		case "deny":
			p.decode(v, "", "", "thresholds.deny", &t.Deny)
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
		l := &listSpec{at: pos{item.Line, item.Column}, Name: nameOf(item)}
		p.eachKey(item, "list", l.Name, []string{"name", "description", "kind", "values", "file"},
			func(key string, v *yaml.Node) {
				switch key {
				case "name":
					p.decode(v, "list", l.Name, key, &l.Name)
				case "description":
					p.decode(v, "list", l.Name, key, &l.Description)
				case "kind":
					p.decode(v, "list", l.Name, key, &l.Kind)
				case "file":
					p.decode(v, "list", l.Name, key, &l.File)
				case "values":
					p.listValues(v, l)
				}
			})
		out = append(out, l)
	}
	return out
}

func (p *yamlParser) listValues(v *yaml.Node, l *listSpec) {
	if v.Kind != yaml.SequenceNode {
		p.errAt(v, "list", l.Name, "values must be a list")
		return
	}
	for _, item := range v.Content {
		if item.Kind != yaml.ScalarNode {
			p.errAt(item, "list", l.Name, "each value must be a single string or number")
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
			fields: map[string]pos{}}
		p.eachKey(item, "counter", c.Name, keys, func(key string, v *yaml.Node) {
			c.fields[key] = valuePos(v)
			dst := map[string]*string{"name": &c.Name, "description": &c.Description,
				"key": &c.Key, "when": &c.When, "distinct": &c.Distinct, "window": &c.Window}[key]
			p.decode(v, "counter", c.Name, key, dst)
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
			fields: map[string]pos{}}
		p.eachKey(item, "rule", r.Name, keys, func(key string, v *yaml.Node) {
			r.fields[key] = valuePos(v)
			p.ruleField(r, key, v)
		})
		out = append(out, r)
	}
	return out
}

func (p *yamlParser) ruleField(r *ruleSpec, key string, v *yaml.Node) {
	switch key {
	case "score":
		p.decode(v, "rule", r.Name, key, &r.Score)
	case "tags":
		p.decode(v, "rule", r.Name, key, &r.Tags)
	case "debug":
		p.decode(v, "rule", r.Name, key, &r.Debug)
	case "when":
		r.whenStyle = v.Style
		p.decode(v, "rule", r.Name, key, &r.When)
	default:
		dst := map[string]*string{"name": &r.Name, "description": &r.Description,
			"action": &r.Action, "reason": &r.Reason, "message": &r.Message,
			"mode": &r.Mode, "expires": &r.Expires}[key]
		p.decode(v, "rule", r.Name, key, dst)
	}
}

// valuePos is where an expression's text starts. A block scalar (| or >)
// starts on the line after its indicator.
func valuePos(v *yaml.Node) pos {
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return pos{v.Line + 1, v.Column + 2}
	}
	if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		return pos{v.Line, v.Column + 1}
	}
	return pos{v.Line, v.Column}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
