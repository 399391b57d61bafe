package sim

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// Attacker is one attacker model. Each model is its own type with its own
// knobs; the generator runs every configured attacker once per campaign.
type Attacker interface {
	// Name is the attack's name in labels, such as AttackSignupBurst.
	Name() string
	// Run returns the campaign's events, labelled with campaign. r is the
	// campaign's own random stream. Run may return no events when the
	// scenario offers no target (a population without a user to take
	// over); it must not change the scenario.
	Run(s *Scenario, r *rand.Rand, campaign string) []Record
}

// Scenario is what attackers see of a run: the world, the legitimate users
// with their login history, and the window.
type Scenario struct {
	World      *World
	Users      []*User
	Start, End time.Time
	// emails are the addresses in use, so that made-up ones differ.
	emails map[string]bool
}

// DefaultAttackers are the campaigns of a sample stream: one each of
// credential stuffing, account takeover and a signup burst, with their
// default sizes.
func DefaultAttackers() []Attacker {
	return []Attacker{&CredentialStuffing{}, &AccountTakeover{}, &SignupBurst{}}
}

// at returns an instant between the given fractions of the window.
func (s *Scenario) at(r *rand.Rand, from, to float64) time.Time {
	w := s.End.Sub(s.Start)
	return s.Start.Add(time.Duration(from*float64(w)) +
		between(r, 0, time.Duration((to-from)*float64(w))))
}

// attackAddr returns an address attackers rent: a hosting network when the
// world knows any, else a consumer network of a random city (a residential
// proxy).
func (s *Scenario) attackAddr(r *rand.Rand) netip.Addr {
	if len(s.World.Hosting) > 0 {
		return randomAddr(r, pick(r, s.World.Hosting).Prefix)
	}
	return pick(r, s.World.Cities).addr(r, 0, false)
}

// fakeEmail makes an address that no user of the scenario has.
func (s *Scenario) fakeEmail(r *rand.Rand, local func(*rand.Rand) string, domain string) string {
	for {
		e := local(r) + "@" + domain
		if !s.emails[e] {
			return e
		}
	}
}

// botDevice is the client of a script: a real browser's user agent, as
// attack tools send, but no cookie, time zone or screen, since no script
// runs in it.
func botDevice(r *rand.Rand) *Device {
	return &Device{Language: "en-US,en;q=0.9", agent: pickAgent(r, false)}
}
