package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/checker"
	exprcompiler "github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/verdictrisk/verdict/signals"
)

// MaxExprNodes bounds the size of one expression, so that a pathological
// rule is refused when it is loaded rather than slowing every decision.
const MaxExprNodes = 400

// Thresholds map a score to an action: a score at or above Deny denies, at or
// above StepUp steps up, below allows.
type Thresholds struct {
	StepUp int `json:"step_up"`
	Deny   int `json:"deny"`
	// Caps bound what the rules carrying a tag add to the score together,
	// so that weak evidence, however much of it, stays below a threshold
	// (see docs/rules.md). Sorted by tag; at most MaxCaps.
	Caps []Cap `json:"caps,omitempty"`
}

// Cap bounds the sum of the scores of the matched rules tagged Tag.
type Cap struct {
	Tag string `json:"tag"`
	Max int    `json:"max"`
}

// MaxCaps is the most score caps a rule set may declare.
const MaxCaps = 8

// DefaultThresholds apply when no rule file sets thresholds.
var DefaultThresholds = Thresholds{StepUp: 50, Deny: 90}

// Set is a compiled rule set. It is immutable once built and safe for
// concurrent use; a reload builds a new Set beside the running one.
type Set struct {
	// Version identifies the set's content: a hash of every rule file and
	// list file it was built from.
	Version    string
	Thresholds Thresholds
	Rules      []*Rule
	Counters   []*Counter
	Lists      map[string]*List
	// Files are the rule files the set was built from, in load order.
	Files []string
	// Warnings are lint findings that did not stop the load.
	Warnings Errors

	bundle *Bundle
}

// Rule is one compiled rule.
type Rule struct {
	// Index is the rule's place in Set.Rules.
	Index       int
	Name        string
	Description string
	Reason      string
	Score       int
	Action      Action
	Tags        []string
	Shadow      bool
	Expires     time.Time // zero when the rule does not expire
	Debug       bool
	File        string
	Line        int
	When        string

	program *vm.Program
	// types are the event types the condition can hold for (guard.go).
	types typeGuard
	// capped is the index in Thresholds.Caps of the cap the rule's score
	// counts toward, or -1.
	capped  int
	at      pos  // where the rule starts
	when    span // where the condition is written
	message *template
	// Reads are the signals the rule's condition reads, for explanations.
	Reads []string
}

// Counter is a compiled velocity counter declaration.
type Counter struct {
	Name        string
	Description string
	Index       int
	Window      time.Duration
	Distinct    bool
	// Hash identifies the counter's definition: a counter whose Hash did
	// not change across a reload keeps its state.
	Hash string
	File string
	Line int
	col  int

	key, when, distinct *vm.Program
	// whenTypes are the event types the when condition can hold for.
	whenTypes typeGuard
}

// LoadDir compiles the rule set at p: every *.yaml and *.yml file directly
// inside the folder p (sub-folders, such as tests/, are not read), or the
// single file p. Errors and rules name their files as p/<file>. verdictd,
// verdict check, verdict test and verdict replay all load through it, so
// what check accepts is what the service loads.
//
// Files are opened through an os.Root on the folder (the file's folder
// for a single file): a rule or list file that leads out of it, by a
// symlink or "..", is an error naming the file, so that a list cannot
// read /etc/passwd. Symlinks that stay inside the folder work (a
// Kubernetes ConfigMap volume is made of them).
func LoadDir(p string) (*Set, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("rules %s: %w", p, err)
	}
	dir, name := p, "."
	if !info.IsDir() {
		dir, name = filepath.Dir(p), filepath.Base(p)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("rules %s: %w", p, err)
	}
	defer root.Close()
	return load(root.FS(), name, dir)
}

// Load compiles every *.yaml and *.yml file directly inside dir of fsys. On
// any error it returns nil and an Errors value listing every problem; lint
// warnings are kept in the Set.
func Load(fsys fs.FS, dir string) (*Set, error) { return load(fsys, dir, "") }

func load(fsys fs.FS, dir, root string) (*Set, error) {
	names, err := ruleFiles(fsys, dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("read rule file %s: %w", filepath.Join(root, n), err)
		}
		files[n] = data
	}
	return compile(fsys, files, root)
}

// ruleFiles lists the rule files of dir, or dir itself when it is a file.
func ruleFiles(fsys fs.FS, dir string) ([]string, error) {
	st, err := fs.Stat(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	if !st.IsDir() {
		return []string{dir}, nil
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read rules folder: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
			names = append(names, path.Join(dir, n))
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("rules folder %s holds no .yaml files", dir)
	}
	sort.Strings(names)
	return names, nil
}

// Compile builds a Set from rule file contents keyed by their path in fsys.
// List files named by the rules are read from fsys.
func Compile(fsys fs.FS, files map[string][]byte) (*Set, error) {
	return compile(fsys, files, "")
}

// Bundle is every file a Set was built from, rule files and list files,
// keyed by their path below Root. CompileBundle builds the same Set again
// without the files on disk: verdictd keeps the last good bundle in its
// state folder and starts from it when the configured files are broken.
type Bundle struct {
	// Root is the folder the paths are relative to, as it was given (for
	// error messages); empty for the embedded pack.
	Root string `json:"root"`
	// Rules are the paths of the rule files; Files holds them and the list
	// files.
	Rules []string          `json:"rules"`
	Files map[string][]byte `json:"files"`
}

// Bundle returns the files s was built from.
func (s *Set) Bundle() *Bundle { return s.bundle }

// CompileBundle compiles a bundle.
func CompileBundle(b *Bundle) (*Set, error) {
	files := map[string][]byte{}
	for _, n := range b.Rules {
		data, ok := b.Files[n]
		if !ok {
			return nil, fmt.Errorf("rule bundle: no content for %s", n)
		}
		files[n] = data
	}
	return compile(bundleFS(b.Files), files, b.Root)
}

func compile(fsys fs.FS, files map[string][]byte, root string) (*Set, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)

	var errs Errors
	var specs []*fileSpec
	for _, n := range names {
		f, ferrs := parseFile(n, files[n])
		errs = append(errs, ferrs...)
		if f != nil {
			specs = append(specs, f)
		}
	}
	rf := &recordingFS{fsys: fsys, read: map[string][]byte{}}
	c := &compiler{fsys: rf, set: &Set{Lists: map[string]*List{}, Files: names,
		Thresholds: DefaultThresholds}}
	c.compile(specs)
	errs = append(errs, c.errs...)
	if len(errs.Fatal()) > 0 {
		return nil, relocate(errs, root).sorted()
	}
	c.set.Warnings = relocate(append(errs, lint(c.set, c.used)...), root).sorted()
	b := &Bundle{Root: root, Rules: slices.Clone(names), Files: rf.read}
	for _, n := range names {
		b.Files[n] = files[n]
	}
	c.set.bundle = b
	c.set.Version = version(b.Files)
	c.set.display(root)
	return c.set, nil
}

// display names the set's files as the user gave them: below root.
func (s *Set) display(root string) {
	if root == "" {
		return
	}
	for i, f := range s.Files {
		s.Files[i] = filepath.Join(root, f)
	}
	for _, r := range s.Rules {
		r.File = filepath.Join(root, r.File)
	}
	for _, k := range s.Counters {
		k.File = filepath.Join(root, k.File)
	}
	for _, l := range s.Lists {
		l.File = filepath.Join(root, l.File)
		if l.Source != "inline" {
			l.Source = filepath.Join(root, l.Source)
		}
	}
}

func relocate(errs Errors, root string) Errors {
	if root != "" {
		for _, e := range errs {
			e.File = filepath.Join(root, e.File)
		}
	}
	return errs
}

// version hashes every file the set was built from, by path and content.
func version(files map[string][]byte) string {
	h := sha256.New()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

type compiler struct {
	fsys fs.FS
	set  *Set
	errs Errors
	// used records the lists and counters some expression reads.
	used map[string]bool
	// broken records the lists and counters that are declared but were
	// refused ("list:name", "counter:name"). An expression that reads one
	// is not told it is undeclared: its declaration's own error says what
	// is wrong, and the set is refused for it.
	broken map[string]bool
	// thFile and thAt are where the thresholds were set.
	thFile string
	thAt   pos
}

func (c *compiler) fail(file string, p pos, kind, name, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: file, Line: p.line, Col: p.col, Kind: kind,
		Rule: name, Msg: fmt.Sprintf(format, args...)})
}

// lintCaps warns about a score cap whose tag no rule carries: a typo, or
// a cap left over from rules that are gone.
func (c *compiler) lintCaps() {
	for _, cp := range c.set.Thresholds.Caps {
		carries := func(r *Rule) bool { return slices.Contains(r.Tags, cp.Tag) }
		if !slices.ContainsFunc(c.set.Rules, carries) {
			c.errs = append(c.errs, &Error{File: c.thFile, Line: c.thAt.line, Col: c.thAt.col,
				Warn: true, Msg: fmt.Sprintf("thresholds.caps.%s: no rule has the tag %s", cp.Tag, cp.Tag)})
		}
	}
}

func (c *compiler) compile(specs []*fileSpec) {
	c.used, c.broken = map[string]bool{}, map[string]bool{}
	c.thresholds(specs)
	for _, f := range specs {
		for _, l := range f.Lists {
			c.declare("list:", l.Name, len(l.bad) > 0, func() { c.list(f.Name, l) })
		}
	}
	for _, f := range specs {
		for _, s := range f.Counters {
			c.declare("counter:", s.Name, len(s.bad) > 0, func() { c.counter(f.Name, s) })
		}
	}
	seen := map[string]string{}
	for _, f := range specs {
		for _, s := range f.Rules {
			if prev, dup := seen[s.Name]; dup && s.Name != "" {
				c.fail(f.Name, s.at, "rule", s.Name, "a rule of this name is already defined in %s", prev)
				continue
			}
			seen[s.Name] = f.Name
			if r := c.rule(f.Name, s); r != nil {
				r.Index = len(c.set.Rules)
				c.set.Rules = append(c.set.Rules, r)
			}
		}
	}
	c.lintCaps()
}

// declare compiles one list or counter declaration, and records it as
// broken when that fails or it had a value of the wrong type (badValue).
func (c *compiler) declare(kind, name string, badValue bool, compile func()) {
	before := len(c.errs)
	compile()
	if (badValue || len(c.errs) > before) && name != "" {
		c.broken[kind+name] = true
	}
}

func (c *compiler) thresholds(specs []*fileSpec) {
	var from string
	for _, f := range specs {
		t := f.Thresholds
		if t == nil {
			continue
		}
		if from != "" {
			c.fail(f.Name, t.at, "", "", "thresholds are already set in %s; set them once", from)
			continue
		}
		from = f.Name
		if t.bad["step_up"] || t.bad["deny"] {
			continue // reported where the value is
		}
		if t.StepUp <= 0 || t.Deny <= 0 || t.StepUp > 100 || t.Deny > 100 {
			c.fail(f.Name, t.at, "", "", "thresholds.step_up and thresholds.deny must be between 1 and 100")
			continue
		}
		if t.StepUp > t.Deny {
			c.fail(f.Name, t.at, "", "", "thresholds.step_up (%d) is above thresholds.deny (%d)",
				t.StepUp, t.Deny)
			continue
		}
		c.set.Thresholds = Thresholds{StepUp: t.StepUp, Deny: t.Deny, Caps: c.caps(f.Name, t)}
		c.thFile, c.thAt = f.Name, t.at
	}
}

// caps checks and sorts the score caps of a thresholds block.
func (c *compiler) caps(file string, t *thresholdSpec) []Cap {
	if len(t.Caps) > MaxCaps {
		c.fail(file, t.at, "", "", "thresholds.caps has %d entries; at most %d", len(t.Caps), MaxCaps)
		return nil
	}
	var out []Cap
	for tag, max := range t.Caps {
		if !validName(tag) {
			c.fail(file, t.at, "", "", "thresholds.caps: %q is not a tag of letters, digits, _ and -", tag)
			continue
		}
		if max < 0 || max > 100 {
			c.fail(file, t.at, "", "", "thresholds.caps.%s (%d) must be between 0 and 100", tag, max)
			continue
		}
		out = append(out, Cap{Tag: tag, Max: max})
	}
	slices.SortFunc(out, func(a, b Cap) int { return strings.Compare(a.Tag, b.Tag) })
	return out
}

// ruleCap finds the cap r's score counts toward: the cap of one of its
// tags. A rule whose tags name two capped tags is an error, since its
// score would belong to both.
func (c *compiler) ruleCap(file string, s *ruleSpec, r *Rule) {
	r.capped = -1
	for i, cp := range c.set.Thresholds.Caps {
		if !slices.Contains(r.Tags, cp.Tag) {
			continue
		}
		if r.capped >= 0 {
			c.fail(file, s.fields["tags"].start(), "rule", s.Name,
				"tags %s and %s both have a score cap; a rule counts toward one",
				c.set.Thresholds.Caps[r.capped].Tag, cp.Tag)
			return
		}
		r.capped = i
	}
}

func (c *compiler) list(file string, s *listSpec) {
	if s.bad["name"] || s.bad["kind"] {
		return // reported where the value is; the values cannot be read without a kind
	}
	if !validName(s.Name) {
		c.fail(file, s.at, "list", s.Name, "a list needs a name of letters, digits and _")
		return
	}
	if _, dup := c.set.Lists[s.Name]; dup {
		c.fail(file, s.at, "list", s.Name, "a list of this name is already defined")
		return
	}
	l, errs := buildList(c.fsys, path.Dir(file), s, file)
	c.errs = append(c.errs, errs...)
	if l != nil && len(errs) == 0 {
		c.set.Lists[s.Name] = l
	}
}

func (c *compiler) counter(file string, s *counterSpec) {
	if s.bad["name"] {
		return
	}
	if !validName(s.Name) {
		c.fail(file, s.at, "counter", s.Name, "a counter needs a name of letters, digits and _")
		return
	}
	for _, k := range c.set.Counters {
		if k.Name == s.Name {
			c.fail(file, s.at, "counter", s.Name, "a counter of this name is already defined")
			return
		}
	}
	if len(c.set.Counters) == signals.MaxCounters {
		c.fail(file, s.at, "counter", s.Name, "more than %d counters", signals.MaxCounters)
		return
	}
	k := &Counter{Name: s.Name, Description: s.Description, Index: len(c.set.Counters),
		Distinct: s.Distinct != "", File: file, Line: s.at.line, col: s.at.col}
	w, err := parseWindow(s.Window)
	if err != nil && !s.bad["window"] {
		c.fail(file, s.fields["window"].start(), "counter", s.Name, "window: %v", err)
	}
	k.Window = w
	ok := err == nil
	if s.Key == "" && !s.bad["key"] {
		c.fail(file, s.at, "counter", s.Name, "a counter needs a key expression")
		ok = false
	}
	site := site{file: file, kind: "counter", name: s.Name}
	k.key = c.expr(site.at(s.fields["key"]), s.Key, kindKey)
	if s.When != "" {
		k.when = c.expr(site.at(s.fields["when"]), s.When, kindBool)
		k.whenTypes = guardOf(k.when)
	}
	if s.Distinct != "" {
		k.distinct = c.expr(site.at(s.fields["distinct"]), s.Distinct, kindKey)
	}
	if !ok || k.key == nil || (s.When != "" && k.when == nil) || (k.Distinct && k.distinct == nil) {
		return
	}
	k.Hash = fingerprint(s.Key, s.When, s.Distinct, w.String())
	c.set.Counters = append(c.set.Counters, k)
}

// parseWindow reads durations such as 30s, 10m, 1h, 7d.
func parseWindow(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("a window is required, such as 10m, 1h or 7d")
	}
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err = time.ParseDuration(n + "h")
		d *= 24
	} else {
		d, err = time.ParseDuration(s)
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration such as 10m, 1h or 7d", s)
	case d < time.Second || d > 90*24*time.Hour:
		return 0, fmt.Errorf("%s is outside 1s to 90d", s)
	}
	return d, nil
}

func (c *compiler) rule(file string, s *ruleSpec) *Rule {
	site := site{file: file, kind: "rule", name: s.Name}
	before := len(c.errs)
	if s.bad["name"] {
		return nil
	}
	if !validName(s.Name) {
		c.fail(file, s.at, "rule", s.Name, "a rule needs a name of letters, digits, _ and -")
		return nil
	}
	r := &Rule{Name: s.Name, Description: s.Description, Score: s.Score, Tags: s.Tags,
		Reason: s.Reason, Debug: s.Debug, File: file, Line: s.at.line, When: s.When}
	if r.Reason == "" {
		r.Reason = strings.ReplaceAll(r.Name, "-", "_")
	}
	if s.Score < -100 || s.Score > 100 {
		c.fail(file, s.fields["score"].start(), "rule", s.Name, "score %d is outside -100 to 100", s.Score)
	}
	c.ruleCap(file, s, r)
	c.ruleAction(site.at(s.fields["action"]), s.Action, r)
	c.ruleMode(site.at(s.fields["mode"]), s.Mode, r)
	c.ruleExpiry(site.at(s.fields["expires"]), s.Expires, r)
	if s.Score == 0 && s.Action == "" && !s.bad["score"] && !s.bad["action"] {
		c.fail(file, s.at, "rule", s.Name, "a rule needs a score, an action, or both")
	}
	if s.When == "" {
		if !s.bad["when"] {
			c.fail(file, s.at, "rule", s.Name, "a rule needs a when expression")
		}
		return nil
	}
	r.at, r.when = s.at, s.fields["when"]
	r.program = c.expr(site.at(r.when), s.When, kindBool)
	r.types = guardOf(r.program)
	r.Reads = reads(s.When)
	if s.Message != "" {
		r.message = c.template(site.at(s.fields["message"]), s.Message)
	}
	if len(c.errs) > before {
		return nil
	}
	return r
}

func (c *compiler) ruleAction(at site, v string, r *Rule) {
	if v == "" {
		return
	}
	a, err := ParseAction(v)
	if err != nil {
		c.fail(at.file, at.pos, at.kind, at.name, "action: %v", err)
	}
	r.Action = a
}

func (c *compiler) ruleMode(at site, v string, r *Rule) {
	switch v {
	case "", "active":
	case "shadow":
		r.Shadow = true
	default:
		c.fail(at.file, at.pos, at.kind, at.name, "mode %q is not active or shadow", v)
	}
}

func (c *compiler) ruleExpiry(at site, v string, r *Rule) {
	if v == "" {
		return
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		r.Expires = t
		return
	}
	// A bare date means the rule applies through that whole day (UTC).
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		r.Expires = t.Add(24 * time.Hour)
		return
	}
	c.fail(at.file, at.pos, at.kind, at.name,
		"expires: %q is neither a date (2026-12-31) nor an RFC 3339 time", v)
}

func validName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '-')) {
			return false
		}
	}
	return true
}

// site is where an expression sits in a rule file.
type site struct {
	file, kind, name string
	span             span
	pos              pos // where the value starts
}

func (s site) at(sp span) site { s.span, s.pos = sp, sp.start(); return s }

type exprKind int

const (
	kindBool exprKind = iota
	kindKey           // a string or a number, used as a counter key
	kindAny
)

// expr compiles one expression against the signal environment.
func (c *compiler) expr(at site, src string, kind exprKind) *vm.Program {
	if strings.TrimSpace(src) == "" {
		return nil
	}
	p := &patcher{set: c.set, used: c.used, broken: c.broken}
	opts := c.options()
	if kind == kindBool {
		opts = append(opts, expr.AsBool())
	}
	prog, errs := compileExpr(src, p, opts...)
	for _, err := range errs {
		c.exprError(at, src, err)
	}
	if len(errs) > 0 {
		return nil
	}
	if kind == kindKey {
		if k := outKind(prog); k != reflect.String && k != reflect.Int && k != reflect.Interface {
			c.fail(at.file, at.pos, at.kind, at.name, "a key must be a string or a number, not %s", k)
			return nil
		}
	}
	return prog
}

// compileExpr is expr.Compile with the patcher run on the parsed tree before
// the one type check. (expr.Patch type-checks the tree once before patching
// and keeps the types it found on call nodes, so the arguments of a function
// call, such as in_list("l", ip.asm), were never checked again after the
// patch: a misspelt signal there compiled.) It returns every name the
// patcher found wrong, in the order they are written, and the type
// checker's first error; the checker stops at its first, but the patcher
// has put a value of any type in place of each wrong name, so what the
// checker finds is another problem.
func compileExpr(src string, p *patcher, opts ...expr.Option) (*vm.Program, []error) {
	config := conf.CreateNew()
	for _, op := range opts {
		op(config)
	}
	for name := range config.Disabled {
		delete(config.Builtins, name)
	}
	config.Check()
	tree, err := parser.ParseWithConfig(src, config)
	if err != nil {
		return nil, []error{err}
	}
	p.patch(&tree.Node)
	if _, err := checker.Check(tree, config); err != nil {
		p.add(err)
	}
	if len(p.errs) > 0 {
		return nil, p.sorted()
	}
	if config.Optimize {
		if err := optimizer.Optimize(&tree.Node, config); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, []error{fe.Bind(tree.Source)}
			}
			return nil, []error{err}
		}
	}
	prog, err := exprcompiler.Compile(tree, config)
	if err != nil {
		return nil, []error{err}
	}
	return prog, nil
}

func outKind(p *vm.Program) reflect.Kind {
	t := p.Node().Type()
	if t == nil {
		return reflect.Interface
	}
	return t.Kind()
}

// exprError reports an expr error at its position in the file.
func (c *compiler) exprError(at site, src string, err error) {
	msg := err.Error()
	p := at.pos
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = friendlier(fe.Message)
		p = at.span.at(min(fe.From, utf8.RuneCountInString(src)))
	}
	c.fail(at.file, p, at.kind, at.name, "%s", msg)
}

func (c *compiler) options() []expr.Option {
	return append([]expr.Option{
		expr.Env(signals.Set{}),
		expr.MaxNodes(MaxExprNodes),
		expr.Function("in_list", c.inList, new(func(string, any) bool)),
		expr.Function("missing", missingFunc, new(func(string) bool)),
		expr.Function("__missing", missingBit, new(func(any, int) bool)),
	}, testOptions...)
}

// testOptions are added to every expression's options by tests, to give
// rules a function that misbehaves at run time.
var testOptions []expr.Option

// inList implements in_list(name, value). The patcher has already checked
// that the name is a declared list.
func (c *compiler) inList(params ...any) (any, error) {
	name, _ := params[0].(string)
	l := c.set.Lists[name]
	if l == nil {
		return false, fmt.Errorf("no list %q", name)
	}
	return l.Contains(params[1]), nil
}

func missingFunc(params ...any) (any, error) {
	return nil, errors.New("missing() must be called with a constant family name")
}

func missingBit(params ...any) (any, error) {
	set, ok := params[0].(signals.Set)
	if !ok {
		return false, fmt.Errorf("missing: environment is %T", params[0])
	}
	bit, _ := params[1].(int)
	return set.Missing.Has(signals.Family(bit)), nil
}
