package sim

import (
	"math/rand/v2"
	"time"

	"github.com/verdictrisk/verdict/engine"
)

// AccountTakeover logs in as a real user with their right password, from
// another country and a device the user has never used: the attacker
// bought or phished the credentials. Sometimes a wrong password comes
// first (not decisive, as for anyone); each successful login is decisive.
type AccountTakeover struct {
	// Logins is the number of successful logins of the attacker. Default 2:
	// one to look around, one to come back a little later.
	Logins int
	// MinHistory is how many logins the victim must have made before, so
	// that the engine has learnt their habits. Default 3.
	MinHistory int
}

// Name implements Attacker.
func (*AccountTakeover) Name() string { return AttackAccountTakeover }

// Run implements Attacker.
func (a *AccountTakeover) Run(s *Scenario, r *rand.Rand, campaign string) []Record {
	logins, history := a.Logins, a.MinHistory
	if logins <= 0 {
		logins = 2
	}
	if history <= 0 {
		history = 3
	}
	t := s.at(r, 0.4, 0.95)
	u := s.establishedUser(r, t, history)
	if u == nil {
		return nil
	}
	from, ok := pickWeighted(r, s.World.Cities, func(c *City) int {
		if c.Country == u.Home.Country || u.Trip != nil && c.Country == u.Trip.To.Country {
			return 0
		}
		return c.weight
	})
	if !ok {
		return nil
	}
	dev := newDevice(r, pickAgent(r, false), from)
	ip := from.addr(r, 0, false) // a residential proxy in the attacker's city
	var recs []Record
	if chance(r, 0.5) {
		at := t.Add(-between(r, 20*time.Second, 90*time.Second))
		ev := event(engine.TypeLogin, engine.OutcomeFailed, at, u.account(), dev, ip)
		recs = append(recs, Record{Label: attack(a.Name(), campaign, false), Event: ev})
	}
	for range logins {
		ev := event(engine.TypeLogin, engine.OutcomeSucceeded, t, u.account(), dev, ip)
		recs = append(recs, Record{Label: attack(a.Name(), campaign, true), Event: ev})
		t = t.Add(between(r, 20*time.Minute, 3*time.Hour))
	}
	return recs
}

// establishedUser picks a user with at least n logins before t, or nil.
func (s *Scenario) establishedUser(r *rand.Rand, t time.Time, n int) *User {
	var ok []*User
	for _, u := range s.Users {
		before := 0
		for _, l := range u.Logins {
			if l.Before(t) {
				before++
			}
		}
		if before >= n {
			ok = append(ok, u)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	return pick(r, ok)
}
