package sim

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/engine"
)

// User is one person of the population.
type User struct {
	ID    string
	Email string
	// Created is when the account was made; inside the window for users
	// who sign up during the stream.
	Created time.Time
	// SignsUp is true when the stream holds the user's signup.
	SignsUp bool
	Home    *City
	// ISP is the AS number of the user's home provider; Mobile that of the
	// carrier their phone uses away from home Wi-Fi (0: none).
	ISP, Mobile uint32
	// Devices are the user's browsers; a device replaced during the
	// window (a new phone) stays in the list with its Until time set.
	Devices []*Device
	// Trips are the journeys during the window (abroad and at home), in
	// time order and never overlapping.
	Trips []*Trip
	// Office is the shared address of the user's workplace, or nil.
	Office *Venue
	// VPN is the VPN exit city the user browses through on a share of
	// their desktop logins (VPNShare), or nil.
	VPN      *City
	VPNShare float64
	// Logins are the times of the user's successful logins, in order.
	Logins []time.Time

	home4 netip.Addr
	home6 netip.Prefix // the /64 of a dual-stack home, or invalid
	// used holds the device keys of the user's successful logins so far.
	used map[string]bool
	// last is the device of the last successful login, as it was then.
	last *Device
}

// Device is a browser on a device.
type Device struct {
	// ID is the device cookie; empty for a browser that keeps none.
	ID     string
	Screen string
	// Timezone and Language are what the browser reports.
	Timezone string
	Language string
	// UA is the user agent the browser sends; Updated is when the browser
	// updates to its next major version (zero: not in the window), after
	// which it sends UpdatedUA.
	UA        string
	Updated   time.Time
	UpdatedUA string
	// From and Until bound when the device is in use (zero: always): a
	// replaced phone has Until set, its successor From.
	From, Until time.Time
	agent       *agent
	// weight is how often the user picks the device among those in use.
	weight int
}

// Mobile reports whether the device is a phone or a tablet.
func (d *Device) Mobile() bool { return d.agent.form != "desktop" }

// uaAt returns the user agent the browser sends at t.
func (d *Device) uaAt(t time.Time) string {
	if !d.Updated.IsZero() && !t.Before(d.Updated) {
		return d.UpdatedUA
	}
	return d.UA
}

// active reports whether the device is in use at t.
func (d *Device) active(t time.Time) bool {
	return !t.Before(d.From) && (d.Until.IsZero() || t.Before(d.Until))
}

// key identifies the device as the engine can: its cookie, else what its
// fingerprint is made of.
func (d *Device) key(ua string) string {
	if d.ID != "" {
		return d.ID
	}
	return "fp\x00" + ua + "\x00" + d.Timezone + "\x00" + d.Screen + "\x00" + d.Language
}

// Trip is a stay in another city.
type Trip struct {
	To *City
	// Leave and Back are when the user leaves home and when they leave the
	// destination; each flight takes FlightTime.
	Leave, Back time.Time
	FlightTime  time.Duration
	// Abroad is true when To is in another country than home.
	Abroad bool
}

// where says where the user is at t: away (at the destination), home, or in
// the air, when they cannot log in.
func (t *Trip) where(at time.Time) (away, flying bool) {
	if t == nil {
		return false, false
	}
	switch {
	case at.Before(t.Leave):
		return false, false
	case at.Before(t.Leave.Add(t.FlightTime)):
		return false, true
	case at.Before(t.Back):
		return true, false
	case at.Before(t.Back.Add(t.FlightTime)):
		return false, true
	}
	return false, false
}

// tripAt returns the trip the user is on at t (at its destination), and
// whether they are in the air.
func (u *User) tripAt(t time.Time) (trip *Trip, flying bool) {
	for _, tr := range u.Trips {
		away, fl := tr.where(t)
		switch {
		case fl:
			return nil, true
		case away:
			return tr, false
		}
	}
	return nil, false
}

func newDevice(r *rand.Rand, a *agent, c *City) *Device {
	return &Device{ID: uuid4(r), Screen: a.screen(r), Timezone: c.Timezone,
		Language: c.Language, UA: a.ua, agent: a}
}

// event builds an engine event as the auth server would report it for a
// request from device d at address ip.
func event(typ, outcome string, at time.Time, u engine.User, d *Device, ip netip.Addr) engine.Event {
	ev := engine.Event{Type: typ, Outcome: outcome, Time: formatTime(at), User: u,
		IP: ip.String(), UserAgent: d.uaAt(at),
		Device: engine.Device{ID: d.ID, Timezone: d.Timezone, Screen: d.Screen}}
	if d.Language != "" {
		ev.Headers = map[string]string{"accept-language": d.Language}
		if d.ID != "" || d.Screen != "" || d.Timezone != "" {
			// navigator.language, reported by the site's script; a
			// client that runs none only sends the header.
			ev.Device.Language, _, _ = strings.Cut(d.Language, ",")
		}
	}
	return ev
}

// account is how the auth server names the user in its events.
func (u *User) account() engine.User {
	return engine.User{ID: u.ID, Email: u.Email, CreatedAt: formatTime(u.Created)}
}

// timeLayout is RFC 3339 with milliseconds, as auth servers commonly log.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// randomAddr returns an address inside p. IPv4 avoids the first and last
// address of blocks larger than two; IPv6 fills the host bits at random, as
// privacy addresses do.
func randomAddr(r *rand.Rand, p netip.Prefix) netip.Addr {
	p = p.Masked()
	if p.Addr().Is4() {
		b := p.Addr().As4()
		size := uint64(1) << (32 - p.Bits())
		off := r.Uint64N(size)
		if size > 2 {
			off = 1 + r.Uint64N(size-2)
		}
		binary.BigEndian.PutUint32(b[:], binary.BigEndian.Uint32(b[:])+uint32(off))
		return netip.AddrFrom4(b)
	}
	b := p.Addr().As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	bits := p.Bits()
	if bits < 64 {
		hi |= r.Uint64() & (1<<(64-bits) - 1)
		lo = r.Uint64()
	} else {
		lo |= r.Uint64() & (1<<(128-bits) - 1)
	}
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

// networks returns c's residential networks of one family, of operator asn
// when asn is not 0.
func (c *City) networks(asn uint32, v6 bool) []Network {
	var out []Network
	for _, n := range c.Residential {
		if n.Prefix.Addr().Is6() == v6 && (asn == 0 || n.ASN == asn) {
			out = append(out, n)
		}
	}
	return out
}

// addr returns a random residential address of operator asn (any operator
// when 0) in c; IPv6 when v6 and c has such a network.
func (c *City) addr(r *rand.Rand, asn uint32, v6 bool) netip.Addr {
	nets := c.networks(asn, v6)
	if len(nets) == 0 {
		nets = c.networks(asn, false)
	}
	if len(nets) == 0 {
		nets = c.networks(0, false)
	}
	return randomAddr(r, pick(r, nets).Prefix)
}

// Names and mail providers for addresses. They only need to look plausible
// and to be varied enough that few collide.
var (
	firstNames = []string{"anna", "ben", "carla", "david", "elena", "felix", "gabriel", "hana",
		"ivan", "julia", "kenji", "lena", "marco", "nina", "omar", "paula", "rosa", "sofia",
		"tomas", "victor", "wei", "yuki", "zoe", "lucas", "maria", "james", "emma", "noah",
		"olivia", "liam", "mia", "arjun", "priya", "chidi", "amara", "mehmet", "aylin", "jiwoo",
		"sakura", "diego", "camila", "mateo", "valentina", "lars", "ingrid", "piotr", "fatima",
		"ahmed", "grace", "samuel", "chloe", "hugo", "ines", "jonas", "kofi", "leila", "min"}
	lastNames = []string{"smith", "muller", "garcia", "rossi", "dubois", "silva", "tanaka", "kim",
		"patel", "okafor", "novak", "jansen", "kowalski", "lopez", "martin", "schmidt", "wang",
		"nguyen", "sato", "fernandes", "costa", "johnson", "brown", "weber", "moreau", "romero",
		"yilmaz", "mensah", "hansen", "murphy", "santos", "ito", "park", "sharma", "adeyemi",
		"ferrari", "lefebvre", "hoffmann", "andersson", "oconnor", "reyes", "tan", "wilson"}
	globalMail = []weighted{{"gmail.com", 40}, {"outlook.com", 10}, {"hotmail.com", 8},
		{"yahoo.com", 8}, {"icloud.com", 8}, {"proton.me", 2}}
	localMail = map[string][]weighted{
		"DE": {{"gmx.de", 8}, {"web.de", 8}, {"t-online.de", 4}},
		"FR": {{"orange.fr", 6}, {"free.fr", 4}},
		"GB": {{"btinternet.com", 4}},
		"IT": {{"libero.it", 6}},
		"PL": {{"wp.pl", 6}, {"onet.pl", 3}},
		"JP": {{"yahoo.co.jp", 8}},
		"KR": {{"naver.com", 12}},
		"BR": {{"uol.com.br", 5}, {"bol.com.br", 3}},
		"IN": {{"rediffmail.com", 4}},
	}
)

type weighted struct {
	value  string
	weight int
}

// mailDomain draws a provider for someone living in country.
func mailDomain(r *rand.Rand, country string) string {
	all := append(append([]weighted(nil), globalMail...), localMail[country]...)
	w, _ := pickWeighted(r, all, func(w weighted) int { return w.weight })
	return w.value // every provider list has positive weights
}

// personalLocal makes the local part of a person's address.
func personalLocal(r *rand.Rand) string {
	f, l := pick(r, firstNames), pick(r, lastNames)
	switch r.IntN(5) {
	case 0:
		return f + l
	case 1:
		return f[:1] + l + fmt.Sprint(r.IntN(100))
	case 2:
		return f + "_" + l + fmt.Sprint(1960+r.IntN(50))
	}
	return f + "." + l
}
