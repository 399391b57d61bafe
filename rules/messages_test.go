package rules

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// messageCase is a rule file (r.yaml), the other files beside it (name,
// content, ...) and every error the load must report, in order, each with
// file:line:col, the rule, list or counter, and the message.
type messageCase struct {
	name  string
	src   string
	extra []string
	want  []string
}

// checkMessages loads each case and compares the errors it reports.
func checkMessages(t *testing.T, cases []messageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileOne(t, tc.src, tc.extra...)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want Errors", err)
			}
			var got []string
			for _, e := range errs.Fatal() {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSignalSuggestions: a misspelt signal is answered with the whole name
// to write instead.
func TestSignalSuggestions(t *testing.T) {
	checkMessages(t, []messageCase{
		{name: "field of a family",
			src:  "rules:\n  - {name: r, when: 'ip.countri == \"RU\"', score: 1}\n",
			want: []string{`r.yaml:2:25: rule "r": unknown signal ip.countri (did you mean ip.country?)`}},
		{name: "inside a function call",
			src:  "rules:\n  - {name: r, when: 'lower(device.browsr) == \"x\"', score: 1}\n",
			want: []string{`r.yaml:2:35: rule "r": unknown signal device.browsr (did you mean device.browser?)`}},
		{name: "no close name",
			src:  "rules:\n  - {name: r, when: 'ip.wherever == \"x\"', score: 1}\n",
			want: []string{`r.yaml:2:25: rule "r": unknown signal ip.wherever`}},
	})
}

// TestEveryWrongNameOfAnExpression: one expression with several wrong
// names reports each of them, in the order they are written, and a type
// error elsewhere in it too.
func TestEveryWrongNameOfAnExpression(t *testing.T) {
	counter := "counters:\n  - {name: fails, key: ip.address, window: 10m}\n"
	checkMessages(t, []messageCase{
		{name: "a signal and a counter",
			src: counter + "rules:\n  - name: r\n" +
				"    when: ip.countri == \"RU\" && velocity.nope > 1\n    score: 10\n",
			want: []string{
				`r.yaml:5:14: rule "r": unknown signal ip.countri (did you mean ip.country?)`,
				`r.yaml:5:42: rule "r": no counter "nope" is declared (declared: fails)`,
			}},
		{name: "a list, a family, a family name and a bare name",
			src: counter + "rules:\n  - name: r\n" +
				"    when: in_list(\"vip\", user.key) && missing(\"gps\") && devce.new && tor\n" +
				"    score: 10\n",
			want: []string{
				`r.yaml:5:11: rule "r": no list "vip" is declared`,
				`r.yaml:5:39: rule "r": unknown signal family "gps"`,
				`r.yaml:5:57: rule "r": unknown signal devce.new (did you mean device.new?)`,
				`r.yaml:5:70: rule "r": unknown signal tor (did you mean ip.tor?)`,
			}},
		{name: "a wrong name and a type error",
			src: counter + "rules:\n  - name: r\n" +
				"    when: velocity.fails > 1 && ip.asm > 3 && ip.asn == \"x\"\n    score: 10\n",
			want: []string{
				`r.yaml:5:36: rule "r": unknown signal ip.asm (did you mean ip.asn?)`,
				`r.yaml:5:54: rule "r": invalid operation: == (mismatched types int and string)`,
			}},
		{name: "over several lines",
			src: counter + "rules:\n  - name: r\n    when: >\n      velocity.fails > 1 &&\n" +
				"      ip.countri == \"RU\" &&\n      device.nwe\n    score: 10\n",
			want: []string{
				`r.yaml:7:10: rule "r": unknown signal ip.countri (did you mean ip.country?)`,
				`r.yaml:8:14: rule "r": unknown signal device.nwe (did you mean device.new?)`,
			}},
		{name: "every part of a message",
			src: counter + "rules:\n  - name: r\n    when: ip.tor\n    score: 10\n" +
				"    message: \"{{ ip.cuntry }} and {{ velocity.nope }}\"\n",
			want: []string{
				`r.yaml:7:21: rule "r": unknown signal ip.cuntry (did you mean ip.country?)`,
				`r.yaml:7:47: rule "r": no counter "nope" is declared (declared: fails)`,
			}},
	})
}

// TestNamesThatAreNotSignals: what the name check must leave alone.
func TestNamesThatAreNotSignals(t *testing.T) {
	for _, when := range []string{
		`let c = ip.country; c == "DE"`,
		`any(ip.lists, # == "tor")`,
		`any(ip.lists, {# startsWith "t"})`,
		`event.properties.plan.tier == "gold"`,
		`ip?.country == "DE"`,
		`len(filter(ip.lists, len(#) > 2)) > 1`,
		`$env.ip.tor`,
	} {
		src := "rules:\n  - name: r\n    when: '" + when + "'\n    score: 10\n"
		if _, err := compileOne(t, src); err != nil {
			t.Errorf("%s: %v", when, err)
		}
	}
}
