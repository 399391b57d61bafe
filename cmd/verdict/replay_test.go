package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplayCommand(t *testing.T) {
	cand := writeRules(t, "r.yaml", "rules:\n  - {name: logins, when: 'event.type == \"login\"', score: 60}\n")
	in := filepath.Join(t.TempDir(), "events.jsonl")
	ua := `,"user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 ` +
		`(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"`
	events := `{"type":"login","ip":"10.1.1.1","user":{"id":"a"},"time":"2026-11-02T10:00:00Z"` + ua + "}\n" +
		`{"label":{"kind":"legit","decisive":true},"event":{"type":"signup","ip":"10.1.1.2","user":{"id":"b"}` +
		ua + "}}\n"
	if err := os.WriteFile(in, []byte(events), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "changed.jsonl")
	code, stdout, stderr := runCLI("replay", "--candidate", cand, "--data", filepath.Join(cand, "none"),
		"--out", out, in)
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"Replayed 2 events from " + in, "Changed decisions: 1 of 2",
		"allow -> step_up  1", "+logins", "1 changed decisions written to " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "no reference data") {
		t.Errorf("no warning about the missing data: %s", stderr)
	}
	if b, err := os.ReadFile(out); err != nil || strings.Count(string(b), "\n") != 1 {
		t.Errorf("--out: %v %s", err, b)
	}
	for _, args := range [][]string{{in}, {"--candidate", cand}, {"--candidate", cand, in, in}} {
		if code, _, _ := runCLI(append([]string{"replay"}, args...)...); code != exitUsage {
			t.Errorf("replay %v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, stderr := runCLI("replay", "--candidate", filepath.Join(cand, "nope"), in); code != exitFail ||
		!strings.Contains(stderr, "candidate rules") {
		t.Errorf("missing candidate: %d %s", code, stderr)
	}
}

// TestTotalMemory: the machine's memory is read where /proc/meminfo is,
// and is 0 (no limit set) elsewhere.
func TestTotalMemory(t *testing.T) {
	m := totalMemory()
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		if m != 0 {
			t.Errorf("totalMemory() = %d without /proc/meminfo", m)
		}
		return
	}
	if m < 64<<20 || m > 1<<50 {
		t.Errorf("totalMemory() = %d bytes", m)
	}
}
