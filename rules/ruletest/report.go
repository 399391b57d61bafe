package ruletest

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/engine"
)

// maxNamed is how many uncovered rules the summary names unless verbose.
const maxNamed = 5

// WriteText writes what go test would: a line per failed test with each
// failed step and the decision's explanation, "ok" lines when verbose, then
// a summary and the rules no test asserts.
func (r *Result) WriteText(w io.Writer, verbose bool) {
	var tests, failed, checks, skipped int
	for _, f := range r.Files {
		if f.Err != nil {
			fmt.Fprintf(w, "FAIL %s: %v\n", f.File.Path, f.Err)
			continue
		}
		for _, t := range f.Tests {
			switch {
			case t.Skipped:
				skipped++
				continue
			case t.Failed():
				failed++
				writeFailure(w, f.File, t)
			case verbose:
				fmt.Fprintf(w, "ok   %s:%d %q (%s, %s)\n", f.File.Path, t.Test.Line,
					t.Test.Name, plural(t.Checks, "check"), t.Took.Round(time.Millisecond))
			}
			tests++
			checks += t.Checks
		}
	}
	status := "PASS"
	if !r.Passed() {
		status = "FAIL"
	}
	fmt.Fprintf(w, "%s: %s, %d failed, %s", status, plural(tests, "test"), failed,
		plural(checks, "check"))
	if skipped > 0 {
		fmt.Fprintf(w, ", %d skipped by --run", skipped)
	}
	fmt.Fprintln(w)
	for _, c := range r.Coverage {
		un := c.Uncovered(time.Now())
		if len(un) == 0 {
			continue
		}
		names := strings.Join(un, ", ")
		if len(un) > maxNamed && !verbose {
			names = strings.Join(un[:maxNamed], ", ") + fmt.Sprintf(" and %d more (-v lists them)",
				len(un)-maxNamed)
		}
		fmt.Fprintf(w, "%s: %d of %d rules asserted by no test: %s\n", c.Rules, len(un),
			len(c.Set.Rules), names)
	}
}

func writeFailure(w io.Writer, f *File, t *TestResult) {
	fmt.Fprintf(w, "--- FAIL: %s:%d %q\n", f.Path, t.Test.Line, t.Test.Name)
	for _, fl := range t.Failures {
		for _, p := range fl.Problems {
			fmt.Fprintf(w, "    %s:%d: step %d: %s\n", f.Path, fl.Line, fl.Step, p)
		}
		if fl.Decision != nil {
			writeExplanation(w, fl.Decision, "      ")
		}
	}
}

// writeExplanation writes a decision and every rule's result with the
// values it read.
func writeExplanation(w io.Writer, d *engine.Decision, indent string) {
	fmt.Fprintf(w, "%sdecision: %s, score %d, reasons: %s\n", indent, d.Action, d.Score,
		reasonList(d.Reasons))
	if len(d.Shadow) > 0 {
		fmt.Fprintf(w, "%sshadow: %s\n", indent, reasonList(d.Shadow))
	}
	if len(d.Missing) > 0 {
		fmt.Fprintf(w, "%smissing signals: %s\n", indent, strings.Join(d.Missing, ", "))
	}
	width := 0
	for _, r := range d.Explain {
		width = max(width, len(r.Rule))
	}
	for _, r := range d.Explain {
		state := "no"
		switch {
		case r.Skipped != "":
			state = r.Skipped
		case r.Error != "":
			state = "error: " + r.Error
		case r.Matched:
			state = "MATCHED"
		}
		if r.Shadow {
			state += " (shadow)"
		}
		fmt.Fprintf(w, "%s  %-*s  %-7s%s\n", indent, width, r.Rule, state, reads(r.Reads))
	}
}

func reasonList(rs []engine.Reason) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%s (%s, %+d)", r.Code, r.Rule, r.Score)
		if r.Action != 0 {
			parts[i] = fmt.Sprintf("%s (%s, %+d, forces %s)", r.Code, r.Rule, r.Score, r.Action)
		}
	}
	return strings.Join(parts, "; ")
}

func reads(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, " %s=%s", n, show(m[n]))
	}
	return b.String()
}

// JUnit XML, as CI systems read it: a suite per file, a case per test.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	Skipped   *struct{}     `xml:"skipped,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes the result as JUnit XML.
func (r *Result) WriteJUnit(w io.Writer) error {
	var out junitSuites
	for _, f := range r.Files {
		s := junitSuite{Name: f.File.Path}
		var total time.Duration
		if f.Err != nil {
			s.Errors = 1
			s.Cases = append(s.Cases, junitCase{Name: "load rules", Classname: f.File.Path,
				Error: &junitFailure{Message: "the rule set does not load", Body: f.Err.Error()}})
		}
		for _, t := range f.Tests {
			c := junitCase{Name: t.Test.Name, Classname: f.File.Path, Time: seconds(t.Took)}
			total += t.Took
			switch {
			case t.Skipped:
				s.Skipped++
				c.Skipped = &struct{}{}
			case t.Failed():
				s.Failures++
				var b strings.Builder
				writeFailure(&b, f.File, t)
				c.Failure = &junitFailure{Message: t.Failures[0].Problems[0], Body: b.String()}
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests, s.Time = len(s.Cases), seconds(total)
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// plural writes n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
