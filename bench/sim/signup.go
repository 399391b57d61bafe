package sim

import (
	"math/rand/v2"
	"time"

	"github.com/verdictrisk/verdict/engine"
)

// SignupBurst is bot signups: waves of fake accounts, each wave from one
// datacenter address within minutes, driven by a headless browser or a
// script, mostly with disposable mail. Each signup is decisive.
type SignupBurst struct {
	// Waves is the number of bursts. Default 3.
	Waves int
	// Signups is the number of accounts attempted per wave. Default 30.
	Signups int
	// Over is how long a wave lasts. Default 12 minutes.
	Over time.Duration
}

// Name implements Attacker.
func (*SignupBurst) Name() string { return AttackSignupBurst }

// burstMail are the providers fake accounts use: free ones, and
// disposable ones that a domain list may know.
var burstMail = []weighted{{"gmail.com", 2}, {"outlook.com", 1}, {"mailinator.com", 3},
	{"guerrillamail.com", 2}, {"yopmail.com", 3}, {"10minutemail.com", 2},
	{"sharklasers.com", 1}, {"trashmail.com", 1}}

// Run implements Attacker.
func (a *SignupBurst) Run(s *Scenario, r *rand.Rand, campaign string) []Record {
	waves, n, over := max(a.Waves, 0), a.Signups, a.Over
	if waves == 0 {
		waves = 3
	}
	if n <= 0 {
		n = 30
	}
	if over <= 0 {
		over = 12 * time.Minute
	}
	var recs []Record
	for range waves {
		ip := s.attackAddr(r)
		// A headless browser on a rented server runs the site's script,
		// and reports the server's clock: UTC.
		dev := &Device{UA: headlessAgent, Language: "en-US,en;q=0.9", Screen: "800x600",
			Timezone: "Etc/UTC", agent: &toolAgent}
		if chance(r, 0.3) {
			dev = toolDevice(r)
		}
		start := s.at(r, 0.1, 0.9)
		for i := range n {
			at := start.Add(over * time.Duration(i) / time.Duration(n)).
				Add(between(r, 0, over/time.Duration(n)))
			w, _ := pickWeighted(r, burstMail, func(w weighted) int { return w.weight })
			who := engine.User{ID: "usr_" + hexID(r, 6), CreatedAt: formatTime(at),
				Email: s.fakeEmail(r, randomLocal, w.value)}
			ev := event(engine.TypeSignup, engine.OutcomeAttempted, at, who, dev, ip)
			recs = append(recs, Record{Label: attack(a.Name(), campaign, true), Event: ev})
		}
	}
	return recs
}

// ResidentialSignups is a fake-account farm behind a residential proxy
// network: every signup from another consumer address, with a real
// browser's full facts and a fresh cookie, at free mail providers with
// person-like names, spread over a day and a half. Only what the farm
// cannot hide repeats: its browsers' time zone and language.
type ResidentialSignups struct {
	// Signups is the number of accounts attempted. Default 150.
	Signups int
	// Over is how long the campaign lasts. Default 36h.
	Over time.Duration
}

// Name implements Attacker.
func (*ResidentialSignups) Name() string { return AttackResidentialSignups }

// Run implements Attacker.
func (a *ResidentialSignups) Run(s *Scenario, r *rand.Rand, campaign string) []Record {
	n, over := a.Signups, a.Over
	if n <= 0 {
		n = 150
	}
	if over <= 0 {
		over = 36 * time.Hour
	}
	farm := pick(r, s.World.Cities)
	start := s.at(r, 0.1, 0.8)
	recs := make([]Record, 0, n)
	for range n {
		at := start.Add(between(r, 0, over))
		dev := newDevice(r, pickAgent(r, chance(r, 0.3)), farm)
		local := func(r *rand.Rand) string { return personalLocal(r) + hexID(r, 1) }
		who := engine.User{ID: "usr_" + hexID(r, 6), CreatedAt: formatTime(at),
			Email: s.fakeEmail(r, local, mailDomain(r, ""))}
		ev := event(engine.TypeSignup, engine.OutcomeAttempted, at, who, dev, s.proxyAddr(r))
		recs = append(recs, Record{Label: attack(a.Name(), campaign, true), Event: ev})
	}
	return recs
}

// randomLocal makes the local part of a throwaway address: a few letters
// and digits, as generators make them.
func randomLocal(r *rand.Rand) string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6+r.IntN(6))
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	b[0] = chars[r.IntN(26)]
	return string(b)
}
