package engine

import (
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/profile"
	"github.com/verdictrisk/verdict/signals/rba"
)

// userStep is the remember stage of one decision: the user's locked
// profile, the event's values as the RBA model sees them, and the tenant's
// hash seed for velocity keys.
type userStep struct {
	h     *profile.Handle
	login rba.Login
	seed  uint64
}

func (u *userStep) release() {
	if u.h != nil {
		u.h.Release()
	}
}

// Risk windows of feedback on a user.
const (
	// failedChallengeRisk is how long a failed challenge marks the user
	// risky (user.risky).
	failedChallengeRisk = time.Hour
	// fraudRisk is how long a login reported as fraud marks the user risky.
	fraudRisk = 24 * time.Hour
)

// remember locks the user's profile (until u.release) and computes the
// device.*, user.*, travel.* and rba.* signals.
func (e *Engine) remember(ev *Event, s *signals.Set, dry bool, u *userStep) {
	u.seed = tenantSeed(ev.Tenant)
	e.rbaLogin(ev, s, &u.login)
	e.countDeviceUsers(ev, s, u.seed, dry)
	if !ev.User.created.IsZero() {
		// Validate allows a creation time up to the clock skew after the
		// event: such an account is new, not of negative age.
		s.User.AgeDays = max(ev.at.Sub(ev.User.created).Hours()/24, 0)
	}
	if s.User.Key == "" {
		return
	}
	h, err := e.opts.Profiles.Acquire(profileKey(ev.Tenant, s.User.Key))
	if err != nil {
		s.Missing.Add(signals.FamilyProfile)
		e.met.storeErrors.Inc()
		return
	}
	u.h = h
	if !dry {
		h.Expire(ev.at)
	}
	e.userSignals(ev, s, u)
}

// userSignals computes what the profile says of this event.
func (e *Engine) userSignals(ev *Event, s *signals.Set, u *userStep) {
	p := u.h.Profile()
	if p == nil {
		return
	}
	if ev.User.created.IsZero() {
		s.User.AgeDays = p.Age(ev.at).Hours() / 24
	}
	s.User.Logins = p.Logins
	s.User.Known = p.Known()
	s.User.Risky = p.RiskyAt(ev.at)
	if !p.Known() {
		return
	}
	s.Device.New = !p.HasDevice(s.Device.ID)
	s.Device.Trusted = p.DeviceTrusted(s.Device.ID)
	if s.IP.Country != "" {
		s.IP.CountryNew = !p.HasCountry(s.IP.Country)
	}
	if s.IP.ASN != 0 {
		s.IP.ASNNew = !p.HasASN(u.login[rba.ASN])
	}
	s.IP.NetworkNew = s.IP.Network != "" && !p.HasNetwork(s.IP.Network)
	s.User.HourShare = p.HourShare(ev.at)
	if p.Last != nil {
		s.User.DaysSinceLast = max(float64(ev.at.Unix()-p.Last.At), 0) / 86400
	}
	s.Travel = profile.Travel(p.Last, placeOf(ev, s), e.opts.Travel)
	sc := e.opts.RBA.Score(ev.Tenant, &u.login, history{p})
	s.RBA = signals.RBA{Score: sc.Risk, Log10: sc.Log10, IP: sc.Features[0],
		UserAgent: sc.Features[1]}
}

// countDeviceUsers fills device.seen_users: distinct users on this device
// over the last SeenUsersWindow, this event's user included. Only a device
// id or fingerprint the client sent counts: a fingerprint made of headers
// alone is shared by everyone with the same browser and language.
func (e *Engine) countDeviceUsers(ev *Event, s *signals.Set, seed uint64, dry bool) {
	if s.Device.IDSource == signals.DeviceIDHeaders || s.Device.ID == "" {
		return
	}
	dev := mixTenant(rules.HashKey(s.Device.ID), seed)
	if s.User.Key == "" || dry {
		s.Device.SeenUsers = e.seenUsers.Peek(dev, ev.at)
		return
	}
	s.Device.SeenUsers = e.seenUsers.Add(dev, mixTenant(rules.HashKey(s.User.Key), seed), ev.at)
}

func placeOf(ev *Event, s *signals.Set) profile.Place {
	return profile.Place{At: ev.at.Unix(), Lat: s.IP.Lat, Lon: s.IP.Lon,
		AccuracyKm: s.IP.AccuracyKm, Country: s.IP.Country, ASN: s.IP.ASN,
		Network: s.IP.Network, IPVersion: s.IP.Version,
		HasGeo:      s.IP.Country != "" && !s.Missing.Has(signals.FamilyGeo),
		Anonymous:   s.IP.Hosting || s.IP.VPN || s.IP.Tor,
		CountryOnly: s.IP.City == ""}
}

// learn teaches the profile and the RBA model what this event says about
// the user. Only an allowed successful login, an allowed signup and a passed
// challenge teach; a successful login or signup that was not allowed is
// kept as a lesson that "legit" feedback may still teach.
func (e *Engine) learn(ev *Event, d *Decision, u *userStep) {
	h := u.h
	if h == nil {
		return
	}
	s := &d.Signals
	allowed := d.Action == rules.Allow
	switch {
	case ev.Type == TypeChallenge && ev.Outcome == OutcomeSucceeded:
		e.teach(ev, s, u, true, true)
	case ev.Type == TypeChallenge && ev.Outcome == OutcomeFailed:
		if p := h.Profile(); p != nil {
			p.Touch(ev.at, ev.User.created)
			p.RiskUntil = max(p.RiskUntil, ev.at.Add(failedChallengeRisk).Unix())
			h.Changed()
		}
	case ev.Type == TypeLogin && ev.Outcome == OutcomeSucceeded,
		ev.Type == TypeSignup && ev.Outcome != OutcomeFailed:
		e.teach(ev, s, u, allowed, false)
	default:
		if p := h.Profile(); p != nil {
			p.Touch(ev.at, ev.User.created)
			h.Changed()
		}
	}
}

// teach records the event's observation as a lesson (when it has an id)
// and, when taught is set, learns it into the profile and the RBA model.
func (e *Engine) teach(ev *Event, s *signals.Set, u *userStep, taught, trusted bool) {
	h := u.h
	p := h.Create()
	p.Touch(ev.at, ev.User.created)
	e.addAliases(p, ev, s)
	o := observation(ev, s, &u.login, trusted)
	if ev.ID != "" {
		l := &profile.Lesson{Taught: taught, Obs: o}
		if p.Last != nil {
			last := *p.Last
			l.Prev = &last
		}
		h.Record(lessonKey(ev.Tenant, ev.ID), l)
	}
	if taught {
		first := p.Logins == 0
		p.Learn(o)
		e.opts.RBA.Learn(ev.Tenant, &u.login, first)
	}
	h.Changed()
}

// addAliases remembers the hashes of the user's other identifiers, so that
// erasure also finds counter entries kept under them.
func (e *Engine) addAliases(p *profile.Profile, ev *Event, s *signals.Set) {
	if n := s.Email.Normalized; n != "" && n != s.User.Key {
		p.AddAlias(rules.HashKey(n))
	}
	if l := strings.ToLower(strings.TrimSpace(ev.User.Login)); l != "" && l != s.User.Key {
		p.AddAlias(rules.HashKey(l))
	}
}

func observation(ev *Event, s *signals.Set, x *rba.Login, trusted bool) profile.Observation {
	// Country and ASN are the RBA model's values, unknownValue included, so
	// that the profile counts unknown places as the global tables do.
	return profile.Observation{At: ev.at, Device: s.Device.ID, Country: x[rba.Country],
		ASN: x[rba.ASN], Network: s.IP.Network, IP: x[rba.IP],
		Agent: x[rba.UserAgent], Browser: x[rba.Browser], OS: x[rba.OS],
		DeviceType: x[rba.DeviceType], Place: placeOf(ev, s), Trusted: trusted}
}

func asnText(asn int) string {
	if asn == 0 {
		return ""
	}
	return strconv.Itoa(asn)
}

func lessonKey(tenant, eventID string) string { return tenant + "\x00" + eventID }

// unknownValue stands for a value the event does not have (no geo data, no
// user agent) in the RBA model and the profile's RBA history, so that it
// counts the same way in both.
const unknownValue = "-"

// rbaLogin fills x with the event's values as the RBA model sees them.
func (e *Engine) rbaLogin(ev *Event, s *signals.Set, x *rba.Login) {
	x[rba.IP] = s.IP.Address
	if s.IP.Version == 6 {
		// An IPv6 client changes its address (privacy extensions) within
		// the /64 its provider gives it: the prefix is what identifies it.
		x[rba.IP] = s.IP.Network
	}
	x[rba.ASN] = asnText(s.IP.ASN)
	x[rba.Country] = s.IP.Country
	if ua := strings.TrimSpace(ev.UserAgent); ua != "" {
		x[rba.UserAgent] = e.interned.agent(ua)
	}
	x[rba.Browser] = e.interned.version(s.Device.Browser, s.Device.BrowserVersion)
	x[rba.OS] = e.interned.version(s.Device.OS, s.Device.OSVersion)
	x[rba.DeviceType] = s.Device.Type
	for i := range x {
		if x[i] == "" {
			x[i] = unknownValue
		}
	}
}

// nameVersion joins a browser or OS name with its major version: minor
// versions change every few weeks, and the model should not see a new
// browser at each update.
func nameVersion(name, version string) string {
	if name == "" {
		return ""
	}
	if v := majorOf(version); v != "" {
		return name + " " + v
	}
	return name
}

func majorOf(version string) string {
	if i := strings.IndexByte(version, '.'); i >= 0 {
		return version[:i]
	}
	return version
}

// hashText returns 16 hex digits of the xxhash of s: what the profile keeps
// of a user agent.
func hashText(s string) string {
	return strconv.FormatUint(xxhash.Sum64String(s)|1<<63, 16)
}

// history is a profile seen as the RBA model's per-user history. A struct
// of one pointer goes into an interface without an allocation.
type history struct{ p *profile.Profile }

func (h history) Logins() int { return h.p.Logins }

func (h history) Count(l rba.Level, v string) int { return profile.Count(h.list(l), v) }

func (h history) list(l rba.Level) []profile.Seen {
	p := h.p
	switch l {
	case rba.IP:
		return p.IPs
	case rba.ASN:
		return p.ASNs
	case rba.Country:
		return p.Countries
	case rba.UserAgent:
		return p.Agents
	case rba.Browser:
		return p.Browsers
	case rba.OS:
		return p.OSes
	}
	return p.DeviceTypes
}

// each calls fn with the values and counts the profile holds at level l.
func (h history) each(l rba.Level, fn func(v string, n int)) {
	for _, s := range h.list(l) {
		fn(s.Value, int(s.Count))
	}
}

// tenantSeed is what a tenant's velocity keys are mixed with: 0 (no
// change) for the default tenant.
func tenantSeed(tenant string) uint64 {
	if tenant == "" {
		return 0
	}
	return xxhash.Sum64String(tenant) | 1
}

// mixTenant mixes a key hash with a tenant seed. It is a bijection for a
// given seed, so it adds no collision within a tenant; 0 (no key) stays 0.
func mixTenant(h, seed uint64) uint64 {
	if seed == 0 || h == 0 {
		return h
	}
	h ^= seed
	h *= 0x9e3779b97f4a7c15
	return h ^ h>>32
}
