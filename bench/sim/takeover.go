package sim

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/verdictrisk/verdict/engine"
)

// Takeover models: how much the attacker knows of the victim, after the
// attacker models of Freeman et al. (NDSS 2016) as Wiefling et al. (ACM
// TOPS 2022) use them.
const (
	// ModelForeign knows nothing: a residential proxy in another country
	// than the victim's, a common browser.
	ModelForeign = iota
	// ModelVPN knows the victim's country: a VPN or hosting address there.
	ModelVPN
	// ModelTargeted knows the victim's city and browser family: a
	// residential proxy in the city, the same browser product.
	ModelTargeted
	// ModelVeryTargeted knows the victim's provider and exact user agent,
	// language, time zone and screen: only the device cookie differs.
	ModelVeryTargeted
)

// AccountTakeover logs in as real users with their right password: the
// attacker bought or phished the credentials. Each victim gets one login
// (Logins sets more), sometimes after a mistyped password (not decisive,
// as for anyone); each successful login is decisive. Victims are users
// with at least MinHistory logins, attacked after their last legitimate
// one, and no victim meets two takeover campaigns.
type AccountTakeover struct {
	// Model is how much the attacker knows (ModelForeign...).
	Model int
	// Share is the share of eligible users attacked. Default 0.2.
	Share float64
	// Logins is the number of successful logins per victim. Default 1.
	Logins int
	// MinHistory is how many logins the victim must have made before.
	// Default 1.
	MinHistory int
}

var takeoverNames = [...]string{ModelForeign: AttackAccountTakeover, ModelVPN: AttackVPN,
	ModelTargeted: AttackTargeted, ModelVeryTargeted: AttackVeryTargeted}

// Name implements Attacker.
func (a *AccountTakeover) Name() string {
	if a.Model < 0 || a.Model >= len(takeoverNames) {
		return AttackAccountTakeover
	}
	return takeoverNames[a.Model]
}

// Run implements Attacker.
func (a *AccountTakeover) Run(s *Scenario, r *rand.Rand, campaign string) []Record {
	share, logins, history := a.Share, a.Logins, a.MinHistory
	if share <= 0 {
		share = 0.2
	}
	logins, history = max(logins, 1), max(history, 1)
	var recs []Record
	for _, v := range s.lateVictims(r, share, history) {
		dev, ip, ok := a.disguise(s, r, v.u)
		if !ok {
			continue
		}
		t := v.at
		if chance(r, 0.3) {
			ev := event(engine.TypeLogin, engine.OutcomeFailed, t.Add(-between(r, 20*time.Second,
				90*time.Second)), v.u.account(), dev, ip)
			recs = append(recs, Record{Label: attack(a.Name(), campaign, false), Event: ev})
		}
		for range logins {
			ev := event(engine.TypeLogin, engine.OutcomeSucceeded, t, v.u.account(), dev, ip)
			recs = append(recs, Record{Label: attack(a.Name(), campaign, true), Event: ev})
			t = t.Add(between(r, 20*time.Minute, 3*time.Hour))
		}
	}
	return recs
}

// disguise returns the device and address the attacker shows for victim
// u, and false when the world offers no fitting address.
func (a *AccountTakeover) disguise(s *Scenario, r *rand.Rand, u *User) (*Device, netip.Addr,
	bool) {
	main := u.Devices[0]
	switch a.Model {
	case ModelVPN:
		c, ok := pickWeighted(r, s.World.Cities, func(c *City) int {
			if c.Country != u.Home.Country || len(c.anonNets()) == 0 {
				return 0
			}
			return c.weight
		})
		if !ok {
			return nil, netip.Addr{}, false
		}
		return newDevice(r, pickAgent(r, false), u.Home), c.vpnAddr(r), true
	case ModelTargeted:
		d := newDevice(r, pickAgentFamily(r, family(main.UA), main.agent.form), u.Home)
		return d, u.Home.addr(r, 0, false), true
	case ModelVeryTargeted:
		d := *u.last // the client of the victim's last login, seen by a phisher
		d.ID = uuid4(r)
		return &d, u.Home.addr(r, u.ISP, false), true
	}
	from, ok := pickWeighted(r, s.World.Cities, func(c *City) int {
		if c.Country == u.Home.Country || u.wasIn(c.Country) {
			return 0
		}
		return c.weight
	})
	if !ok {
		return nil, netip.Addr{}, false
	}
	// A residential proxy in the attacker's city.
	return newDevice(r, pickAgent(r, false), from), from.addr(r, 0, false), true
}

// wasIn reports whether the user travelled to country in the window.
func (u *User) wasIn(country string) bool {
	for _, t := range u.Trips {
		if t.To.Country == country {
			return true
		}
	}
	return false
}

// pickAgentFamily draws an agent of the browser family fam and the given
// form, or any of the form when the table has none of that family.
func pickAgentFamily(r *rand.Rand, fam, form string) *agent {
	i := pickIndex(r, len(agents), func(i int) int {
		if agents[i].form != form || family(agents[i].ua) != fam {
			return 0
		}
		return agents[i].weight
	})
	if i < 0 {
		return pickAgent(r, form != "desktop")
	}
	return &agents[i]
}
