package engine

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/google/uuid"

	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/device"
	"github.com/verdictrisk/verdict/signals/email"
	"github.com/verdictrisk/verdict/signals/network"
	"github.com/verdictrisk/verdict/signals/profile"
)

// DecideOptions change how one decision is made.
type DecideOptions struct {
	// Explain records every rule's result and the signals it read.
	Explain bool
	// DryRun decides without recording: no profile, counter or dedupe
	// change. Counters are read as they are.
	DryRun bool
}

// Decide validates ev, makes its decision and records the event into state.
// The only errors are a *FieldError for an invalid event and ctx's error.
func (e *Engine) Decide(ctx context.Context, ev *Event) (*Decision, error) {
	return e.DecideWith(ctx, ev, DecideOptions{})
}

// DecideWith is Decide with options.
func (e *Engine) DecideWith(ctx context.Context, ev *Event, o DecideOptions) (*Decision, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	now := e.opts.Now()
	if err := ev.Validate(now); err != nil {
		return nil, err
	}
	if ev.at.Sub(now) > e.opts.MaxFutureSkew {
		ev.at = now
	}
	tenantKey := dedupeKey(ev)
	if prev := e.dedupe.get(tenantKey, now); prev != nil && !o.DryRun {
		d := prev.decision()
		d.TookUS = float64(time.Since(start).Nanoseconds()) / 1e3
		e.met.repeated.Inc()
		return d, nil
	}

	st := e.state.Load()
	d := &Decision{ID: newID(), EventID: ev.ID, RulesVersion: st.set.Version,
		Time: ev.at, counters: st.names, tenant: ev.Tenant}
	s := &d.Signals
	s.Velocity = &d.counts
	e.enrich(ev, s)
	d.userKey = s.User.Key

	var h *profile.Handle
	if s.User.Key != "" {
		var err error
		if h, err = e.opts.Profiles.Acquire(profileKey(ev.Tenant, s.User.Key)); err != nil {
			s.Missing.Add(signals.FamilyProfile)
			e.met.storeErrors.Inc()
			h = nil
		}
	}
	if h != nil {
		defer h.Release()
		e.userSignals(ev, s, h.Profile())
	}

	v := e.vms.Get().(*vm.VM)
	defer e.vms.Put(v)
	// Rules and counters read one copy of the signals; the counts they
	// produce are written through the copy's pointer to d.counts.
	env := any(*s)
	e.count(v, st, ev, env, s.Velocity, o.DryRun)
	e.evaluate(v, st, ev, d, env, o.Explain)

	if !o.DryRun {
		if h != nil {
			e.learn(ev, d, h)
		}
		e.dedupe.put(tenantKey, d, now)
	}
	d.TookUS = float64(time.Since(start).Nanoseconds()) / 1e3
	e.met.observe(d, time.Since(start))
	return d, nil
}

func dedupeKey(ev *Event) string {
	if ev.ID == "" {
		return ""
	}
	return ev.Tenant + "\x00" + ev.ID
}

func profileKey(tenant, user string) string { return tenant + "\x00" + user }

func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
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
		// Private and reserved addresses are never geolocated; their
		// geo and ASN signals are missing by nature.
		s.Missing.Add(signals.FamilyGeo)
		s.Missing.Add(signals.FamilyASN)
		return
	}
	if e.opts.City != nil {
		if loc, ok := e.opts.City.Lookup(addr); ok {
			ip.Country, ip.Region, ip.City = loc.Country, loc.Region, loc.City
			ip.Lat, ip.Lon, ip.AccuracyKm = loc.Lat, loc.Lon, loc.AccuracyKm
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
}

func (e *Engine) enrichDevice(ev *Event, s *signals.Set) {
	info := e.opts.Devices.Parse(ev.UserAgent, ev.Header)
	d := &s.Device
	d.Browser, d.BrowserVersion = info.Browser, info.BrowserVersion
	d.OS, d.OSVersion, d.Type = info.OS, info.OSVersion, info.Type
	d.Bot, d.Headless = info.Bot, info.Headless
	id := ev.Device.ID
	if id == "" {
		id = ev.Device.Fingerprint
	}
	lang := ev.Header("accept-language")
	if lang == "" {
		lang = ev.Device.Language
	}
	d.ID = device.FingerprintHex(device.Fingerprint(id, ev.UserAgent, lang,
		ev.Device.Timezone, ev.Device.Screen))
}

func (e *Engine) enrichEmail(ev *Event, s *signals.Set) {
	if ev.User.Email == "" {
		return
	}
	a, err := email.Normalize(ev.User.Email)
	if err != nil {
		// An address the auth server accepted but we cannot parse is
		// kept as given, lower-cased, so that it still keys state.
		s.Email.Normalized = strings.ToLower(strings.TrimSpace(ev.User.Email))
		return
	}
	s.Email.Normalized, s.Email.Domain = a.Normalized, a.Domain
	if e.opts.Disposable != nil {
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

// count updates the velocity counters with this event and reads them.
func (e *Engine) count(v *vm.VM, st *ruleState, ev *Event, env any, counts *signals.Counts,
	dry bool) {
	if len(st.counters) == 0 {
		return
	}
	for i, k := range st.set.Counters {
		key, distinct, ok, err := k.Apply(v, env)
		if err != nil {
			e.ruleError("counter:"+k.Name, err)
			continue
		}
		switch {
		case !ok:
			// The event does not count; rules still read the count so far
			// under its key, when it has one.
			if key != 0 {
				counts[i] = st.counters[i].Peek(key, ev.at)
			}
		case dry:
			counts[i] = st.counters[i].Peek(key, ev.at)
		default:
			counts[i] = st.counters[i].Add(key, distinct, ev.at)
		}
	}
}

// evaluate runs the rules and fills the decision's verdict.
func (e *Engine) evaluate(v *vm.VM, st *ruleState, ev *Event, d *Decision, env any, explain bool) {
	var res rules.Result
	st.set.Evaluate(v, env, ev.received, explain, &res)
	d.Action, d.Score = res.Action, res.Score
	d.Reasons = make([]Reason, 0, len(res.Matched))
	for _, m := range res.Matched {
		d.Reasons = append(d.Reasons, reasonOf(m))
	}
	for _, m := range res.Shadow {
		d.Shadow = append(d.Shadow, reasonOf(m))
	}
	for _, f := range res.Failed {
		e.ruleError(f.Rule.Name, f.Err)
	}
	d.Missing = d.Signals.Missing.Names()
	if explain {
		d.Explain = explainOf(res.Trace, d)
	}
}

func reasonOf(m rules.Match) Reason {
	return Reason{Code: m.Rule.Reason, Rule: m.Rule.Name, Score: m.Rule.Score,
		Action: m.Rule.Action, Message: m.Message}
}

func (e *Engine) ruleError(name string, err error) {
	e.met.ruleErrors.WithLabelValues(name).Inc()
	if e.ruleErrLog.allow(name, time.Now()) {
		e.log.Warn("rule evaluation failed; counted as not matched", "rule", name, "err", err)
	}
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

func explainOf(trace []rules.Trace, d *Decision) []RuleResult {
	out := make([]RuleResult, 0, len(trace))
	for _, t := range trace {
		r := RuleResult{Rule: t.Rule.Name, Matched: t.Matched, Shadow: t.Rule.Shadow,
			Skipped: t.Skipped, TookNS: t.Took.Nanoseconds()}
		if t.Err != nil {
			r.Error = t.Err.Error()
		}
		if len(t.Rule.Reads) > 0 {
			r.Reads = map[string]any{}
			for _, p := range t.Rule.Reads {
				if v, ok := lookupPath(d, p); ok {
					r.Reads[p] = v
				}
			}
		}
		out = append(out, r)
	}
	return out
}
