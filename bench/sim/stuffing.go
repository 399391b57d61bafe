package sim

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/verdictrisk/verdict/engine"
)

// CredentialStuffing is naive credential stuffing: a leaked list of e-mail
// and password pairs tried fast over rotating addresses, with the user
// agent of an attack tool or of a random browser. Most accounts do not
// exist here or have another password; a few logins succeed on real users
// who reused a password. Every attempt is decisive: each is the attacker's
// request.
type CredentialStuffing struct {
	// Attempts is the number of logins tried. Default 600.
	Attempts int
	// Hits is how many attempts succeed, on distinct real users. Default 4.
	Hits int
	// Known is the share of attempts on addresses of real users. Default
	// 0.3; the rest are addresses the service has never seen.
	Known float64
	// Pace is the mean time between attempts. Default 3s.
	Pace time.Duration
	// PerAddr is how many attempts one address makes before the tool
	// rotates to the next proxy. Default 12.
	PerAddr int
	// Hosting is the share of proxies in hosting networks; the others are
	// residential proxies anywhere. Default 0.6.
	Hosting float64
}

// Name implements Attacker.
func (*CredentialStuffing) Name() string { return AttackCredentialStuffing }

func (a *CredentialStuffing) defaults() CredentialStuffing {
	c := *a
	if c.Attempts <= 0 {
		c.Attempts = 600
	}
	if c.Hits <= 0 {
		c.Hits = 4
	}
	if c.Known <= 0 {
		c.Known = 0.3
	}
	if c.Pace <= 0 {
		c.Pace = 3 * time.Second
	}
	if c.PerAddr <= 0 {
		c.PerAddr = 12
	}
	if c.Hosting <= 0 {
		c.Hosting = 0.6
	}
	return c
}

// Run implements Attacker.
//
// TODO: one event per attempt, with its outcome; a pre-check (attempted) is not simulated.
func (a *CredentialStuffing) Run(s *Scenario, r *rand.Rand, campaign string) []Record {
	c := a.defaults()
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
	var ip netip.Addr
	var dev *Device
	for i := range c.Attempts {
		if i%c.PerAddr == 0 {
			ip, dev = s.stuffingProxy(r, c.Hosting)
		}
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

// stuffingProxy returns the next proxy of a stuffing tool and the client
// it shows there: half the proxies get an attack tool's user agent, the
// others a random browser's.
func (s *Scenario) stuffingProxy(r *rand.Rand, hosting float64) (netip.Addr, *Device) {
	ip := s.proxyAddr(r)
	if chance(r, hosting) {
		ip = s.attackAddr(r)
	}
	if chance(r, 0.5) {
		return ip, toolDevice(r)
	}
	return ip, botDevice(r)
}
