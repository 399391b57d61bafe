// Package signals defines the values that enrichment computes for one event
// and that rules read: the network, e-mail, device, user, travel, velocity and
// RBA signals. Each sub-package computes one family; the engine fills a Set
// for every event, rules evaluate against it, and the decision returns it.
//
// The field names here are the names analysts write in rules
// (ip.country, device.new, velocity.failed_per_ip) and the names in the
// decision's "signals" object: the expr and json tags must stay equal.
//
// A signal that could not be computed keeps its zero value ("", 0, false) and
// its family is named in Missing, so a rule such as ip.country == "RU" is
// simply false when there is no geo data. Derived flags (ip.country_new,
// travel.impossible) are false when an input they need is missing.
package signals

import "strings"

// Set holds every signal of one event. The engine reuses Sets from a pool, so
// a Set must be Reset before it is filled again.
type Set struct {
	Event    Event    `expr:"event" json:"event"`
	IP       IP       `expr:"ip" json:"ip"`
	Email    Email    `expr:"email" json:"email"`
	Device   Device   `expr:"device" json:"device"`
	User     User     `expr:"user" json:"user"`
	Travel   Travel   `expr:"travel" json:"travel"`
	Velocity *Counts  `expr:"velocity" json:"-"`
	RBA      RBA      `expr:"rba" json:"rba"`
	Missing  Families `expr:"-" json:"-"`
}

// Event carries the parts of the event itself that rules may read.
type Event struct {
	Type    string `expr:"type" json:"type"`
	Outcome string `expr:"outcome" json:"outcome"`
	Tenant  string `expr:"tenant" json:"tenant,omitempty"`
	// Hour is the hour of day (0–23, UTC) of the event time.
	Hour int `expr:"hour" json:"hour"`
	// Properties is the free-form object the auth server sent, or nil.
	Properties map[string]any `expr:"properties" json:"-"`
}

// IP holds the network signals of the client address.
type IP struct {
	// Address is the resolved client address in canonical text form
	// (IPv4-mapped IPv6 is shown as IPv4).
	Address string `expr:"address" json:"address"`
	Version int    `expr:"version" json:"version"`
	// Network is the address's prefix used for velocity keys: its /24 for
	// IPv4 and its /64 for IPv6 by default.
	Network string `expr:"network" json:"network"`
	// Kind is "public", "private", "loopback", "cgnat", "link_local",
	// "multicast", "unspecified" or "reserved".
	Kind    string `expr:"kind" json:"kind"`
	Private bool   `expr:"private" json:"private"`

	Country    string  `expr:"country" json:"country,omitempty"`
	Region     string  `expr:"region" json:"region,omitempty"`
	City       string  `expr:"city" json:"city,omitempty"`
	Lat        float64 `expr:"lat" json:"lat,omitempty"`
	Lon        float64 `expr:"lon" json:"lon,omitempty"`
	AccuracyKm float64 `expr:"accuracy_km" json:"accuracy_km,omitempty"`
	ASN        int     `expr:"asn" json:"asn,omitempty"`
	Org        string  `expr:"org" json:"org,omitempty"`
	// Timezone is the IANA time zone clocks show where the address is:
	// the geo source's when it has one, else the zone of the country
	// nearest to the address's place (tz database zone.tab). Empty when
	// the country is unknown, or is known only to the country in a
	// country of several zones.
	Timezone string `expr:"timezone" json:"timezone,omitempty"`

	// Hosting, VPN and Tor are true when a network list of that role
	// holds the address or its AS number (feeds/refdata, docs/signals.md).
	Hosting bool `expr:"hosting" json:"hosting"`
	VPN     bool `expr:"vpn" json:"vpn"`
	Tor     bool `expr:"tor" json:"tor"`
	// Blocklisted and Allowlisted are true when a list of role block or
	// allow holds it. The flags above are not cleared by an allowlist:
	// rules decide what an allowlist excuses.
	Blocklisted bool `expr:"blocklisted" json:"blocklisted"`
	Allowlisted bool `expr:"allowlisted" json:"allowlisted"`
	// Lists names every list that holds the address or its AS number.
	Lists []string `expr:"lists" json:"lists,omitempty"`

	// CountryNew is true when the user has logged in before and never from
	// this country. It is false on a user's first login and when the
	// country is unknown.
	CountryNew bool `expr:"country_new" json:"country_new"`
	// ASNNew is CountryNew for the network operator.
	ASNNew bool `expr:"asn_new" json:"asn_new"`
	// NetworkNew is CountryNew for ip.network (the address's /24 or /64):
	// the user has logged in before and never from this network.
	NetworkNew bool `expr:"network_new" json:"network_new"`
}

// Email holds the signals of the event's e-mail address.
type Email struct {
	// Normalized is the canonical address (signals/email.Normalize): the
	// identity key when the event has no user id.
	Normalized string `expr:"normalized" json:"normalized,omitempty"`
	// Domain is the address's domain in lower-case punycode.
	Domain string `expr:"domain" json:"domain,omitempty"`
	// Skeleton is the local part with look-alike characters folded
	// ("pаypal" with a Cyrillic "а" reads "paypal").
	Skeleton string `expr:"skeleton" json:"skeleton,omitempty"`
	// Disposable is true when the domain or a parent is a disposable-mail
	// provider.
	Disposable bool `expr:"disposable" json:"disposable"`
}

// Device holds the signals of the client device and its user agent.
type Device struct {
	// ID is the stable fingerprint of the device (hex).
	ID string `expr:"id" json:"id"`
	// New is true when the user has logged in before and never from this
	// device; false on a user's first login.
	New            bool   `expr:"new" json:"new"`
	Browser        string `expr:"browser" json:"browser,omitempty"`
	BrowserVersion string `expr:"browser_version" json:"browser_version,omitempty"`
	OS             string `expr:"os" json:"os,omitempty"`
	OSVersion      string `expr:"os_version" json:"os_version,omitempty"`
	// Type is "desktop", "mobile", "tablet", "bot" or "other".
	Type     string `expr:"type" json:"type,omitempty"`
	Bot      bool   `expr:"bot" json:"bot"`
	Headless bool   `expr:"headless" json:"headless"`
	// Trusted is true when the user passed a challenge on this device, or
	// an analyst confirmed a login from it.
	Trusted bool `expr:"trusted" json:"trusted"`
	// IDSource says what ID was made from: "device_id" (the client's
	// device id or cookie), "fingerprint" (the client's fingerprint) or
	// "headers" (the user agent, languages, timezone and screen: shared by
	// everyone with the same browser set-up, so weaker).
	IDSource string `expr:"id_source" json:"id_source"`
	// SeenUsers is the number of distinct users seen on this device over
	// the last 30 days (engine.Options.SeenUsersWindow), this event's user
	// included. It is 0 when the ID came from headers only.
	SeenUsers int `expr:"seen_users" json:"seen_users"`
	// ClientData is true when the event carries facts that only code
	// running on the client can gather: a device id, a fingerprint, a time
	// zone or a screen size. A script replaying the login request has none.
	ClientData bool `expr:"client_data" json:"client_data"`
	// ClientDataUsual is the share (0–1) of the tenant's recent allowed
	// successful logins that carried client data, once there have been
	// enough of them to tell (engine.Options.HabitMinLogins); 0 before. A
	// login without client data is suspect only where they usually have it.
	ClientDataUsual float64 `expr:"client_data_usual" json:"client_data_usual"`
	// Timezone is the IANA time zone the device's clock is set to, as the
	// client reported it (event device.timezone); empty when not sent.
	Timezone string `expr:"timezone" json:"timezone,omitempty"`
	// TimezoneGapH is how many hours apart, at the event's time, the
	// device's clock (device.timezone) and the clocks at the address
	// (ip.timezone) are. 0 when either zone is unknown.
	TimezoneGapH float64 `expr:"timezone_gap_h" json:"timezone_gap_h"`
}

// Where a device ID came from (Device.IDSource).
const (
	DeviceIDClient      = "device_id"
	DeviceIDFingerprint = "fingerprint"
	DeviceIDHeaders     = "headers"
)

// User holds what the engine knows of the account from its profile.
type User struct {
	// Key is the identity the state is kept under: the user id, else the
	// normalised e-mail, else the submitted login name.
	Key string `expr:"key" json:"key,omitempty"`
	// Known is true when the user has a profile with at least one
	// successful login.
	Known bool `expr:"known" json:"known"`
	// AgeDays is the account age from user.created_at, else from the first
	// time the engine saw the user; 0 when unknown.
	AgeDays float64 `expr:"age_days" json:"age_days"`
	// Logins is the number of logins the profile learnt from: allowed
	// successful logins, allowed signups and passed challenges. It is the
	// size of the history behind rba.score.
	Logins int `expr:"logins" json:"logins"`
	// Risky is true for a while after a failed challenge (1 hour) or a login
	// reported as fraud (24 hours).
	Risky bool `expr:"risky" json:"risky"`
	// HourShare is the share of the user's logins within an hour of this
	// event's hour of the day (UTC): 0 at an hour they never log in, about
	// 0.125 for someone who logs in at any hour. 0 for an unknown user.
	HourShare float64 `expr:"hour_share" json:"hour_share"`
	// DaysSinceLast is the time since the user's last successful login.
	DaysSinceLast float64 `expr:"days_since_last" json:"days_since_last"`
}

// Travel compares this event's place with the user's last successful login.
type Travel struct {
	Km    float64 `expr:"km" json:"km"`
	Hours float64 `expr:"hours" json:"hours"`
	Kmh   float64 `expr:"kmh" json:"kmh"`
	// Impossible is true when the speed needed exceeds the configured limit
	// once both locations' accuracy radii are taken off the distance.
	Impossible bool `expr:"impossible" json:"impossible"`
	// Anonymous is true when this or the previous login came through a
	// hosting, VPN or Tor network: the hop is reported as such, not as
	// travel, and Impossible stays false.
	Anonymous bool `expr:"anonymous" json:"anonymous"`
}

// RBA is the statistical login-risk score of Freeman et al. (see
// docs/rba.md). All fields are 0 when the user has no login history yet.
type RBA struct {
	// Score is p(user|attack)/p(user|legit) × Π p(value)/p(value|user):
	// below 1 the login looks like the user's, above 1 like anyone's.
	Score float64 `expr:"score" json:"score"`
	// Log10 is log10(Score), the scale the papers' thresholds use.
	Log10 float64 `expr:"log10" json:"log10"`
	// IP and UserAgent are the two features' factors p(value)/p(value|user).
	IP        float64 `expr:"ip" json:"ip"`
	UserAgent float64 `expr:"user_agent" json:"user_agent"`
}

// MaxCounters is the most velocity counters one rule set may declare.
const MaxCounters = 64

// Counts holds the value of each counter declared in the rule files for this
// event, the event itself included when it matches the counter. The rules
// compiler turns velocity.<name> into an index into this array. Set holds a
// pointer to it so that the Set stays small: the engine copies the Set once
// per event to hand it to the rules.
type Counts [MaxCounters]int

// Reset clears s for reuse and keeps its allocated slices and counts.
func (s *Set) Reset() {
	lists, counts := s.IP.Lists[:0], s.Velocity
	*s = Set{}
	if counts != nil {
		*counts = Counts{}
	}
	s.IP.Lists, s.Velocity = lists, counts
}

// Family names a group of signals that is computed, or found missing, as one.
type Family uint16

// The signal families. Their names appear in a decision's "missing" list.
const (
	FamilyGeo Family = 1 << iota
	FamilyASN
	FamilyLists
	FamilyUserAgent
	FamilyProfile
	FamilyVelocity
	FamilyTravel
	FamilyRBA
	FamilyEmail
)

var familyNames = []struct {
	f    Family
	name string
}{
	{FamilyGeo, "geo"}, {FamilyASN, "asn"}, {FamilyLists, "network_lists"},
	{FamilyUserAgent, "user_agent"}, {FamilyProfile, "profile"},
	{FamilyVelocity, "velocity"}, {FamilyTravel, "travel"}, {FamilyRBA, "rba"},
	{FamilyEmail, "email_domains"},
}

// Families is a set of Family values.
type Families uint16

// Add marks f as part of the set.
func (m *Families) Add(f Family) { *m |= Families(f) }

// Has reports whether f is in the set.
func (m Families) Has(f Family) bool { return m&Families(f) != 0 }

// Names returns the names of the families in the set, in a fixed order.
func (m Families) Names() []string {
	if m == 0 {
		return nil
	}
	var out []string
	for _, fn := range familyNames {
		if m.Has(fn.f) {
			out = append(out, fn.name)
		}
	}
	return out
}

// String returns the names joined by commas.
func (m Families) String() string { return strings.Join(m.Names(), ",") }

// FamilyByName returns the family with the given name.
func FamilyByName(name string) (Family, bool) {
	for _, fn := range familyNames {
		if fn.name == name {
			return fn.f, true
		}
	}
	return 0, false
}
