package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestSample(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sub", "s.jsonl")
	var stderr bytes.Buffer
	args := []string{"-out", out, "-users", "20", "-days", "3", "-seed", "9", "-start", "2026-09-01"}
	if err := run(context.Background(), args, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(b), "\n")
	if lines < 20 || !strings.Contains(stderr.String(), strconv.Itoa(lines)+" events: ") {
		t.Errorf("%d lines; report: %s", lines, stderr.String())
	}
	if !strings.Contains(string(b), `"time":"2026-09-01T`) {
		t.Error("no event on the start day")
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left behind: %v", err)
	}
}

func TestSampleErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no out", nil, "-out is required"},
		{"bad start", []string{"-out", "x", "-start", "October"}, "-start"},
		{"bad users", []string{"-out", "x", "-users", "0"}, "positive"},
		{"missing list", []string{"-out", "x", "-bad-asn", filepath.Join(dir, "none.csv")},
			"bad-asn list"},
		{"no data", []string{"-out", "x", "-data", dir}, "build world"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
