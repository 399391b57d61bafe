package sim

import (
	"math/rand/v2"
	"time"

	"github.com/verdictrisk/verdict/engine"
)

// SignupBurst creates fake accounts from one address within minutes, with
// made-up addresses at free and disposable mail providers. Each signup is
// decisive.
type SignupBurst struct {
	// Signups is the number of accounts attempted. Default 30.
	Signups int
	// Over is how long the burst lasts. Default 12 minutes.
	Over time.Duration
}

// Name implements Attacker.
func (*SignupBurst) Name() string { return AttackSignupBurst }

// burstMail are the providers fake accounts use: free ones, and
// disposable ones that a domain list may know.
var burstMail = []weighted{{"gmail.com", 4}, {"outlook.com", 2}, {"mailinator.com", 2},
	{"guerrillamail.com", 1}, {"yopmail.com", 2}, {"10minutemail.com", 1}}

// Run implements Attacker.
func (a *SignupBurst) Run(s *Scenario, r *rand.Rand, campaign string) []Record {
	n, over := a.Signups, a.Over
	if n <= 0 {
		n = 30
	}
	if over <= 0 {
		over = 12 * time.Minute
	}
	ip := s.attackAddr(r)
	dev := botDevice(r)
	start := s.at(r, 0.2, 0.9)
	recs := make([]Record, 0, n)
	for i := range n {
		at := start.Add(over * time.Duration(i) / time.Duration(n)).
			Add(between(r, 0, over/time.Duration(n)))
		w, _ := pickWeighted(r, burstMail, func(w weighted) int { return w.weight })
		who := engine.User{ID: "usr_" + hexID(r, 6), CreatedAt: formatTime(at),
			Email: s.fakeEmail(r, randomLocal, w.value)}
		ev := event(engine.TypeSignup, engine.OutcomeAttempted, at, who, dev, ip)
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
