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
	// over); it must not change the scenario except through its methods.
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
	// taken are the users an account takeover has already picked: each
	// victim meets one attacker model, so that models do not see each
	// other's traces in the victim's profile.
	taken map[*User]bool
}

// DefaultAttackers are the campaigns of a stream, one per attacker model,
// with their default sizes.
func DefaultAttackers() []Attacker {
	return []Attacker{
		&CredentialStuffing{},
		&AccountTakeover{Model: ModelForeign},
		&AccountTakeover{Model: ModelVPN},
		&AccountTakeover{Model: ModelTargeted},
		&AccountTakeover{Model: ModelVeryTargeted},
		&BruteForce{},
		&PasswordSpraying{},
		&SignupBurst{},
		&ResidentialSignups{},
	}
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
	return s.proxyAddr(r)
}

// proxyAddr returns a residential proxy's address: a consumer network of a
// city drawn by weight, as proxy networks follow the online population.
func (s *Scenario) proxyAddr(r *rand.Rand) netip.Addr {
	c, _ := pickWeighted(r, s.World.Cities, func(c *City) int { return c.weight })
	return c.addr(r, 0, false)
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
// careful tools send, but no cookie, time zone or screen, since no script
// runs in it.
func botDevice(r *rand.Rand) *Device {
	a := pickAgent(r, false)
	return &Device{Language: "en-US,en;q=0.9", UA: a.ua, agent: a}
}

// toolDevice is a naive script: an attack tool's or HTTP library's user
// agent, with no browser facts at all.
func toolDevice(r *rand.Rand) *Device {
	return &Device{UA: pick(r, toolAgents), agent: &toolAgent}
}

// toolAgent is the platform of scripts: they run on desktops and servers.
var toolAgent = agent{os: "linux", form: "desktop"}

// victim is a user an account takeover logs in as, and when.
type victim struct {
	u  *User
	at time.Time
}

// TODO: attack victims mid-history too, and measure what the attacker's traces cost them.
// lateVictims picks, among users not yet taken with at least minLogins
// logins, each with probability share, and gives each a time after their
// last legitimate login. The attack then meets the whole history the
// engine learnt, and the user's own logins are measured free of it.
func (s *Scenario) lateVictims(r *rand.Rand, share float64, minLogins int) []victim {
	var out []victim
	for _, u := range s.Users {
		if s.taken[u] || len(u.Logins) < minLogins || !chance(r, share) {
			continue
		}
		from := u.Logins[len(u.Logins)-1].Add(10 * time.Minute)
		if s.End.Sub(from) < 20*time.Minute {
			continue
		}
		s.taken[u] = true
		out = append(out, victim{u: u, at: from.Add(between(r, 0, s.End.Sub(from)-time.Minute))})
	}
	return out
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
