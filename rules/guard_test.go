package rules

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/expr-lang/expr/vm"

	"github.com/verdictrisk/verdict/signals"
)

func TestTypeGuard(t *testing.T) {
	for _, tc := range []struct {
		when string
		want typeGuard
	}{
		{`event.type == "login"`, typeGuard{"login"}},
		{`"signup" == event.type && ip.tor`, typeGuard{"signup"}},
		{`event.type == "login" && event.outcome == "failed" && ip.tor`, typeGuard{"login"}},
		{`(event.type == "login" && ip.tor) && device.new`, typeGuard{"login"}},
		{`event.type in ["login", "signup"] && device.new`, typeGuard{"login", "signup"}},
		// Only a first conjunct guards: what the VM would run before it
		// might fail, and || or ! change what false means.
		{`ip.tor && event.type == "login"`, nil},
		{`event.type == "login" || ip.tor`, nil},
		{`!(event.type == "login")`, nil},
		{`event.type != "login"`, nil},
		{`event.outcome == "failed"`, nil},
		{`ip.tor`, nil},
	} {
		s := mustCompile(t, "rules:\n  - name: r\n    score: 1\n    when: '"+tc.when+"'\n")
		got := s.Rules[0].types
		slices.Sort(got)
		if !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("%s: guard %q, want %q", tc.when, got, tc.want)
		}
	}
}

// TestTypeGuardChangesNoResult runs every condition of the default pack,
// rules and counters, on varied events of every type: where a guard would
// skip a condition, running it finds it false, without error.
func TestTypeGuardChangesNoResult(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	v := new(vm.VM)
	skipped := 0
	for range 2000 {
		in := signals.Set{Velocity: new(signals.Counts)}
		in.Event.Type = []string{"login", "signup", "challenge", "logout", ""}[rng.IntN(5)]
		in.Event.Outcome = []string{"succeeded", "failed", ""}[rng.IntN(3)]
		in.IP.Tor, in.IP.Hosting, in.IP.VPN = rng.IntN(2) == 0, rng.IntN(2) == 0, rng.IntN(2) == 0
		in.Device.New, in.Device.Bot, in.User.Risky = rng.IntN(2) == 0, rng.IntN(4) == 0, rng.IntN(2) == 0
		in.IP.CountryNew, in.Travel.Impossible = rng.IntN(2) == 0, rng.IntN(4) == 0
		in.Email.Disposable, in.Device.SeenUsers = rng.IntN(2) == 0, rng.IntN(10)
		in.User.Logins, in.RBA.Log10 = rng.IntN(6), rng.Float64()*3
		for i := range in.Velocity {
			in.Velocity[i] = rng.IntN(50)
		}
		env := any(in)
		for _, r := range s.Rules {
			if !r.types.excludes(in.Event.Type) {
				continue
			}
			skipped++
			if matched, err := r.Match(v, env); matched || err != nil {
				t.Fatalf("%s skipped for %q but matches (%v, %v)", r.Name, in.Event.Type, matched, err)
			}
		}
		for _, k := range s.Counters {
			if !k.whenTypes.excludes(in.Event.Type) {
				continue
			}
			if out, err := v.Run(k.when, env); out != false || err != nil {
				t.Fatalf("counter %s skipped for %q but counts (%v, %v)", k.Name, in.Event.Type,
					out, err)
			}
		}
	}
	if skipped == 0 {
		t.Fatal("no condition was skipped: the guards are not read")
	}
}
