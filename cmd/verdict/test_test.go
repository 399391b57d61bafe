package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTestCommand(t *testing.T) {
	dir := writeRules(t, "r.yaml", "rules:\n  - {name: tor, when: ip.tor, score: 60}\n"+
		"  - {name: vpn, when: ip.vpn, score: 60}\n",
		"tests/tor.yaml", "rules: ..\ntests:\n  - name: tor steps up\n    steps:\n"+
			"      - event: {type: login, ip: 203.0.113.1}\n        signals: {ip.tor: true}\n"+
			"        expect: {action: step_up, reasons: [tor]}\n",
		"tests/bad/wrong.yaml", "rules: ../..\ntests:\n  - name: vpn allowed?\n    steps:\n"+
			"      - event: {type: login, ip: 203.0.113.1}\n        signals: {ip.vpn: true}\n"+
			"        expect: {action: allow}\n")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"pass", []string{filepath.Join(dir, "tests")}, 0, "PASS: 1 test,"},
		{"uncovered rule fails with --require-coverage", []string{"--require-coverage",
			filepath.Join(dir, "tests")}, 1, "1 of 2 rules asserted by no test: vpn"},
		{"failure", []string{"--junit", junit, filepath.Join(dir, "tests", "bad", "wrong.yaml")}, 1,
			"step 1: action is step_up, want allow"},
		{"filtered out", []string{"--run", "nothing", filepath.Join(dir, "tests", "bad")}, 0,
			"1 skipped by --run"},
		{"the default pack", []string{"--require-coverage", filepath.Join("..", "..", "rules", "default", "tests")},
			0, "PASS"},
		{"no files", nil, exitUsage, ""},
		{"bad regexp", []string{"--run", "(", dir}, exitUsage, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errw := runCLI(append([]string{"test"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.out) {
				t.Errorf("exit %d (want %d), output:\n%s%s\nwant it to contain %q", code, tc.code,
					out, errw, tc.out)
			}
		})
	}
	b, err := os.ReadFile(junit)
	if err != nil || !strings.Contains(string(b), `failures="1"`) {
		t.Errorf("junit file: %v\n%s", err, b)
	}
}
