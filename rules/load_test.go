package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/expr-lang/expr"

	"github.com/verdictrisk/verdict/signals"
)

// TestErrorsInsideMultiLineExpressions: an error in a folded, literal or
// plain multi-line condition is reported at its own line and column.
func TestErrorsInsideMultiLineExpressions(t *testing.T) {
	src := `rules:
  - name: folded
    when: >
      event.type == "login" &&
      ip.countri == "DE"
    score: 1
  - name: plain
    when: event.type == "login" &&
      ip.countrx == "DE"
    score: 1
  - name: literal
    when: |
      event.type == "login" &&
        ip.countrz == "DE"
    score: 1
  - name: message
    when: ip.tor
    score: 1
    message: "from {{ ip.country }} on {{ device.nope }}"
`
	_, err := compileOne(t, src)
	want := []string{
		`r.yaml:5:10: rule "folded": unknown signal ip.countri`,
		`r.yaml:9:10: rule "plain": unknown signal ip.countrx`,
		`r.yaml:14:12: rule "literal": unknown signal ip.countrz`,
		`r.yaml:19:50: rule "message": unknown signal device.nope`,
	}
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != len(want) {
		t.Fatalf("err = %v", err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
		}
	}
}

func TestPatternMustBeConstant(t *testing.T) {
	_, err := compileOne(t, "rules:\n  - name: r\n    when: device.browser matches event.properties.p\n    score: 1\n")
	if err == nil || !strings.Contains(err.Error(), "r.yaml:3:34: rule \"r\": the pattern after matches must be a quoted string") {
		t.Fatalf("err = %v", err)
	}
	s := mustCompile(t, "rules:\n  - name: r\n    when: device.browser matches \"^Chrom(e|ium)$\"\n    score: 1\n")
	if res := eval(t, s, sig(func(s *signals.Set) { s.Device.Browser = "Chromium" })); len(res.Matched) != 1 {
		t.Errorf("constant pattern did not match")
	}
}

// TestGoPanicInAFunctionCountsAsNotMatched: a helper that panics makes its
// rule fail, not the evaluation.
func TestGoPanicInAFunctionCountsAsNotMatched(t *testing.T) {
	testOptions = []expr.Option{expr.Function("explode", func(...any) (any, error) {
		var m map[string]int
		m["x"] = 1 // assignment to a nil map panics
		return true, nil
	}, new(func() bool))}
	defer func() { testOptions = nil }()
	s := mustCompile(t, "rules:\n  - {name: boom, when: 'explode()', action: deny}\n"+
		"  - {name: fine, when: 'true', score: 10}\n")
	res := eval(t, s, signals.Set{})
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Err.Error(), "nil map") {
		t.Fatalf("failed = %+v", res.Failed)
	}
	if res.Action != Allow || res.Score != 10 {
		t.Errorf("decision %v/%d, want allow/10", res.Action, res.Score)
	}
}

// TestLoadDirNamesFilesAsGiven: errors and rules carry the path the user
// gave, and the version covers list files' content.
func TestLoadDirNamesFilesAsGiven(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "myrules")
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "lists:\n  - {name: vip, kind: string, file: lists/vip.txt}\n"+
		"rules:\n  - {name: vip, when: 'in_list(\"vip\", user.key)', action: allow}\n")
	write("lists/vip.txt", "alice\n")
	write("tests/t.yaml", "this is not a rule file: [")
	s, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rules[0].File != filepath.Join(dir, "a.yaml") || s.Lists["vip"].Source != filepath.Join(dir, "lists/vip.txt") {
		t.Errorf("files: rule %s, list %s", s.Rules[0].File, s.Lists["vip"].Source)
	}
	again, err := CompileBundle(s.Bundle())
	if err != nil || again.Version != s.Version || again.Rules[0].File != s.Rules[0].File {
		t.Errorf("the bundle of a folder does not rebuild it: %v", err)
	}
	write("lists/vip.txt", "alice\nbob\n")
	s2, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Version == s.Version {
		t.Error("a changed list file does not change the version")
	}
	write("lists/vip.txt", "alice\nnot ok\n")
	write("a.yaml", "lists:\n  - {name: vip, kind: cidr, file: lists/vip.txt}\n")
	_, err = LoadDir(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "lists/vip.txt")+`:1:1: list "vip": "alice" is not an address`) {
		t.Errorf("err = %v", err)
	}
	if _, err := LoadDir(filepath.Join(dir, "a.yaml")); err == nil ||
		!strings.Contains(err.Error(), filepath.Join(dir, "lists/vip.txt")+":2:1") {
		t.Errorf("single file: err = %v", err)
	}
}

// TestBundleRebuildsTheSameSet: a set compiled from its bundle, without the
// files, is the same set.
func TestBundleRebuildsTheSameSet(t *testing.T) {
	fsys := fstest.MapFS{
		"r.yaml":      {Data: []byte("lists:\n  - {name: nets, kind: cidr, file: nets.txt}\nrules:\n  - {name: r, when: 'in_list(\"nets\", ip.address)', score: 40}\n")},
		"nets.txt":    {Data: []byte("10.0.0.0/8\n")},
		"unused.txt":  {Data: []byte("x")},
		"sub/x.yaml":  {Data: []byte("not: read")},
		"other.yml":   {Data: []byte("rules: []\n")},
		".hidden.yml": {Data: []byte("{")},
	}
	s, err := Load(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	b := s.Bundle()
	if len(b.Files) != 3 || b.Files["nets.txt"] == nil || len(b.Rules) != 2 {
		t.Fatalf("bundle = %v files %v", b.Rules, len(b.Files))
	}
	again, err := CompileBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != s.Version || !again.Lists["nets"].Contains("10.2.3.4") {
		t.Errorf("rebuilt set differs: %s vs %s", again.Version, s.Version)
	}
	delete(b.Files, "nets.txt")
	if _, err := CompileBundle(b); err == nil {
		t.Error("a bundle without its list file compiled")
	}
}

func TestRead(t *testing.T) {
	s := mustCompile(t, "counters:\n  - {name: c, key: ip.address, window: 1m}\n"+
		"rules:\n  - {name: r, when: 'velocity.c > 1 && missing(\"asn\")', score: 1}\n")
	in := signals.Set{Velocity: new(signals.Counts)}
	in.Velocity[0], in.IP.Country, in.Travel.Km = 7, "FR", 12.5
	in.Event.Properties = map[string]any{"a": map[string]any{"b": "deep"}}
	in.Missing.Add(signals.FamilyASN)
	for name, want := range map[string]any{"velocity.c": 7, "ip.country": "FR", "travel.km": 12.5,
		"event.properties.a.b": "deep", "missing(asn)": true, "missing(geo)": false} {
		if got, ok := s.Read(&in, name); !ok || got != want {
			t.Errorf("Read(%s) = %v, %v; want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"velocity.nope", "ip.nope", "event.properties.x", "missing(gps)"} {
		if v, ok := s.Read(&in, name); ok {
			t.Errorf("Read(%s) = %v, want not found", name, v)
		}
	}
	if got := s.Rules[0].Reads; strings.Join(got, ",") != "missing(asn),velocity.c" {
		t.Errorf("reads = %v", got)
	}
	if names := SignalNames(); len(names) < 30 || names[0] != "device.bot" {
		t.Errorf("signal names = %v", names)
	}
}

// TestEverySignalIsDocumented: an analyst finds every signal a rule can read
// in docs/rules.md or docs/signals.md.
func TestEverySignalIsDocumented(t *testing.T) {
	var docs string
	for _, f := range []string{"../docs/rules.md", "../docs/signals.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs += string(b)
	}
	for _, n := range SignalNames() {
		if !strings.Contains(docs, "`"+n+"`") {
			t.Errorf("signal %s is in neither docs/rules.md nor docs/signals.md (as `%s`)", n, n)
		}
	}
}

// TestLoadDirStaysInTheFolder: a list file or a rule file that leads out
// of the rule folder through a symlink is an error naming it, whether the
// folder or one file is loaded; a symlink that stays inside works.
func TestLoadDirStaysInTheFolder(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	write := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		t.Helper()
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	listRule := func(list, file string) string {
		return "lists:\n  - {name: " + list + ", kind: string, file: " + file + "}\n" +
			"rules:\n  - {name: " + list + ", when: 'in_list(\"" + list + "\", user.key)', score: 10}\n"
	}
	write(filepath.Join(outside, "passwd"), "root:x:0:0\n")
	write(filepath.Join(outside, "evil.yaml"), listRule("evil", "lists/vip.txt"))
	write(filepath.Join(dir, "lists", "real.txt"), "alice\n")
	link("real.txt", filepath.Join(dir, "lists", "vip.txt"))
	write(filepath.Join(dir, "a.yaml"), listRule("vip", "lists/vip.txt"))
	s, err := LoadDir(dir)
	if err != nil || !s.Lists["vip"].Contains("alice") {
		t.Fatalf("a symlink inside the folder: %v", err)
	}

	write(filepath.Join(dir, "b.yaml"), listRule("pw", "passwd.txt"))
	link(filepath.Join(outside, "passwd"), filepath.Join(dir, "passwd.txt"))
	for _, p := range []string{dir, filepath.Join(dir, "b.yaml")} {
		_, err := LoadDir(p)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "b.yaml")+":2:5") ||
			!strings.Contains(err.Error(), "passwd.txt") {
			t.Errorf("LoadDir(%s), a list file linked out of the folder: err = %v", p, err)
		}
	}
	os.Remove(filepath.Join(dir, "b.yaml"))

	link(filepath.Join(outside, "evil.yaml"), filepath.Join(dir, "evil.yaml"))
	for _, p := range []string{dir, filepath.Join(dir, "evil.yaml")} {
		if _, err := LoadDir(p); err == nil || !strings.Contains(err.Error(), "evil.yaml") {
			t.Errorf("LoadDir(%s), a rule file linked out of the folder: err = %v", p, err)
		}
	}
}
