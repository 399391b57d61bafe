// Package profile keeps what the engine has learnt about each user: the
// devices, countries, networks and operators they log in from, the addresses
// and user agents the RBA model compares against, where and when they last
// logged in successfully, and when they usually do. The engine reads a
// profile to compute the user signals of an event (device.new,
// ip.country_new, travel.*, user.*, rba.*) and teaches it after a successful
// login, an allowed signup or a passed challenge.
//
// Profiles are kept in memory for the hot path and written to an embedded
// bbolt database once a second (see Store), so a clean shutdown loses
// nothing and a crash (kill -9, power loss) loses at most the last second of
// updates. What each recent event taught is kept too (Lesson), so that
// feedback can take back a login later found to be fraud.
package profile

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits that keep one profile bounded whatever a user does. When a list is
// full, the value seen least recently is forgotten first.
const (
	// MaxDevices is how many devices a profile remembers.
	MaxDevices = 20
	// MaxPlaces bounds the countries, operators, networks and addresses
	// remembered.
	MaxPlaces = 30
	// MaxAgents bounds the user agents, browsers and operating systems
	// remembered.
	MaxAgents = 20
	// MaxDeviceTypes bounds the device types (desktop, mobile, ...).
	MaxDeviceTypes = 8
	// MaxLessons is how many recent events' lessons a profile keeps for
	// feedback; older ones can no longer be taken back.
	MaxLessons = 16
	// MaxAliases bounds the other identifiers (hashes of the normalised
	// e-mail and login name) a profile keeps for erasure.
	MaxAliases = 4
)

// Profile is what is known of one user. Times are Unix seconds.
type Profile struct {
	Key       string `json:"key"`
	FirstSeen int64  `json:"first_seen"`
	LastSeen  int64  `json:"last_seen"`
	// CreatedAt is the account creation time the auth server reported, or 0.
	CreatedAt int64 `json:"created_at,omitempty"`
	// Logins counts what taught the profile: successful logins that were
	// allowed, allowed signups and passed challenges. It is the size of the
	// user's login history for the RBA model.
	Logins    int    `json:"logins"`
	Devices   []Seen `json:"devices,omitempty"`
	Countries []Seen `json:"countries,omitempty"`
	ASNs      []Seen `json:"asns,omitempty"`
	Networks  []Seen `json:"networks,omitempty"`
	// IPs, Agents (user-agent hashes), Browsers ("Chrome 131"), OSes
	// ("Windows 10") and DeviceTypes are the RBA model's per-user history.
	IPs         []Seen `json:"ips,omitempty"`
	Agents      []Seen `json:"user_agents,omitempty"`
	Browsers    []Seen `json:"browsers,omitempty"`
	OSes        []Seen `json:"oses,omitempty"`
	DeviceTypes []Seen `json:"device_types,omitempty"`
	// Last is the place of the last successful login.
	Last *Place `json:"last,omitempty"`
	// HourOfWeek counts successful logins by hour of the week (UTC,
	// Monday 00:00 first).
	HourOfWeek [168]uint16 `json:"hour_of_week"`
	// RiskUntil is set after a failed challenge or a login reported as
	// fraud: until then the user's logins carry extra risk.
	RiskUntil int64 `json:"risk_until,omitempty"`
	// Lessons are the keys (tenant and event id) of the recent events whose
	// lessons the store keeps, oldest first.
	Lessons []string `json:"lessons,omitempty"`
	// Aliases are hashes of the user's other identifiers (normalised
	// e-mail, login name) as velocity counters hash keys, so that erasure
	// finds counter entries kept under them.
	Aliases Hashes `json:"aliases,omitempty"`
}

// Hashes are 64-bit hashes. JSON carries them as decimal strings, since
// readers in JavaScript (and jq) lose integers above 2^53; numbers, as
// profiles written before were, are read too.
type Hashes []uint64

// MarshalJSON implements json.Marshaler.
func (h Hashes) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i, v := range h {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, strconv.FormatUint(v, 10))
	}
	return append(b, ']'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (h *Hashes) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Hashes, 0, len(raw))
	for _, r := range raw {
		text := strings.Trim(string(r), `"`)
		v, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			return fmt.Errorf("hash %s: %w", r, err)
		}
		out = append(out, v)
	}
	*h = out
	return nil
}

// Seen is one remembered value (a device id, a country code, an AS number, a
// network prefix, an address, a user-agent hash...) with when it was first
// and last seen and in how many of the user's logins.
type Seen struct {
	Value string `json:"value"`
	First int64  `json:"first"`
	Last  int64  `json:"last"`
	Count int32  `json:"count"`
	// Trusted is set when a challenge was passed from this value, or an
	// analyst confirmed a login from it.
	Trusted bool `json:"trusted,omitempty"`
}

// Place is where a login came from.
type Place struct {
	At          int64   `json:"at"`
	Lat         float64 `json:"lat"`
	Lon         float64 `json:"lon"`
	AccuracyKm  float64 `json:"accuracy_km,omitempty"`
	Country     string  `json:"country,omitempty"`
	ASN         int     `json:"asn,omitempty"`
	Network     string  `json:"network,omitempty"`
	IPVersion   int     `json:"ip_version,omitempty"`
	CountryOnly bool    `json:"country_only,omitempty"`
	// Anonymous is set when the address was a hosting, VPN or Tor address.
	Anonymous bool `json:"anonymous,omitempty"`
	HasGeo    bool `json:"has_geo"`
}

// Observation is what one event teaches a profile.
type Observation struct {
	At      time.Time `json:"at"`
	Device  string    `json:"device,omitempty"`
	Country string    `json:"country,omitempty"`
	ASN     string    `json:"asn,omitempty"`
	Network string    `json:"network,omitempty"`
	IP      string    `json:"ip,omitempty"`
	// Agent is a hash of the user agent, Browser and OS are a name and
	// major version ("Chrome 131", "iOS 18"), DeviceType "desktop",
	// "mobile"...
	Agent      string `json:"user_agent,omitempty"`
	Browser    string `json:"browser,omitempty"`
	OS         string `json:"os,omitempty"`
	DeviceType string `json:"device_type,omitempty"`
	Place      Place  `json:"place"`
	// Trusted marks the device and place as trusted (a passed challenge).
	Trusted bool `json:"trusted,omitempty"`
}

// Known reports whether the profile has learnt at least one login.
func (p *Profile) Known() bool { return p != nil && p.Logins > 0 }

// RiskyAt reports whether the user's logins carry extra risk at t (a failed
// challenge or a fraud report not long before). RiskUntil 0 is never risky,
// whatever t is.
func (p *Profile) RiskyAt(t time.Time) bool { return p.RiskUntil != 0 && p.RiskUntil > t.Unix() }

// HasDevice reports whether the device id has been seen in a successful
// login or a passed challenge.
func (p *Profile) HasDevice(id string) bool { return find(p.Devices, id) >= 0 }

// DeviceTrusted reports whether a challenge was passed on the device.
func (p *Profile) DeviceTrusted(id string) bool {
	i := find(p.Devices, id)
	return i >= 0 && p.Devices[i].Trusted
}

// HasCountry reports whether the country has been seen.
func (p *Profile) HasCountry(c string) bool { return find(p.Countries, c) >= 0 }

// HasASN reports whether the AS number (as text) has been seen.
func (p *Profile) HasASN(asn string) bool { return find(p.ASNs, asn) >= 0 }

// HasNetwork reports whether the network prefix has been seen.
func (p *Profile) HasNetwork(n string) bool { return find(p.Networks, n) >= 0 }

// listRef is one of a profile's value lists with its bound and the value an
// observation has for it.
type listRef struct {
	list  *[]Seen
	value string
	limit int
}

// lists returns the profile's value lists, in the order of the Observation
// fields they hold. It returns an array so that the hot path does not
// allocate.
func (p *Profile) lists(o *Observation) [9]listRef {
	return [9]listRef{
		{&p.Devices, o.Device, MaxDevices}, {&p.Countries, o.Country, MaxPlaces},
		{&p.ASNs, o.ASN, MaxPlaces}, {&p.Networks, o.Network, MaxPlaces},
		{&p.IPs, o.IP, MaxPlaces}, {&p.Agents, o.Agent, MaxAgents},
		{&p.Browsers, o.Browser, MaxAgents}, {&p.OSes, o.OS, MaxAgents},
		{&p.DeviceTypes, o.DeviceType, MaxDeviceTypes},
	}
}

// Learn records a successful login, an allowed signup or a passed
// challenge.
func (p *Profile) Learn(o Observation) {
	t := o.At.Unix()
	p.touch(t)
	p.Logins++
	for _, l := range p.lists(&o) {
		*l.list = remember(*l.list, l.value, t, o.Trusted, l.limit)
	}
	switch {
	case p.Last == nil:
		place := o.Place
		p.Last = &place
		p.Last.At = t
	case t >= p.Last.At:
		// Overwritten in place: copies (Clone, a lesson's Prev) are values.
		*p.Last = o.Place
		p.Last.At = t
	}
	h := hourOfWeek(o.At)
	if p.HourOfWeek[h] < 1<<16-1 {
		p.HourOfWeek[h]++
	}
}

// Unlearn takes back what Learn(o) taught, for a login reported as fraud:
// each value's count goes down and a value seen only then is forgotten, the
// hour-of-week count goes down, and when the last login's place is o's it
// goes back to prev (the place before o). The first and last times of
// values seen at other times too are not rewound.
// TODO: rewind a value's first/last times on Unlearn; a Seen keeps no history to rewind to.
func (p *Profile) Unlearn(o Observation, prev *Place) {
	t := o.At.Unix()
	if p.Logins > 0 {
		p.Logins--
	}
	for _, l := range p.lists(&o) {
		*l.list = forgetOnce(*l.list, l.value)
	}
	if p.Last != nil && p.Last.At == t && p.Last.Network == o.Place.Network {
		p.Last = prev
	}
	if h := hourOfWeek(o.At); p.HourOfWeek[h] > 0 {
		p.HourOfWeek[h]--
	}
}

// Trust marks o's device, country, operator and network as trusted, for a
// login an analyst confirmed.
func (p *Profile) Trust(o Observation) {
	refs := p.lists(&o)
	for _, l := range refs[:4] {
		if i := find(*l.list, l.value); i >= 0 {
			(*l.list)[i].Trusted = true
		}
	}
}

// Touch records that the user was seen (any event), for first/last seen.
func (p *Profile) Touch(at time.Time, createdAt time.Time) {
	p.touch(at.Unix())
	if !createdAt.IsZero() {
		p.CreatedAt = createdAt.Unix()
	}
}

func (p *Profile) touch(t int64) {
	// A FirstSeen before 1970 can only come from a zero event time, which
	// earlier versions accepted: it is replaced.
	if p.FirstSeen <= 0 || t < p.FirstSeen {
		p.FirstSeen = t
	}
	p.LastSeen = max(p.LastSeen, t)
}

// AddAlias remembers another identifier's hash, for erasure.
func (p *Profile) AddAlias(h uint64) bool {
	if h == 0 || slices.Contains(p.Aliases, h) {
		return false
	}
	if len(p.Aliases) >= MaxAliases {
		p.Aliases = slices.Delete(p.Aliases, 0, 1)
	}
	p.Aliases = append(p.Aliases, h)
	return true
}

// Age returns the account's age at time at: from its creation time when the
// auth server gave one, else from the first time the engine saw the user.
func (p *Profile) Age(at time.Time) time.Duration {
	// Times before 1970 (0 is unset) are not ages: see touch.
	start := p.CreatedAt
	if start <= 0 {
		start = p.FirstSeen
	}
	if start <= 0 {
		return 0
	}
	return max(at.Sub(time.Unix(start, 0)), 0)
}

// HourShare is the share of the user's logins that happened within an hour
// of at's hour of the day (UTC), on any day of the week: 0 for an hour the
// user has never logged in at, about 0.125 for a user who logs in at any
// hour. It is 0 for a profile without logins.
func (p *Profile) HourShare(at time.Time) float64 {
	total := 0
	for _, n := range p.HourOfWeek {
		total += int(n)
	}
	if total == 0 {
		return 0
	}
	near, hour := 0, at.UTC().Hour()
	for day := range 7 {
		for d := 23; d <= 25; d++ {
			near += int(p.HourOfWeek[day*24+(hour+d)%24])
		}
	}
	return float64(near) / float64(total)
}

// Expire forgets values not seen since before horizon and reports whether
// it forgot any.
// TODO: age the hour-of-week histogram too; it has no times to age by.
func (p *Profile) Expire(horizon time.Time) bool {
	h := horizon.Unix()
	old := func(s Seen) bool { return s.Last < h }
	changed := false
	for _, l := range p.lists(&Observation{}) {
		n := len(*l.list)
		*l.list = slices.DeleteFunc(*l.list, old)
		changed = changed || len(*l.list) != n
	}
	return changed
}

func hourOfWeek(t time.Time) int {
	t = t.UTC()
	return (int(t.Weekday())+6)%7*24 + t.Hour()
}

func find(list []Seen, v string) int {
	if v == "" {
		return -1
	}
	for i := range list {
		if list[i].Value == v {
			return i
		}
	}
	return -1
}

// Count returns how many of the user's logins had value v in list, 0 when
// none or when it has been forgotten.
func Count(list []Seen, v string) int {
	if i := find(list, v); i >= 0 {
		return int(list[i].Count)
	}
	return 0
}

// remember adds or refreshes v, dropping the least recently seen value when
// the list is full.
func remember(list []Seen, v string, t int64, trusted bool, limit int) []Seen {
	if v == "" {
		return list
	}
	if i := find(list, v); i >= 0 {
		s := &list[i]
		s.Last = max(s.Last, t)
		s.First = min(s.First, t)
		if s.Count < 1<<31-1 {
			s.Count++
		}
		s.Trusted = s.Trusted || trusted
		return list
	}
	if len(list) >= limit {
		oldest := 0
		for i := range list {
			if list[i].Last < list[oldest].Last {
				oldest = i
			}
		}
		list = slices.Delete(list, oldest, oldest+1)
	}
	return append(list, Seen{Value: v, First: t, Last: t, Count: 1, Trusted: trusted})
}

// forgetOnce takes one login off v's count and drops v at zero.
func forgetOnce(list []Seen, v string) []Seen {
	i := find(list, v)
	if i < 0 {
		return list
	}
	if list[i].Count--; list[i].Count <= 0 {
		return slices.Delete(list, i, i+1)
	}
	return list
}
