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
