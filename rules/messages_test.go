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
				`r.yaml:5:11: rule "r": no list "vip" is declared (the set has no lists)`,
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

// TestUndeclaredNameHints: an undeclared counter or list is answered with
// the declared name closest to it, and the declared names are listed only
// when there are few and none is close.
func TestUndeclaredNameHints(t *testing.T) {
	counters := func(names ...string) string {
		s := "counters:\n"
		for _, n := range names {
			s += "  - {name: " + n + ", key: ip.address, window: 1h}\n"
		}
		return s
	}
	lists := func(names ...string) string {
		s := "lists:\n"
		for _, n := range names {
			s += "  - {name: " + n + ", kind: string, values: [x]}\n"
		}
		return s
	}
	many := []string{"failed_logins_per_ip", "users_per_ip", "logins_per_user",
		"failed_per_user", "signups_per_ip", "signups_per_network", "accounts_per_network_1h",
		"resets_per_user", "challenges_failed_per_user", "devices_per_user", "ips_per_user_1h",
		"countries_per_user_1d", "emails_per_device", "logins_per_device", "users_per_device"}
	rule := func(when string) string {
		return "rules:\n  - name: r\n    when: '" + when + "'\n    score: 1\n"
	}
	checkMessages(t, []messageCase{
		{name: "a counter misspelt among many",
			src: counters(many...) + rule("velocity.failed_login_per_ip > 3"),
			want: []string{`r.yaml:19:21: rule "r": no counter "failed_login_per_ip" is declared ` +
				`(did you mean failed_logins_per_ip?)`}},
		{name: "a counter like none of many",
			src:  counters(many...) + rule("velocity.zzz > 3"),
			want: []string{`r.yaml:19:21: rule "r": no counter "zzz" is declared`}},
		{name: "a counter like none of few",
			src:  counters("fails", "users") + rule("velocity.zzz > 3"),
			want: []string{`r.yaml:6:21: rule "r": no counter "zzz" is declared (declared: fails, users)`}},
		{name: "no counters at all",
			src:  rule("velocity.zzz > 3"),
			want: []string{`r.yaml:3:21: rule "r": no counter "zzz" is declared (the set has no counters)`}},
		{name: "a list misspelt",
			src: lists("watch_countries") + rule(`in_list("watch_countres", ip.country)`),
			want: []string{`r.yaml:5:12: rule "r": no list "watch_countres" is declared ` +
				`(did you mean watch_countries?)`}},
		{name: "a list like none of few",
			src: lists("vip", "staff", "office") + rule(`in_list("travellers", user.key)`),
			want: []string{`r.yaml:7:12: rule "r": no list "travellers" is declared ` +
				`(declared: office, staff, vip)`}},
		{name: "a list like none of many",
			src:  lists("a1", "a2", "a3", "a4", "a5", "a6") + rule(`in_list("travellers", user.key)`),
			want: []string{`r.yaml:10:12: rule "r": no list "travellers" is declared`}},
		{name: "a family misspelt",
			src:  rule(`missing("goe")`),
			want: []string{`r.yaml:3:12: rule "r": unknown signal family "goe" (did you mean geo?)`}},
	})
}

// TestBrokenDeclarationsAreStillDeclared: a list or counter with an error
// is reported once, where it is declared; the rules that read it are not
// told it is undeclared.
func TestBrokenDeclarationsAreStillDeclared(t *testing.T) {
	rules := "rules:\n" +
		"  - {name: x, when: 'in_list(\"watch\", ip.country) && velocity.per_day > 3', score: 1}\n" +
		"  - {name: y, when: 'in_list(\"watch\", ip.country)', score: 1}\n"
	checkMessages(t, []messageCase{
		{name: "a bad country",
			src: "lists:\n  - {name: watch, kind: country, values: [RU, Russia]}\n" +
				"counters:\n  - {name: per_day, key: ip.address, window: 1d}\n" + rules,
			want: []string{`r.yaml:2:47: list "watch": "Russia" is not a country code: ` +
				`countries are two-letter ISO 3166-1 codes, such as DE`}},
		{name: "a bad cidr",
			src: "lists:\n  - {name: watch, kind: cidr, values: [10.0.0.0/33]}\n" +
				"counters:\n  - {name: per_day, key: ip.address, window: 1d}\n" +
				"rules:\n  - {name: x, when: 'in_list(\"watch\", ip.address)', score: 1}\n",
			want: []string{`r.yaml:2:40: list "watch": "10.0.0.0/33" is not an address or CIDR`}},
		{name: "a missing list file",
			src: "lists:\n  - {name: watch, kind: country, file: lists/watch.txt}\n" +
				"counters:\n  - {name: per_day, key: ip.address, window: 1d}\n" + rules,
			want: []string{`r.yaml:2:5: list "watch": read list file: open lists/watch.txt: ` +
				`file does not exist`}},
		{name: "a bad value in a list file",
			src: "lists:\n  - {name: watch, kind: country, file: watch.txt}\n" +
				"counters:\n  - {name: per_day, key: ip.address, window: 1d}\n" + rules,
			extra: []string{"watch.txt", "RU\n# comment\nRussia\n"},
			want: []string{`watch.txt:3:1: list "watch": "Russia" is not a country code: ` +
				`countries are two-letter ISO 3166-1 codes, such as DE`}},
		{name: "a bad list name",
			src: "lists:\n  - {name: watch list, kind: string, values: [a]}\n" +
				"rules:\n  - {name: x, when: 'in_list(\"watch list\", user.key)', score: 1}\n",
			want: []string{`r.yaml:2:5: list "watch list": a list needs a name of letters, digits and _`}},
		{name: "a bad window",
			src: "lists:\n  - {name: watch, kind: country, values: [RU]}\n" +
				"counters:\n  - {name: per_day, key: ip.address, window: 1 day}\n" + rules,
			want: []string{`r.yaml:4:46: counter "per_day": window: "1 day" is not a duration ` +
				`such as 10m, 1h or 7d`}},
		{name: "a bad key",
			src: "lists:\n  - {name: watch, kind: country, values: [RU]}\n" +
				"counters:\n  - {name: per_day, key: ip.adress, window: 1d}\n" + rules,
			want: []string{`r.yaml:4:29: counter "per_day": unknown signal ip.adress ` +
				`(did you mean ip.address?)`}},
		{name: "a misspelt name is still undeclared, with the broken one suggested",
			src: "lists:\n  - {name: watch, kind: country, values: [Russia]}\n" +
				"rules:\n  - {name: x, when: 'in_list(\"wacth\", ip.country)', score: 1}\n",
			want: []string{
				`r.yaml:2:43: list "watch": "Russia" is not a country code: ` +
					`countries are two-letter ISO 3166-1 codes, such as DE`,
				`r.yaml:4:22: rule "x": no list "wacth" is declared (did you mean watch?)`,
			}},
	})
}

// TestCountryCodes: a country list refuses what ip.country never holds,
// and the lint warns about a condition comparing ip.country with it, in
// the same words.
func TestCountryCodes(t *testing.T) {
	tests := []struct {
		value   string
		problem string // "" when the code is one ip.country holds
	}{
		{"UK", "the United Kingdom is GB, not UK"},
		{"EL", "Greece is GR, not EL"},
		{"XX", "no country has the ISO 3166-1 code XX"},
		{"SU", "no country has the ISO 3166-1 code SU"},
		{"EU", "no country has the ISO 3166-1 code EU"},
		{"Russia", "countries are two-letter ISO 3166-1 codes, such as DE"},
		{"R1", "countries are two-letter ISO 3166-1 codes, such as DE"},
		{"GB", ""},
		{"XK", ""},
		{"AX", ""},
	}
	// The table holds the 249 assigned codes and XK, each once.
	if len(countryCodes) != 250 {
		t.Errorf("%d country codes, want 250", len(countryCodes))
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			list := "lists:\n  - {name: l, kind: country, values: [RU, " + tc.value + "]}\n" +
				"rules:\n  - {name: r, when: 'in_list(\"l\", ip.country)', score: 1}\n"
			cond := "rules:\n  - {name: r, when: 'ip.country == \"" + tc.value + "\"', score: 1}\n"
			_, err := compileOne(t, list)
			s := mustCompile(t, cond)
			if tc.problem == "" {
				if err != nil || len(s.Warnings) > 0 {
					t.Fatalf("list: %v; condition: %v", err, s.Warnings)
				}
				return
			}
			wantErr := `r.yaml:2:43: list "l": "` + tc.value + `" is not a country code: ` + tc.problem
			if err == nil || err.Error() != wantErr {
				t.Errorf("list error:\n%v\nwant\n%s", err, wantErr)
			}
			wantWarn := `r.yaml:2:36: rule "r": warning: ip.country is never "` + tc.value + `": ` +
				tc.problem
			if s.Warnings.Error() != wantWarn {
				t.Errorf("condition warnings:\n%v\nwant\n%s", s.Warnings, wantWarn)
			}
		})
	}
}

// TestCountryCase: a country list takes codes in any case, as in_list
// compares them; ip.country holds upper case, which the lint says.
func TestCountryCase(t *testing.T) {
	s := mustCompile(t, "lists:\n  - {name: l, kind: country, values: [de, Gb]}\n"+
		"rules:\n  - {name: r, when: 'in_list(\"l\", ip.country) || ip.country == \"fr\"', score: 1}\n")
	want := `r.yaml:4:64: rule "r": warning: ip.country is never "fr": it holds upper-case codes, such as FR`
	if s.Warnings.Error() != want {
		t.Errorf("warnings:\n%v\nwant\n%s", s.Warnings, want)
	}
	if !s.Lists["l"].Contains("GB") || !s.Lists["l"].Contains("de") {
		t.Error("the list does not hold GB and DE")
	}
}

// TestSyntaxErrors: a file that is not valid YAML is reported at the line
// to fix, with a hint for the usual mistakes.
func TestSyntaxErrors(t *testing.T) {
	rule := "  - name: a\n    when: ip.tor\n    score: 10\n"
	checkMessages(t, []messageCase{
		{name: "a line indented wrong in a rule",
			src: "# watch rules\nrules:\n" + rule + rule + "  - name: c\n    when: ip.vpn\n   score: 10\n",
			want: []string{`r.yaml:11:4: did not find expected '-' indicator (in the list that starts ` +
				`at line 3): this line is not indented like the entries above it`}},
		{name: "an unquoted colon and space in a value",
			src: "rules:\n  - name: a\n    when: ip.tor\n    score: 10\n    message: Tor exit node: \n",
			want: []string{`r.yaml:5:27: mapping values are not allowed in this context: ` +
				`a value containing ': ' must be quoted`}},
		{name: "a key without its colon",
			src:  "rules:\n  - name: a\n    when ip.tor\n    score: 10\n",
			want: []string{`r.yaml:3:5: this key has no ':' after it`}},
		{name: "a quote never closed",
			src:  "rules:\n  - name: a\n    when: ip.tor\n    message: \"Tor\n    score: 10\n",
			want: []string{`r.yaml:4:14: the quoted value that starts here is not closed`}},
		{name: "a bracket never closed",
			src:  "rules:\n  - {name: a, when: ip.tor, score: 10\n",
			want: []string{`r.yaml:2:38: the file ends before a [ or { is closed`}},
		{name: "a brace closed too late",
			src:  "rules:\n  - {name: a, when: ip.tor, score: 10\n  - {name: b, when: ip.vpn, score: 10}\n",
			want: []string{`r.yaml:3:5: did not find expected ',' or '}' (in the { at line 2, column 5)`}},
		{name: "a tab",
			src: "rules:\n  - name: a\n\twhen: ip.tor\n",
			want: []string{`r.yaml:3:1: found a tab character that violates indentation ` +
				`(while scanning a plain scalar at line 2): indent with spaces, not tabs`}},
		{name: "a value starting with @",
			src: "rules:\n  - name: a\n    when: ip.tor\n    score: 10\n    message: @user\n",
			want: []string{`r.yaml:5:14: found character that cannot start any token: ` +
				`a value starting with '@' must be quoted`}},
	})
}

// TestTypeErrors: a value of the wrong type is reported where it is, in
// the words of the rule file.
func TestTypeErrors(t *testing.T) {
	checkMessages(t, []messageCase{
		{name: "words for numbers, flags and lists",
			src: "rules:\n  - {name: r, when: ip.tor, action: deny, score: high, tags: soft, debug: maybe}\n",
			want: []string{
				`r.yaml:2:50: rule "r": score: expected a whole number, not "high"`,
				`r.yaml:2:62: rule "r": tags: expected a list such as [a, b], not "soft"`,
				`r.yaml:2:75: rule "r": debug: expected true or false, not "maybe"`,
			}},
		{name: "a fraction is no whole number",
			src:  "rules:\n  - {name: r, when: ip.tor, action: deny, score: 1.5}\n",
			want: []string{`r.yaml:2:50: rule "r": score: expected a whole number, not "1.5"`}},
		{name: "a list for a single value, a mapping for a list",
			src: "rules:\n  - {name: r, when: ip.tor, action: deny, message: [a], tags: {a: 1}}\n",
			want: []string{
				`r.yaml:2:52: rule "r": message: expected a single value, not a list`,
				`r.yaml:2:63: rule "r": tags: expected a list such as [a, b], not a mapping`,
			}},
		{name: "inside a mapping, at the value",
			src:  "thresholds:\n  step_up: 50\n  deny: 90\n  caps:\n    soft: lots\n",
			want: []string{`r.yaml:5:11: thresholds.caps: expected a whole number, not "lots"`}},
	})
}

// TestTypeErrorsAreReportedOnce: a value of the wrong type is reported
// where it is, and not again as a missing key, a bad range or an
// undeclared list or counter.
func TestTypeErrorsAreReportedOnce(t *testing.T) {
	reads := "rules:\n  - {name: r, when: 'in_list(\"l\", ip.country) && velocity.c > 1', score: 1}\n"
	checkMessages(t, []messageCase{
		{name: "a score that is no number",
			src:  "rules:\n  - {name: r, when: ip.tor, score: high}\n",
			want: []string{`r.yaml:2:36: rule "r": score: expected a whole number, not "high"`}},
		{name: "a condition that is a list",
			src:  "rules:\n  - {name: r, when: [ip.tor], score: 1}\n",
			want: []string{`r.yaml:2:21: rule "r": when: expected a single value, not a list`}},
		{name: "a name that is a list",
			src:  "rules:\n  - {name: [r], when: ip.tor, score: 1}\n",
			want: []string{`r.yaml:2:12: name: expected a single value, not a list`}},
		{name: "a threshold that is a list",
			src:  "thresholds: {step_up: [50], deny: 90}\n",
			want: []string{`r.yaml:1:23: thresholds.step_up: expected a whole number, not a list`}},
		{name: "a window that is a list, and a kind",
			src: "lists:\n  - {name: l, kind: [country], values: [DE]}\n" +
				"counters:\n  - {name: c, key: ip.address, window: [1h]}\n" + reads,
			want: []string{
				`r.yaml:2:21: list "l": kind: expected a single value, not a list`,
				`r.yaml:4:40: counter "c": window: expected a single value, not a list`,
			}},
		{name: "values that are no list",
			src: "lists:\n  - {name: l, kind: country, values: DE}\n" +
				"counters:\n  - {name: c, key: ip.address, window: 1h}\n" + reads,
			want: []string{`r.yaml:2:38: list "l": values must be a list`}},
	})
}
