package rules

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/google/go-cmp/cmp"

	"github.com/verdictrisk/verdict/signals"
)

func compileOne(t *testing.T, src string, extra ...string) (*Set, error) {
	t.Helper()
	fsys := fstest.MapFS{"r.yaml": {Data: []byte(src)}}
	for i := 0; i+1 < len(extra); i += 2 {
		fsys[extra[i]] = &fstest.MapFile{Data: []byte(extra[i+1])}
	}
	return Load(fsys, ".")
}

func mustCompile(t *testing.T, src string, extra ...string) *Set {
	t.Helper()
	s, err := compileOne(t, src, extra...)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return s
}

func TestDefaultPackCompiles(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rules) < 8 || len(s.Counters) < 4 {
		t.Fatalf("default pack has %d rules and %d counters", len(s.Rules), len(s.Counters))
	}
	if len(s.Warnings) != 0 {
		t.Errorf("default pack has warnings:\n%v", s.Warnings)
	}
	want := Thresholds{StepUp: 50, Deny: 90, Caps: []Cap{{Tag: "soft", Max: 85}}}
	if diff := cmp.Diff(want, s.Thresholds); diff != "" {
		t.Errorf("thresholds (-want +got):\n%s", diff)
	}
}

func TestCompileErrorsNameFileLineAndRule(t *testing.T) {
	src := `
counters:
  - name: fails
    key: ip.address
    window: 10m
rules:
  - name: typo
    when: ip.countri == "RU"
    score: 10
  - name: bad-counter
    when: velocity.nope > 3
    score: 10
  - name: wrong-type
    when: ip.asn == "x"
    score: 10
  - name: no-score
    when: ip.tor
  - name: ok
    when: velocity.fails > 2
    score: 10
    colour: red
`
	_, err := compileOne(t, src)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want Errors", err)
	}
	want := []string{
		`r.yaml:8:14: rule "typo": unknown signal ip.countri (did you mean ip.country?)`,
		`r.yaml:11:20: rule "bad-counter": no counter "nope" is declared (declared: fails)`,
		`r.yaml:14:`,
		`r.yaml:16:5: rule "no-score": a rule needs a score, an action, or both`,
		`r.yaml:21:5: rule "ok": unknown key "colour"`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i].Error(), w)
		}
	}
}

func TestCompileRejects(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"yaml syntax", "rules: [", "r.yaml:1:"},
		{"not a mapping", "- a\n- b\n", "must be a mapping"},
		{"bad window", "counters:\n  - name: c\n    key: ip.address\n    window: 10 minutes\n",
			`counter "c": window: "10 minutes" is not a duration`},
		{"window too long", "counters:\n  - name: c\n    key: ip.address\n    window: 100d\n",
			"outside 1s to 90d"},
		{"bad action", "rules:\n  - name: r\n    when: ip.tor\n    action: block\n",
			`action: "block" is not allow, step_up or deny`},
		{"bad mode", "rules:\n  - name: r\n    when: ip.tor\n    score: 1\n    mode: maybe\n",
			`mode "maybe" is not active or shadow`},
		{"thresholds order", "thresholds:\n  step_up: 80\n  deny: 50\n", "above thresholds.deny"},
		{"unknown list", "rules:\n  - name: r\n    when: in_list(\"vip\", user.key)\n    score: 1\n",
			`no list "vip" is declared`},
		{"dynamic list name", "rules:\n  - name: r\n    when: in_list(user.key, user.key)\n    score: 1\n",
			"in_list needs the list's name as a quoted string"},
		{"bad cidr", "lists:\n  - name: l\n    kind: cidr\n    values: [10.0.0.0/33]\n",
			`list "l": "10.0.0.0/33" is not an address or CIDR`},
		{"bad regexp", "rules:\n  - name: r\n    when: device.browser matches \"(\"\n    score: 1\n",
			"error parsing regexp"},
		{"non-bool", "rules:\n  - name: r\n    when: ip.asn + 1\n    score: 1\n", "expected bool"},
		{"huge expression", "rules:\n  - name: r\n    when: " +
			strings.Repeat("ip.asn == 1 || ", 300) + "false\n    score: 1\n", "exceed"},
		{"duplicate rule", "rules:\n  - name: r\n    when: ip.tor\n    score: 1\n  - name: r\n    when: ip.vpn\n    score: 1\n",
			"already defined"},
		{"unknown family", "rules:\n  - name: r\n    when: missing(\"gps\")\n    score: 1\n",
			`unknown signal family "gps"`},
		// Arguments of function calls are checked like the rest (they were
		// not while the patching went through expr.Patch).
		{"typo in a list lookup", "lists:\n  - {name: l, kind: asn, values: [1]}\n" +
			"rules:\n  - {name: r, when: 'in_list(\"l\", ip.asm)', score: 1}\n",
			`r.yaml:4:38: rule "r": unknown signal ip.asm (did you mean ip.asn?)`},
		{"typo in a builtin's argument", "rules:\n  - {name: r, when: 'lower(device.browsr) == \"x\"', score: 1}\n",
			`unknown signal device.browsr (did you mean device.browser?)`},
		{"unknown counter in an argument", "rules:\n  - {name: r, when: 'abs(velocity.nope) > 1', score: 1}\n",
			`no counter "nope" is declared`},
		{"cap out of range", "thresholds: {step_up: 50, deny: 90, caps: {soft: 120}}\n",
			"thresholds.caps.soft (120) must be between 0 and 100"},
		{"cap not a number", "thresholds: {step_up: 50, deny: 90, caps: {soft: high}}\n",
			"thresholds.caps"},
		{"cap on a bad tag", "thresholds: {step_up: 50, deny: 90, caps: {'a b': 10}}\n",
			`thresholds.caps: "a b" is not a tag`},
		{"rule under two caps", "thresholds: {step_up: 50, deny: 90, caps: {soft: 60, weak: 40}}\n" +
			"rules:\n  - {name: r, when: ip.tor, score: 1, tags: [soft, weak]}\n",
			`rule "r": tags soft and weak both have a score cap; a rule counts toward one`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileOne(t, tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestListFileErrorsNameLine(t *testing.T) {
	src := "lists:\n  - name: bad\n    kind: asn\n    file: asns.txt\n" +
		"rules:\n  - name: r\n    when: in_list(\"bad\", ip.asn)\n    score: 1\n"
	_, err := compileOne(t, src, "asns.txt", "# comment\nAS13335\n\nnot-a-number\n")
	if err == nil || !strings.Contains(err.Error(), `asns.txt:4:1: list "bad": "not-a-number"`) {
		t.Fatalf("err = %v", err)
	}
}

func eval(t *testing.T, s *Set, sig signals.Set) Result {
	t.Helper()
	var res Result
	s.Evaluate(new(vm.VM), any(sig), time.Now(), true, &res)
	return res
}

// actionCase is signals and the action and score they should get.
type actionCase struct {
	name   string
	sig    signals.Set
	action Action
	score  int
}

// evalWant evaluates sig and reports an action or score other than wanted.
func evalWant(t *testing.T, s *Set, sig signals.Set, action Action, score int) Result {
	t.Helper()
	res := eval(t, s, sig)
	if res.Action != action || res.Score != score {
		t.Errorf("got %v/%d, want %v/%d", res.Action, res.Score, action, score)
	}
	return res
}

func TestEvaluatePrecedence(t *testing.T) {
	src := `
thresholds: {step_up: 50, deny: 90}
lists:
  - {name: vip, kind: string, values: [alice]}
rules:
  - {name: tor, when: ip.tor, score: 40}
  - {name: vpn, when: ip.vpn, score: 30}
  - {name: hosting-step, when: ip.hosting, action: step_up}
  - {name: blocked, when: ip.asn == 666, action: deny}
  - {name: vip, when: 'in_list("vip", user.key)', action: allow, score: -20}
  - {name: watch, when: ip.tor, score: 100, mode: shadow}
`
	s := mustCompile(t, src)
	tests := []actionCase{
		{"nothing", signals.Set{}, Allow, 0},
		{"score below step up", sig(func(s *signals.Set) { s.IP.Tor = true }), Allow, 40},
		{"score reaches step up", sig(func(s *signals.Set) { s.IP.Tor, s.IP.VPN = true, true }), StepUp, 70},
		{"forced step up", sig(func(s *signals.Set) { s.IP.Hosting = true }), StepUp, 0},
		{"deny beats allow", sig(func(s *signals.Set) { s.IP.ASN, s.User.Key = 666, "alice" }), Deny, 0},
		{"allow beats score", sig(func(s *signals.Set) {
			s.IP.Tor, s.IP.VPN, s.User.Key = true, true, "alice"
		}), Allow, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := evalWant(t, s, tc.sig, tc.action, tc.score)
			if tc.sig.IP.Tor && len(res.Shadow) != 1 {
				t.Errorf("shadow rule did not report: %+v", res.Shadow)
			}
		})
	}
}

// TestScoreCaps checks thresholds.caps: the rules of a capped tag add at
// most the cap together; other rules add in full; a cap no rule uses is a
// warning.
func TestScoreCaps(t *testing.T) {
	src := `
thresholds: {step_up: 50, deny: 90, caps: {soft: 60, unused: 10}}
rules:
  - {name: tor, when: ip.tor, score: 40, tags: [soft]}
  - {name: vpn, when: ip.vpn, score: 30, tags: [network, soft]}
  - {name: hosting, when: ip.hosting, score: 35}
  - {name: relief, when: ip.allowlisted, score: -50, tags: [soft]}
`
	s := mustCompile(t, src)
	tests := []actionCase{
		{"one capped rule", sig(func(s *signals.Set) { s.IP.Tor = true }), Allow, 40},
		{"capped rules stop at the cap", sig(func(s *signals.Set) { s.IP.Tor, s.IP.VPN = true, true }),
			StepUp, 60},
		{"other rules add on top", sig(func(s *signals.Set) {
			s.IP.Tor, s.IP.VPN, s.IP.Hosting = true, true, true
		}), Deny, 95},
		{"a negative score counts inside the cap", sig(func(s *signals.Set) {
			s.IP.Tor, s.IP.VPN, s.IP.Allowlisted = true, true, true
		}), Allow, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { evalWant(t, s, tc.sig, tc.action, tc.score) })
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0].Error(), "thresholds.caps.unused") {
		t.Errorf("warnings = %v, want one about the unused cap", s.Warnings)
	}
}

func sig(f func(*signals.Set)) signals.Set {
	var s signals.Set
	f(&s)
	return s
}

func TestVelocityAndMessages(t *testing.T) {
	src := `
counters:
  - {name: fails, key: ip.address, window: 10m}
  - {name: users, key: ip.address, distinct: user.key, window: 10m}
rules:
  - name: stuffing
    when: velocity.users >= 5 && velocity.fails > 3
    score: 60
    message: "{{ velocity.fails }} fails over {{ velocity.users }} users from {{ ip.country }}, {{ travel.km }} km"
`
	s := mustCompile(t, src)
	in := signals.Set{Velocity: new(signals.Counts)}
	in.Velocity[0], in.Velocity[1], in.IP.Country, in.Travel.Km = 7, 5, "DE", 812.345
	res := eval(t, s, in)
	if len(res.Matched) != 1 {
		t.Fatalf("matched %v", res.Matched)
	}
	if got, want := res.Matched[0].Message, "7 fails over 5 users from DE, 812.3 km"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]string{"velocity.fails", "velocity.users"}, s.Rules[0].Reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
	for x, want := range map[float64]string{0.042: "0.042", 0.5: "0.5", 0.0000001: "0", -0.25: "-0.25",
		3: "3", 12.96: "13", 0: "0"} {
		if got := formatValue(x); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", x, got, want)
		}
	}
}

func TestMissingFamily(t *testing.T) {
	s := mustCompile(t, "rules:\n  - {name: nogeo, when: 'missing(\"geo\")', score: 10}\n")
	var in signals.Set
	if res := eval(t, s, in); len(res.Matched) != 0 {
		t.Fatalf("matched without missing geo")
	}
	in.Missing.Add(signals.FamilyGeo)
	if res := eval(t, s, in); len(res.Matched) != 1 {
		t.Fatalf("did not match with missing geo")
	}
}

func TestExpiredRuleSkipped(t *testing.T) {
	s := mustCompile(t, "rules:\n  - {name: old, when: 'true', score: 60, expires: 2020-01-01}\n")
	if res := eval(t, s, signals.Set{}); len(res.Matched) != 0 || res.Trace[0].Skipped != "expired" {
		t.Fatalf("expired rule ran: %+v", res)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0].Error(), "expired") {
		t.Errorf("warnings = %v", s.Warnings)
	}
}

func TestRuntimeErrorCountsAsNotMatched(t *testing.T) {
	s := mustCompile(t, "rules:\n"+
		"  - {name: boom, when: 'event.properties.n / 0 > 1 || event.properties.x.y == 1', score: 50}\n"+
		"  - {name: fine, when: 'true', score: 10}\n")
	in := signals.Set{Event: signals.Event{Properties: map[string]any{"x": "not a map"}}}
	res := eval(t, s, in)
	if len(res.Failed) != 1 || res.Failed[0].Rule.Name != "boom" {
		t.Fatalf("failed = %+v", res.Failed)
	}
	if res.Score != 10 || len(res.Matched) != 1 {
		t.Errorf("score %d matched %d", res.Score, len(res.Matched))
	}
}

func TestLists(t *testing.T) {
	src := `
lists:
  - {name: nets, kind: cidr, values: [10.0.0.0/8, "2001:db8::/32", 192.0.2.7]}
  - {name: asns, kind: asn, values: [AS13335, 15169]}
  - {name: countries, kind: country, values: [ru, KP]}
  - {name: domains, kind: domain, values: [mailinator.com]}
`
	s := mustCompile(t, src)
	tests := []struct {
		list string
		v    any
		want bool
	}{
		{"nets", "10.1.2.3", true}, {"nets", "::ffff:10.1.2.3", true},
		{"nets", "2001:db8::1", true}, {"nets", "192.0.2.7", true},
		{"nets", "192.0.2.8", false}, {"nets", "junk", false}, {"nets", 5, false},
		{"asns", 13335, true}, {"asns", 15169, true}, {"asns", 1, false},
		{"countries", "RU", true}, {"countries", "kp", true}, {"countries", "DE", false},
		{"domains", "mailinator.com", true}, {"domains", "x.Mailinator.com", true},
		{"domains", "notmailinator.com", false},
	}
	for _, tc := range tests {
		if got := s.Lists[tc.list].Contains(tc.v); got != tc.want {
			t.Errorf("%s contains %v = %v, want %v", tc.list, tc.v, got, tc.want)
		}
	}
	if len(s.Warnings) != 4 {
		t.Errorf("want 4 unused-list warnings, got %v", s.Warnings)
	}
}

// TestEvaluateAllocations guards the hot path: rules read fields of a boxed
// Set without allocating (only a velocity read, through the Set's pointer to
// the counts, costs one small allocation), so an event that matches nothing
// and reads no counter costs no allocation in the rules.
func TestEvaluateAllocations(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	in := signals.Set{Velocity: new(signals.Counts)}
	in.Event.Type, in.IP.Country = "password_reset", "DE"
	env := any(in)
	v := new(vm.VM)
	var res Result
	allocs := testing.AllocsPerRun(200, func() {
		res.Reset()
		s.Evaluate(v, env, time.Now(), false, &res)
	})
	if allocs > 0 {
		t.Errorf("Evaluate allocates %.1f times per event, want 0", allocs)
	}
}

func BenchmarkEvaluateDefault(b *testing.B) {
	s, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	in := signals.Set{Velocity: new(signals.Counts)}
	in.Event.Type, in.IP.Country, in.Device.New = "login", "DE", true
	env := any(in)
	v := new(vm.VM)
	var res Result
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		res.Reset()
		s.Evaluate(v, env, now, false, &res)
	}
}

// TestSoftEvidenceNeverDenies checks the default pack's promise: whatever
// combination of what is merely new or unusual for a customer (a device, a
// country, a network, a trip, a VPN, an RBA risk, a client without script,
// a far clock) a login or signup shows, without any evidence of abuse, the
// answer is at most a step-up.
func TestSoftEvidenceNeverDenies(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	flags := []func(*signals.Set){
		func(s *signals.Set) { s.Device.New = true },
		func(s *signals.Set) { s.IP.CountryNew = true },
		func(s *signals.Set) { s.IP.NetworkNew = true },
		func(s *signals.Set) { s.IP.ASNNew = true },
		func(s *signals.Set) { s.Travel.Impossible, s.Travel.Kmh = true, 5000 },
		func(s *signals.Set) { s.IP.Hosting = true },
		func(s *signals.Set) { s.IP.VPN = true },
		func(s *signals.Set) { s.RBA.Log10 = 3 },
		func(s *signals.Set) { s.User.Known, s.User.Logins = true, 5 },
		func(s *signals.Set) { s.Device.ClientData = false },
		func(s *signals.Set) { s.Device.TimezoneGapH = 5 },
	}
	events := [][2]string{{"login", "succeeded"}, {"login", "attempted"}, {"login", "failed"},
		{"signup", "attempted"}}
	var counts signals.Counts
	for _, ev := range events {
		for mask := range 1 << len(flags) {
			sig := signals.Set{Event: signals.Event{Type: ev[0], Outcome: ev[1]},
				Velocity: &counts, Device: signals.Device{ClientData: true, ClientDataUsual: 0.99}}
			for i, f := range flags {
				if mask&(1<<i) != 0 {
					f(&sig)
				}
			}
			res := eval(t, s, sig)
			if res.Action == Deny {
				var why []string
				for _, m := range res.Matched {
					why = append(why, m.Rule.Name)
				}
				t.Fatalf("%s %s with soft signals %b is denied (score %d): %v", ev[0], ev[1], mask,
					res.Score, why)
			}
		}
	}
}
