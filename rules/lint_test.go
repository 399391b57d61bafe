package rules

import (
	"strings"
	"testing"
)

func TestLintWarnings(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown event type", "rules:\n  - name: r\n    when: event.type == \"logon\"\n    score: 1\n",
			`r.yaml:3:25: rule "r": warning: event.type is never "logon" (it is one of login, signup`},
		{"unknown outcome in a list", "rules:\n  - name: r\n    when: event.outcome in [\"failed\", \"fail\"]\n    score: 1\n",
			`r.yaml:3:39: rule "r": warning: event.outcome is never "fail"`},
		{"UK is GB", "rules:\n  - name: r\n    when: ip.country == \"UK\"\n    score: 1\n",
			`r.yaml:3:25: rule "r": warning: ip.country is never "UK": the United Kingdom is GB, not UK`},
		{"lower-case country", "rules:\n  - name: r\n    when: '\"de\" == ip.country'\n    score: 1\n",
			`ip.country is never "de"`},
		{"constant false", "rules:\n  - name: r\n    when: 1 > 2\n    score: 1\n",
			`r.yaml:3:11: rule "r": warning: the condition is always false`},
		{"two values at once", "rules:\n  - name: r\n    when: event.type == \"login\" && ip.tor && event.type == \"signup\"\n    score: 1\n",
			`event.type cannot be both "login" and "signup"`},
		{"flag both ways", "rules:\n  - name: r\n    when: device.new && ip.tor && !device.new\n    score: 1\n",
			"device.new cannot be both true and false"},
		{"shadowed by deny", "rules:\n  - {name: tor, when: ip.tor, action: deny}\n" +
			"  - {name: tor-new, when: device.new && ip.tor, score: 20}\n",
			`r.yaml:3:5: rule "tor-new": warning: the rule cannot change a decision: whenever it matches, rule "tor" (r.yaml:2) forces deny`},
		{"shadowed by allow", "rules:\n  - {name: tor, when: ip.tor, score: 20}\n" +
			"  - {name: office, when: 'ip.tor', action: allow}\n",
			`rule "tor": warning: the rule cannot change a decision: whenever it matches, rule "office"`},
		{"expired", "rules:\n  - {name: r, when: ip.tor, score: 1, expires: 2020-01-31}\n",
			`rule "r": warning: the rule expired at 2020-02-01T00:00:00Z`},
		{"debug", "rules:\n  - {name: r, when: ip.tor, score: 1, debug: true}\n",
			"debug is on"},
		{"unused list", "lists:\n  - {name: l, kind: asn, values: [1]}\n", `list "l": warning: the list is not used`},
		{"unused counter", "counters:\n  - {name: c, key: ip.address, window: 1m}\n", `counter "c": warning: the counter is not read`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustCompile(t, tc.src)
			if !strings.Contains(s.Warnings.Error(), tc.want) {
				t.Errorf("warnings:\n%v\nwant one containing %q", s.Warnings, tc.want)
			}
		})
	}
}

// TestLintQuiet: what is not a mistake gets no warning.
func TestLintQuiet(t *testing.T) {
	src := `
rules:
  - {name: a, when: 'event.type == "login" && ip.country in ["DE", "FR"]', score: 10}
  - {name: b, when: 'event.type == "signup" && !device.new', score: 10}
  - {name: c, when: 'event.type == "login" && ip.tor', action: deny}
  - {name: d, when: 'event.type == "login" || ip.tor', score: 5}
  - {name: e, when: 'device.new && ip.tor', action: deny}
`
	s := mustCompile(t, src)
	if len(s.Warnings) != 0 {
		t.Errorf("warnings:\n%v", s.Warnings)
	}
}
