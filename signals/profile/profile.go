// Package profile keeps what the engine has learnt about each user: the
// devices, countries, networks and operators they log in from, where and when
// they last logged in successfully, and when they usually do. The engine
// reads a profile to compute the user signals of an event (device.new,
// ip.country_new, travel.*) and teaches it after a successful login or a
// passed challenge.
//
// Profiles are kept in memory for the hot path and written to an embedded
// bbolt database once a second (see Store), so a clean shutdown loses
// nothing and a crash loses at most the last second of updates.
package profile

import (
	"slices"
	"time"
)

// Limits that keep one profile bounded whatever a user does.
const (
	// MaxDevices is how many devices a profile remembers; the least
	// recently seen is forgotten first.
	MaxDevices = 20
	// MaxPlaces bounds the countries, operators and networks remembered.
	MaxPlaces = 30
)

// Profile is what is known of one user. Times are Unix seconds.
type Profile struct {
	Key       string `json:"key"`
	FirstSeen int64  `json:"first_seen"`
	LastSeen  int64  `json:"last_seen"`
	// CreatedAt is the account creation time the auth server reported, or 0.
	CreatedAt int64 `json:"created_at,omitempty"`
	// Logins counts successful logins (and passed challenges).
	Logins    int    `json:"logins"`
	Devices   []Seen `json:"devices,omitempty"`
	Countries []Seen `json:"countries,omitempty"`
	ASNs      []Seen `json:"asns,omitempty"`
	Networks  []Seen `json:"networks,omitempty"`
	// Last is the place of the last successful login.
	Last *Place `json:"last,omitempty"`
	// HourOfWeek counts successful logins by hour of the week (UTC,
	// Monday 00:00 first).
	HourOfWeek [168]uint16 `json:"hour_of_week"`
	// RiskUntil is set after a failed challenge: until then the user's
	// logins carry extra risk.
	RiskUntil int64 `json:"risk_until,omitempty"`
}

// Seen is one remembered value (a device id, a country code, an AS number or
// a network prefix) with when it was first and last seen.
type Seen struct {
	Value string `json:"value"`
	First int64  `json:"first"`
	Last  int64  `json:"last"`
	Count int    `json:"count"`
	// Trusted is set when a challenge was passed from this value.
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
	At      time.Time
	Device  string
	Country string
	ASN     string
	Network string
	Place   Place
	// Trusted marks the device and place as trusted (a passed challenge).
	Trusted bool
}

// Known reports whether the profile has at least one successful login.
func (p *Profile) Known() bool { return p != nil && p.Logins > 0 }

// HasDevice reports whether the device id has been seen in a successful
// login or a passed challenge.
func (p *Profile) HasDevice(id string) bool { return find(p.Devices, id) >= 0 }

// HasCountry reports whether the country has been seen.
func (p *Profile) HasCountry(c string) bool { return find(p.Countries, c) >= 0 }

// HasASN reports whether the AS number (as text) has been seen.
func (p *Profile) HasASN(asn string) bool { return find(p.ASNs, asn) >= 0 }

// HasNetwork reports whether the network prefix has been seen.
func (p *Profile) HasNetwork(n string) bool { return find(p.Networks, n) >= 0 }

// Learn records a successful login or a passed challenge.
func (p *Profile) Learn(o Observation) {
	t := o.At.Unix()
	if p.FirstSeen == 0 || t < p.FirstSeen {
		p.FirstSeen = t
	}
	p.LastSeen = max(p.LastSeen, t)
	p.Logins++
	p.Devices = remember(p.Devices, o.Device, t, o.Trusted, MaxDevices)
	p.Countries = remember(p.Countries, o.Country, t, o.Trusted, MaxPlaces)
	p.ASNs = remember(p.ASNs, o.ASN, t, o.Trusted, MaxPlaces)
	p.Networks = remember(p.Networks, o.Network, t, o.Trusted, MaxPlaces)
	if p.Last == nil || t >= p.Last.At {
		place := o.Place
		place.At = t
		p.Last = &place
	}
	h := hourOfWeek(o.At)
	if p.HourOfWeek[h] < 1<<16-1 {
		p.HourOfWeek[h]++
	}
}

// Touch records that the user was seen (any event), for first/last seen.
func (p *Profile) Touch(at time.Time, createdAt time.Time) {
	t := at.Unix()
	if p.FirstSeen == 0 || t < p.FirstSeen {
		p.FirstSeen = t
	}
	p.LastSeen = max(p.LastSeen, t)
	if !createdAt.IsZero() {
		p.CreatedAt = createdAt.Unix()
	}
}

// Age returns the account's age at time at: from its creation time when the
// auth server gave one, else from the first time the engine saw the user.
func (p *Profile) Age(at time.Time) time.Duration {
	start := p.CreatedAt
	if start == 0 {
		start = p.FirstSeen
	}
	if start == 0 {
		return 0
	}
	return max(at.Sub(time.Unix(start, 0)), 0)
}

// Expire forgets values not seen since before horizon.
func (p *Profile) Expire(horizon time.Time) {
	h := horizon.Unix()
	keep := func(s Seen) bool { return s.Last < h }
	p.Devices = slices.DeleteFunc(p.Devices, keep)
	p.Countries = slices.DeleteFunc(p.Countries, keep)
	p.ASNs = slices.DeleteFunc(p.ASNs, keep)
	p.Networks = slices.DeleteFunc(p.Networks, keep)
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
		s.Count++
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
