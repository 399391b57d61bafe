package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRules writes files (name, content, ...) into a new folder.
func writeRules(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i+1 < len(files); i += 2 {
		p := filepath.Join(dir, files[i])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheckExitStatus(t *testing.T) {
	clean := writeRules(t, "r.yaml", "rules:\n  - {name: tor, when: ip.tor, score: 40}\n")
	warn := writeRules(t, "r.yaml", "rules:\n  - {name: typo, when: 'event.type == \"logon\"', score: 40}\n")
	broken := writeRules(t, "a.yaml", "rules:\n  - name: a\n    when: ip.countri == \"RU\"\n    score: 10\n",
		"b.yaml", "rules:\n  - {name: b, when: ip.tor, action: block}\n")
	tests := []struct {
		name string
		args []string
		code int
		out  []string
	}{
		{"clean", []string{clean}, 0, []string{clean + ": 1 rule, 0 counters, 0 lists: 0 warnings"}},
		{"warnings only", []string{warn}, 2, []string{
			filepath.Join(warn, "r.yaml") + `:2:39: rule "typo": warning: event.type is never "logon"`}},
		{"every error at once", []string{broken}, 1, []string{
			filepath.Join(broken, "a.yaml") + `:3:14: rule "a": unknown signal ip.countri (did you mean ip.country?)`,
			"        when: ip.countri == \"RU\"\n                 ^\n",
			filepath.Join(broken, "b.yaml") + `:2:37: rule "b": action: "block" is not allow, step_up or deny`,
			broken + ": 2 errors, 0 warnings: verdictd would refuse this rule set"}},
		{"worst of several", []string{clean, warn, broken}, 1, nil},
		{"one file", []string{filepath.Join(clean, "r.yaml")}, 0, nil},
		{"no such folder", []string{filepath.Join(clean, "nope")}, 1, []string{"no such file"}},
		{"the default pack", []string{filepath.Join("..", "..", "rules", "default")}, 0, nil},
		{"no path", nil, exitUsage, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errw := runCLI(append([]string{"check"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out, errw)
			}
			for _, w := range tc.out {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
