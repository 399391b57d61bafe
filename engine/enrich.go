package engine

import (
	"net/netip"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/device"
	"github.com/verdictrisk/verdict/signals/geo"
	"github.com/verdictrisk/verdict/signals/network"
)

// Enriched are the signals of one event that depend only on the event and
// the reference data — network, device and e-mail — and not on any state,
// so that one computation serves several engines (Engine.Enrich).
type Enriched struct {
	set  signals.Set
	addr netip.Addr
}

// Enrich validates a copy of ev as of now and computes its network, device
// and e-mail signals, for DecideOptions.Enriched. The engines it serves must
// have the same reference data, trusted proxies and network prefixes.
func (e *Engine) Enrich(ev Event, now time.Time) (*Enriched, error) {
	if err := ev.validate(now, e.opts.MaxFutureSkew); err != nil {
		return nil, err
	}
	x := &Enriched{}
	e.enrich(&ev, &x.set)
	x.addr = ev.addr
	return x, nil
}

// apply puts the enriched signals into s for ev, which this engine has
// validated itself; what depends on the engine's own state is its own.
func (x *Enriched) apply(e *Engine, ev *Event, s *signals.Set) {
	counts, lists := s.Velocity, s.IP.Lists
	*s = x.set
	s.Velocity, s.IP.Lists = counts, append(lists[:0], x.set.IP.Lists...)
	ev.addr = x.addr
	s.Device.ClientDataUsual = e.habits.clientDataUsual(ev.Tenant)
}

// enrich fills the event, network, device and e-mail signals.
func (e *Engine) enrich(ev *Event, s *signals.Set) {
	s.Missing = familiesOf(e.unavailable)
	s.Event = signals.Event{Type: ev.Type, Outcome: ev.Outcome, Tenant: ev.Tenant,
		Hour: ev.at.UTC().Hour(), Properties: ev.Properties}
	e.enrichNetwork(ev, s)
	e.enrichDevice(ev, s)
	e.enrichEmail(ev, s)
	s.User.Key = userKey(ev, s)
}

func (e *Engine) enrichNetwork(ev *Event, s *signals.Set) {
	addr := ev.addr
	if e.opts.Proxies.Len() > 0 {
		client, err := e.opts.Proxies.ClientIP(addr, ev.ForwardedFor, ev.Header("forwarded"))
		if err != nil {
			e.met.badForwarded.Inc()
		}
		addr = client
		ev.addr = client
	}
	ip := &s.IP
	ip.Address = addr.String()
	ip.Version = 4
	if addr.Is6() {
		ip.Version = 6
	}
	ip.Kind = network.Kind(addr)
	ip.Private = ip.Kind != network.Public
	ip.Network = network.Prefix(addr, e.opts.NetworkV4Bits, e.opts.NetworkV6Bits).String()
	if ip.Private {
		// Private and reserved addresses are never geolocated nor
		// listed; their geo, ASN and list signals are missing by nature.
		s.Missing.Add(signals.FamilyGeo)
		s.Missing.Add(signals.FamilyASN)
		s.Missing.Add(signals.FamilyLists)
		return
	}
	if e.opts.City != nil {
		if loc, ok := e.opts.City.Lookup(addr); ok {
			ip.Country, ip.Region, ip.City = loc.Country, loc.Region, loc.City
			ip.Lat, ip.Lon, ip.AccuracyKm = loc.Lat, loc.Lon, loc.AccuracyKm
			ip.Timezone = loc.TimeZone
			if ip.Timezone == "" {
				ip.Timezone = geo.ZoneAt(loc.Country, loc.Lat, loc.Lon, loc.CountryOnly)
			}
		} else {
			s.Missing.Add(signals.FamilyGeo)
		}
	}
	if e.opts.ASN != nil {
		if n, ok := e.opts.ASN.Lookup(addr); ok {
			ip.ASN, ip.Org = int(n.ASN), n.Org
		} else {
			s.Missing.Add(signals.FamilyASN)
		}
	}
	// Lists are asked about public addresses only: hosting, VPN and Tor
	// mean nothing for a private address, and blocklists refuse
	// non-public entries anyway.
	if e.opts.Lists != nil && !e.opts.Lists.Match(addr, uint32(ip.ASN), ip) {
		s.Missing.Add(signals.FamilyLists)
	}
}

func present(s string) bool { return strings.TrimSpace(s) != "" }

// readier is a DomainSet that can lack data (a feed without a copy).
type readier interface{ Ready() bool }

func (e *Engine) enrichDevice(ev *Event, s *signals.Set) {
	info := e.opts.Devices.Parse(ev.UserAgent, ev.Header)
	d := &s.Device
	d.Browser, d.BrowserVersion = info.Browser, info.BrowserVersion
	d.OS, d.OSVersion, d.Type = info.OS, info.OSVersion, info.Type
	d.Bot, d.Headless = info.Bot, info.Headless
	id := ev.Device.ID
	d.IDSource = signals.DeviceIDClient
	if !present(id) {
		id, d.IDSource = ev.Device.Fingerprint, signals.DeviceIDFingerprint
	}
	if !present(id) {
		d.IDSource = signals.DeviceIDHeaders
	}
	lang := ev.Header("accept-language")
	if lang == "" {
		lang = ev.Device.Language
	}
	d.ID = device.FingerprintHex(device.Fingerprint(id, ev.UserAgent, lang,
		ev.Device.Timezone, ev.Device.Screen))
	dv := &ev.Device
	d.ClientData = present(dv.ID) || present(dv.Fingerprint) || present(dv.Timezone) ||
		present(dv.Screen)
	d.ClientDataUsual = e.habits.clientDataUsual(ev.Tenant)
	d.Timezone = dv.Timezone
	if dv.Timezone != "" && s.IP.Timezone != "" {
		d.TimezoneGapH, _ = geo.OffsetGap(dv.Timezone, s.IP.Timezone, ev.at)
	}
}

// enrichEmail fills the e-mail signals from the address Validate parsed.
func (e *Engine) enrichEmail(ev *Event, s *signals.Set) {
	a := &ev.User.email
	if a.Normalized == "" {
		return
	}
	s.Email.Normalized, s.Email.Domain, s.Email.Skeleton = a.Normalized, a.Domain, a.Skeleton
	if e.opts.Disposable != nil {
		if r, ok := e.opts.Disposable.(readier); ok && !r.Ready() {
			s.Missing.Add(signals.FamilyEmail)
			return
		}
		s.Email.Disposable = e.opts.Disposable.Contains(a.Domain)
	}
}

// userKey is the identity state is kept under: the user id, else the
// normalised e-mail, else the submitted login name.
func userKey(ev *Event, s *signals.Set) string {
	switch {
	case ev.User.ID != "":
		return ev.User.ID
	case s.Email.Normalized != "":
		return s.Email.Normalized
	case ev.User.Login != "":
		return strings.ToLower(strings.TrimSpace(ev.User.Login))
	}
	return ""
}
