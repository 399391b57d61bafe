package ruletest_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/rules/ruletest"
)

// TestDefaultPack runs the default rule pack's tests and requires that
// together they assert every default rule. A new default rule needs a test
// case in rules/default/tests/.
func TestDefaultPack(t *testing.T) {
	paths, err := filepath.Glob("../default/tests/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no default tests: %v", err)
	}
	var files []*ruletest.File
	for _, p := range paths {
		f, err := ruletest.LoadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	res, err := ruletest.Run(context.Background(), files, ruletest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res.WriteText(&out, false)
	if !res.Passed() {
		t.Fatalf("default pack tests failed:\n%s", &out)
	}
	if len(res.Coverage) != 1 {
		t.Fatalf("the default tests test %d rule sets, want 1", len(res.Coverage))
	}
	if un := res.Coverage[0].Uncovered(time.Now()); len(un) > 0 {
		t.Errorf("default rules asserted by no test in rules/default/tests: %v", un)
	}
}

func writeFiles(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i+1 < len(files); i += 2 {
		p := filepath.Join(dir, files[i])
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const ruleFile = `
counters:
  - {name: fails, key: ip.address, when: 'event.outcome == "failed"', window: 10m}
lists:
  - {name: travellers, kind: string, values: [tom]}
rules:
  - {name: many-fails, when: 'velocity.fails >= 3', score: 60, reason: many_fails}
  - name: tom-travels
    description: Tom is abroad until the 10th; his logins from abroad are fine.
    when: 'in_list("travellers", user.key) && ip.country != "DE"'
    action: allow
    expires: 2026-01-10
  - {name: abroad, when: 'ip.country != "" && ip.country != "DE"', score: 50}
  - {name: watch, when: 'ip.country == "KP"', score: 20, mode: shadow}
`

func run(t *testing.T, dir, test string, opts ruletest.Options) (*ruletest.Result, string) {
	t.Helper()
	f, err := ruletest.LoadFile(filepath.Join(dir, test))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ruletest.Run(context.Background(), []*ruletest.File{f}, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res.WriteText(&out, true)
	return res, out.String()
}

func TestPassingTests(t *testing.T) {
	dir := writeFiles(t, "rules/r.yaml", ruleFile, "rules/tests/t.yaml", `
rules: ..
start: 2026-01-08T10:00:00Z
defaults:
  event: {type: login, ip: 203.0.113.1}
tests:
  - name: three failures
    steps:
      - {event: {outcome: failed, user: {id: "u{{n}}"}}, repeat: 3, every: 1m,
         expect: {action: step_up, score: ">= 60", reasons: [many_fails], signals: {velocity.fails: 3}}}
  - name: the exception expires by itself
    steps:
      - event: {user: {id: tom}}
        signals: {ip.country: PT}
        expect: {action: allow, score: 50, reasons: [tom_travels, abroad]}
      - at: 2026-01-11T00:00:00Z
        event: {user: {id: tom}}
        signals: {ip.country: PT}
        expect: {action: step_up, not_reasons: [tom_travels]}
  - name: shadow rules report without effect
    steps:
      - event: {user: {id: kim}}
        signals: {ip.country: KP}
        expect: {action: step_up, score: 50, shadow: [watch]}
`)
	res, out := run(t, dir, "rules/tests/t.yaml", ruletest.Options{})
	if !res.Passed() || !strings.Contains(out, "PASS: 3 tests, 0 failed, 4 checks") {
		t.Fatalf("result:\n%s", out)
	}
	if un := res.Coverage[0].Uncovered(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); len(un) != 0 {
		t.Errorf("uncovered: %v", un)
	}
	res, out = run(t, dir, "rules/tests/t.yaml", ruletest.Options{Run: regexp.MustCompile("shadow")})
	if !strings.Contains(out, "PASS: 1 test, 0 failed, 1 check, 2 skipped by --run") {
		t.Errorf("with --run:\n%s", out)
	}
	if un := res.Coverage[0].Uncovered(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); strings.Join(un, ",") != "many-fails,tom-travels,abroad" {
		t.Errorf("uncovered with --run: %v", un)
	}
}

func TestFailuresShowTheExplanation(t *testing.T) {
	dir := writeFiles(t, "r.yaml", ruleFile, "tests/t.yaml", `
rules: ../r.yaml
tests:
  - name: wrong on purpose
    steps:
      - event: {type: login, outcome: failed, ip: 203.0.113.1, user: {id: a}}
        repeat: 2
        expect: {action: deny, score: 10..20, reasons: [many_fails], not_reasons: [], signals: {velocity.fails: 3}}
  - name: refused event
    steps:
      - event: {type: login, ip: 203.0.113.1, time: "2026-01-08T10:00:00Z", user: {id: a}}
        expect: {action: allow}
`)
	res, out := run(t, dir, "tests/t.yaml", ruletest.Options{})
	if res.Passed() {
		t.Fatal("wrong expectations passed")
	}
	for _, want := range []string{
		`--- FAIL: ` + filepath.Join(dir, "tests/t.yaml") + `:4 "wrong on purpose"`,
		`t.yaml:8: step 1: action is allow, want deny`,
		`step 1: score is 0, want 10..20`,
		`step 1: reason many_fails is missing (reasons: none)`,
		`step 1: signal velocity.fails is 2, want 3`,
		`decision: allow, score 0, reasons: none`,
		`many-fails   no      velocity.fails=2`,
		`watch        no (shadow) ip.country=""`,
		`FAIL: 2 tests, 1 failed, 2 checks`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var junit bytes.Buffer
	if err := res.WriteJUnit(&junit); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(junit.Bytes(), &doc); err != nil {
		t.Fatalf("junit: %v\n%s", err, &junit)
	}
	s := doc.Suites[0]
	if s.Tests != 2 || s.Failures != 1 || s.Cases[0].Failure == nil ||
		s.Cases[0].Failure.Message != "action is allow, want deny" || s.Cases[1].Failure != nil {
		t.Errorf("junit:\n%s", &junit)
	}
}

// TestSyntaxErrorsNameTheirPlace: a test file that is not valid YAML is
// reported at the line to fix, as rule files are.
func TestSyntaxErrorsNameTheirPlace(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"a line indented wrong", "tests:\n  - name: a\n    steps:\n      - event: {type: login}\n" +
			"  - name: b\n   steps: []\n",
			`t.yaml:6:4: did not find expected '-' indicator (in the list that starts at line 2): ` +
				`this line is not indented like the entries above it`},
		{"a brace never closed", "tests:\n  - name: a\n    steps:\n      - event: {type: login\n",
			`t.yaml:4:28: the file ends before a [ or { is closed`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ruletest.Parse("t.yaml", []byte(tc.src))
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestParseErrorsNameTheirPlace(t *testing.T) {
	src := `rules: ..
tests:
  - name: a
    steps:
      - event: {type: login, ip: 203.0.113.1, user_agnet: x}
        signals: {ip.countri: DE, ip.asn: many}
        expect: {action: block, score: lots, colour: red}
        after: soon
  - name: a
    steps: []
  - steps:
      - {event: {type: login, ip: 1.2.3.4}}
`
	_, err := ruletest.Parse("t.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`t.yaml:5:16: event: user_agnet: unknown field`,
		`t.yaml:6:31: signals: ip.countri is not a signal that can be set (did you mean ip.country?)`,
		`t.yaml:6:43: signals: ip.asn: many (string) is not a whole number`,
		`t.yaml:7:26: action: "block" is not allow, step_up or deny`,
		`t.yaml:7:40: score: "lots" is not a score`,
		`t.yaml:7:46: unknown key "colour"`,
		`t.yaml:8:16: "soon" is not a duration`,
		`t.yaml:9:5: test "a": a test of this name is already defined`,
		`test "a" needs steps`,
		`t.yaml:11:5: a test needs a name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}
