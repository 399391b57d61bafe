package sim

import (
	"math/rand/v2"
	"time"

	"github.com/verdictrisk/verdict/engine"
)

// BruteForce guesses the password of one real account from one rented
// server, fast, with a cracking tool. Every attempt is decisive; none
// succeeds (a guessed password would be an account takeover).
type BruteForce struct {
	// Attempts is the number of guesses. Default 200.
	Attempts int
	// Pace is the mean time between guesses. Default 4s.
	Pace time.Duration
}

// Name implements Attacker.
func (*BruteForce) Name() string { return AttackBruteForce }

// Run implements Attacker.
func (a *BruteForce) Run(s *Scenario, r *rand.Rand, campaign string) []Record {
	n, pace := a.Attempts, a.Pace
	if n <= 0 {
		n = 200
	}
	if pace <= 0 {
		pace = 4 * time.Second
	}
	vs := s.lateVictims(r, 1, 1)
	if len(vs) == 0 {
		return nil
	}
	v := pick(r, vs)
	for _, o := range vs {
		if o != v {
			delete(s.taken, o.u) // only one account is attacked
		}
	}
	ip, dev := s.attackAddr(r), toolDevice(r)
	t := v.at
	recs := make([]Record, 0, n)
	for range n {
		ev := event(engine.TypeLogin, engine.OutcomeFailed, t, v.u.account(), dev, ip)
		recs = append(recs, Record{Label: attack(a.Name(), campaign, true), Event: ev})
		t = t.Add(between(r, pace/2, pace*3/2))
	}
	return recs
}

// PasswordSpraying tries a few common passwords on many accounts, low and
// slow: each attempt from another residential proxy, hours apart for one
// account, with one tool whose client facts never change. A few weak
// passwords hit. Every attempt is decisive.
type PasswordSpraying struct {
	// Accounts is the number of accounts sprayed. Default 150.
	Accounts int
	// Passwords is how many passwords each account gets, one per round.
	// Default 2.
	Passwords int
	// Over is how long the campaign lasts. Default 16h.
	Over time.Duration
	// Known is the share of accounts that exist. Default 0.7.
	Known float64
	// Hits is how many attempts succeed on real accounts. Default 2.
	Hits int
}

// Name implements Attacker.
func (*PasswordSpraying) Name() string { return AttackPasswordSpraying }

func (a *PasswordSpraying) defaults() PasswordSpraying {
	c := *a
	if c.Accounts <= 0 {
		c.Accounts = 150
	}
	if c.Passwords <= 0 {
		c.Passwords = 2
	}
	if c.Over <= 0 {
		c.Over = 16 * time.Hour
	}
	if c.Known <= 0 {
		c.Known = 0.7
	}
	if c.Hits <= 0 {
		c.Hits = 2
	}
	return c
}

// Run implements Attacker.
func (a *PasswordSpraying) Run(s *Scenario, r *rand.Rand, campaign string) []Record {
	c := a.defaults()
	start := s.at(r, 0.2, 0.7)
	used := map[*User]bool{}
	accounts := make([]engine.User, c.Accounts)
	real := make([]bool, c.Accounts)
	for i := range accounts {
		if chance(r, c.Known) {
			if u := s.victim(r, start, used); u != nil {
				accounts[i], real[i] = u.account(), true
				continue
			}
		}
		accounts[i].Email = s.fakeEmail(r, personalLocal, mailDomain(r, ""))
	}
	dev := botDevice(r)
	total := c.Accounts * c.Passwords
	hits := map[int]bool{}
	for len(hits) < min(c.Hits, len(used)*c.Passwords) {
		if i := r.IntN(total); real[i%c.Accounts] {
			hits[i] = true
		}
	}
	recs := make([]Record, 0, total)
	for i := range total {
		// Attempts are spread evenly, with jitter, so the rounds follow
		// one another over the whole campaign.
		at := start.Add(c.Over * time.Duration(i) / time.Duration(total)).
			Add(between(r, 0, c.Over/time.Duration(total)))
		outcome := engine.OutcomeFailed
		if hits[i] {
			outcome = engine.OutcomeSucceeded
		}
		ev := event(engine.TypeLogin, outcome, at, accounts[i%c.Accounts], dev, s.proxyAddr(r))
		recs = append(recs, Record{Label: attack(a.Name(), campaign, true), Event: ev})
	}
	return recs
}
