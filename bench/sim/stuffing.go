package sim

import (
	"math/rand/v2"
	"time"

	"github.com/verdictrisk/verdict/engine"
)

// CredentialStuffing replays a leaked list of e-mail and password pairs
// from one address: most accounts do not exist here or have another
// password, a few logins succeed on real users who reused a password. Every
// attempt is decisive: each is the attacker's request.
type CredentialStuffing struct {
	// Attempts is the number of logins tried. Default 120.
	Attempts int
	// Hits is how many attempts succeed, on distinct real users. Default 3.
	Hits int
	// Known is the share of attempts on addresses of real users. Default
	// 0.3; the rest are addresses the service has never seen.
	Known float64
	// Pace is the mean time between attempts. Default 6s: a careful tool
	// that stays under naive rate limits.
	Pace time.Duration
}

// Name implements Attacker.
func (*CredentialStuffing) Name() string { return AttackCredentialStuffing }

func (a *CredentialStuffing) defaults() CredentialStuffing {
	c := *a
	if c.Attempts <= 0 {
		c.Attempts = 120
	}
	if c.Hits <= 0 {
		c.Hits = 3
	}
	if c.Known <= 0 {
		c.Known = 0.3
	}
	if c.Pace <= 0 {
		c.Pace = 6 * time.Second
	}
	return c
}

// Run implements Attacker.
func (a *CredentialStuffing) Run(s *Scenario, r *rand.Rand, campaign string) []Record {
	c := a.defaults()
	ip := s.attackAddr(r)
	dev := botDevice(r)
	known := make([]bool, c.Attempts)
	var knownAt []int
	for i := range known {
		if known[i] = chance(r, c.Known); known[i] {
			knownAt = append(knownAt, i)
		}
	}
	hit := map[int]bool{}
	for _, j := range r.Perm(len(knownAt))[:min(c.Hits, len(knownAt))] {
		hit[knownAt[j]] = true
	}

	t := s.at(r, 0.3, 0.8)
	used := map[*User]bool{}
	recs := make([]Record, 0, c.Attempts)
	for i := range c.Attempts {
		t = t.Add(between(r, c.Pace/3, c.Pace*5/3))
		var u *User
		if known[i] {
			u = s.victim(r, t, used)
		}
		who, outcome := engine.User{}, engine.OutcomeFailed
		switch {
		case u == nil:
			who.Email = s.fakeEmail(r, personalLocal, mailDomain(r, ""))
		case hit[i]:
			who, outcome = u.account(), engine.OutcomeSucceeded
		default:
			who = u.account()
		}
		ev := event(engine.TypeLogin, outcome, t, who, dev, ip)
		recs = append(recs, Record{Label: attack(a.Name(), campaign, true), Event: ev})
	}
	return recs
}

// victim picks a user whose account exists at t and is not in used, and
// marks it used; nil when a few draws find none.
func (s *Scenario) victim(r *rand.Rand, t time.Time, used map[*User]bool) *User {
	if len(s.Users) == 0 {
		return nil
	}
	for range 10 {
		if u := pick(r, s.Users); !used[u] && u.Created.Before(t) {
			used[u] = true
			return u
		}
	}
	return nil
}
