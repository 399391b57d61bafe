package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errw bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errw)
	return code, out.String(), errw.String()
}

func TestEvalFixture(t *testing.T) {
	dir := t.TempDir()
	chart, stream := filepath.Join(dir, "sub", "c.svg"), filepath.Join(dir, "s.jsonl")
	report := filepath.Join(dir, "r.json")
	code, out, errs := runCLI("eval", "--fixture", "--users", "120", "--days", "7",
		"--chart", chart, "--save-stream", stream, "--report", report)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"Detection quality", "120 users over 7 days", "credential_stuffing",
		"Targets of the default configuration"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(chart); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("chart: %v", err)
	}
	if b, err := os.ReadFile(report); err != nil || !json.Valid(b) {
		t.Errorf("report: %v", err)
	}
	// The saved stream evaluates to the same numbers.
	code, js, errs := runCLI("eval", "--fixture", "--in", stream, "--json")
	if code != exitOK {
		t.Fatalf("eval --in: exit %d\n%s", code, errs)
	}
	var rep struct {
		Attacks []struct {
			Name   string `json:"name"`
			Events int    `json:"events"`
		} `json:"attacks"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil || len(rep.Attacks) == 0 {
		t.Fatalf("eval --json: %v\n%s", err, js)
	}
	for _, a := range rep.Attacks {
		if !strings.Contains(out, a.Name) {
			t.Errorf("attack %s of the saved stream is not in the first report", a.Name)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval", "--users", "0"}, exitUsage, "--users"},
		{[]string{"eval", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"eval", "--data", dir}, exitFail, "make data"},
		{[]string{"eval", "--fixture", "--in", filepath.Join(dir, "none.jsonl")}, exitFail, "none.jsonl"},
		{[]string{"eval", "--fixture", "--users", "20", "--days", "2", "--chart", "c.gif"}, exitFail,
			".svg or .png"},
		{[]string{"eval", "--rules", dir}, exitFail, ""},
	}
	for _, tc := range tests {
		code, _, errs := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d, %q; want exit %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
