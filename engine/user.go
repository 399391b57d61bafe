package engine

import (
	"strconv"
	"time"

	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/profile"
)

// userSignals computes what the profile says of this event.
func (e *Engine) userSignals(ev *Event, s *signals.Set, p *profile.Profile) {
	if !ev.User.created.IsZero() {
		s.User.AgeDays = ev.at.Sub(ev.User.created).Hours() / 24
	}
	if p == nil {
		return
	}
	if s.User.AgeDays == 0 {
		s.User.AgeDays = p.Age(ev.at).Hours() / 24
	}
	s.User.Logins = p.Logins
	s.User.Known = p.Known()
	if !p.Known() {
		return
	}
	s.Device.New = !p.HasDevice(s.Device.ID)
	if s.IP.Country != "" {
		s.IP.CountryNew = !p.HasCountry(s.IP.Country)
	}
	if s.IP.ASN != 0 {
		s.IP.ASNNew = !p.HasASN(strconv.Itoa(s.IP.ASN))
	}
	s.Travel = profile.Travel(p.Last, placeOf(ev, s), e.opts.Travel)
}

func placeOf(ev *Event, s *signals.Set) profile.Place {
	return profile.Place{At: ev.at.Unix(), Lat: s.IP.Lat, Lon: s.IP.Lon,
		AccuracyKm: s.IP.AccuracyKm, Country: s.IP.Country, ASN: s.IP.ASN,
		Network: s.IP.Network, IPVersion: s.IP.Version,
		HasGeo:      s.IP.Country != "" && !s.Missing.Has(signals.FamilyGeo),
		Anonymous:   s.IP.Hosting || s.IP.VPN || s.IP.Tor,
		CountryOnly: s.IP.City == ""}
}

// learn teaches the profile what this event says about the user.
func (e *Engine) learn(ev *Event, d *Decision, h *profile.Handle) {
	s := &d.Signals
	succeeded := ev.Outcome == OutcomeSucceeded
	switch {
	case ev.Type == TypeChallenge && succeeded:
		e.teach(ev, s, h, true)
	case ev.Type == TypeChallenge && ev.Outcome == OutcomeFailed:
		if p := h.Profile(); p != nil {
			p.RiskUntil = ev.at.Add(time.Hour).Unix()
			h.Changed()
		}
	case (ev.Type == TypeLogin || ev.Type == TypeSignup) && succeeded && d.Action == rules.Allow:
		e.teach(ev, s, h, false)
	case ev.Type == TypeSignup && ev.Outcome == OutcomeAttempted && d.Action == rules.Allow:
		e.teach(ev, s, h, false)
	default:
		if p := h.Profile(); p != nil {
			p.Touch(ev.at, ev.User.created)
			h.Changed()
		}
	}
}

func (e *Engine) teach(ev *Event, s *signals.Set, h *profile.Handle, trusted bool) {
	p := h.Create()
	p.Touch(ev.at, ev.User.created)
	asn := ""
	if s.IP.ASN != 0 {
		asn = strconv.Itoa(s.IP.ASN)
	}
	p.Learn(profile.Observation{At: ev.at, Device: s.Device.ID, Country: s.IP.Country,
		ASN: asn, Network: s.IP.Network, Place: placeOf(ev, s), Trusted: trusted})
	h.Changed()
}
