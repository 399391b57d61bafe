package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/email"
	"github.com/verdictrisk/verdict/signals/profile"
	"github.com/verdictrisk/verdict/signals/rba"
	"github.com/verdictrisk/verdict/signals/velocity"
)

// ErrUnknownEvent is returned by Feedback for an event id the engine keeps
// no lesson of: never seen, without a successful login, signup or
// challenge, older than the user's last profile.MaxLessons such events, or
// erased.
var ErrUnknownEvent = errors.New("no lesson is kept for this event")

// DecodeJSON reads one JSON object strictly into v (unknown or duplicate
// fields, wrong types and trailing data are errors), reporting a problem as
// a *FieldError as DecodeEvent does. The API uses it for its other bodies.
func DecodeJSON(data []byte, v any) error {
	if err := json.Unmarshal(data, v, json.RejectUnknownMembers(true)); err != nil {
		return explain(data, err)
	}
	return nil
}

// Feedback results (FeedbackResult.Result).
const (
	// FeedbackUnlearned: the login was taught and has been taken back.
	FeedbackUnlearned = "unlearned"
	// FeedbackNothingLearnt: a fraud label on a login that taught nothing
	// (it was stepped up or denied, or already taken back).
	FeedbackNothingLearnt = "nothing_learnt"
	// FeedbackConfirmed: a legit label on a login that was taught; its
	// device and place are now trusted.
	FeedbackConfirmed = "confirmed"
	// FeedbackLearned: a legit label on a login that was not allowed; it
	// has now been taught, its device and place trusted.
	FeedbackLearned = "learned"
)

// FeedbackResult says what feedback on an event changed.
type FeedbackResult struct {
	EventID string `json:"event_id"`
	Tenant  string `json:"tenant,omitempty"`
	User    string `json:"user"`
	Label   string `json:"label"`
	Result  string `json:"result"`
	// Removed lists what the profile forgot (fraud): "device", "country",
	// "asn", "network", "ip", "user_agent", "browser", "os", "device_type"
	// for each value that only this login had taught.
	Removed []string `json:"removed,omitempty"`
	// RiskyUntil is set when a fraud label marked the user risky (and, for
	// a repeated fraud label, while the user still is).
	RiskyUntil *time.Time `json:"risky_until,omitempty"`
	// Repeated is set when the event already had this label: nothing
	// changed.
	Repeated bool `json:"repeated,omitempty"`
}

// Feedback applies an analyst's or the auth server's label to an earlier
// event: profile.LabelFraud takes back what the event taught the profile
// and the RBA model and marks the user risky for a day; profile.LabelLegit
// confirms it (its device and place become trusted) or, when the event was
// not allowed, teaches it now. Feedback is idempotent: the same label twice
// changes nothing the second time (Repeated).
func (e *Engine) Feedback(tenant, eventID, label string) (FeedbackResult, error) {
	res := FeedbackResult{EventID: eventID, Tenant: tenant, Label: label}
	if err := checkFeedback(tenant, eventID, label); err != nil {
		return res, err
	}
	key := lessonKey(tenant, eventID)
	l, err := e.opts.Profiles.Lesson(key)
	if err != nil {
		return res, err
	}
	if l == nil {
		return res, ErrUnknownEvent
	}
	h, err := e.opts.Profiles.Acquire(l.User)
	if err != nil {
		return res, err
	}
	defer h.Release()
	// Read again under the profile's lock: feedback on one event may race.
	if l, err = e.opts.Profiles.Lesson(key); err != nil || l == nil || h.Profile() == nil {
		return res, errors.Join(err, ErrUnknownEvent)
	}
	res.User = strings.TrimPrefix(l.User, tenant+"\x00")
	if l.Label == label {
		e.repeatedLabel(h.Profile(), l, &res)
		return res, nil
	}
	if label == profile.LabelFraud {
		e.unlearn(h, l, &res)
	} else {
		e.confirm(h, l, &res)
	}
	l.Label = label
	h.Update(key, l)
	h.Changed()
	return res, nil
}

// checkFeedback checks the fields of a feedback request as Validate checks
// an event's: an event id longer than any event's cannot name one.
func checkFeedback(tenant, eventID, label string) error {
	switch {
	case eventID == "":
		return missing("event_id")
	case label == "":
		return missing("label")
	case label != profile.LabelFraud && label != profile.LabelLegit:
		return invalid("label", "unknown label %q; expected fraud or legit", clip(label))
	}
	if err := checkLen("event_id", eventID, maxIDLen); err != nil {
		return err
	}
	return checkLen("tenant", tenant, maxStringLen)
}

// repeatedLabel answers a label the event already has, changing nothing: a
// second fraud report of one login does not extend the user's risky time.
func (e *Engine) repeatedLabel(p *profile.Profile, l *profile.Lesson, res *FeedbackResult) {
	res.Repeated = true
	if l.Label == profile.LabelLegit {
		res.Result = FeedbackConfirmed
		return
	}
	res.Result = FeedbackNothingLearnt
	if p.RiskyAt(e.opts.Now()) {
		res.RiskyUntil = riskyUntil(p)
	}
}

// unlearn applies a fraud label.
func (e *Engine) unlearn(h *profile.Handle, l *profile.Lesson, res *FeedbackResult) {
	p := h.Profile()
	res.Result = FeedbackNothingLearnt
	if l.Taught {
		before := p.Clone()
		p.Unlearn(l.Obs, l.Prev)
		e.opts.RBA.Unlearn(res.Tenant, loginOf(&l.Obs), p.Logins == 0)
		l.Taught = false
		res.Result, res.Removed = FeedbackUnlearned, forgotten(before, p, &l.Obs)
	}
	p.RiskUntil = max(p.RiskUntil, e.opts.Now().Add(fraudRisk).Unix())
	res.RiskyUntil = riskyUntil(p)
}

// riskyUntil is the end of the user's risky time as the profile keeps it.
func riskyUntil(p *profile.Profile) *time.Time {
	t := time.Unix(p.RiskUntil, 0).UTC()
	return &t
}

// confirm applies a legit label.
func (e *Engine) confirm(h *profile.Handle, l *profile.Lesson, res *FeedbackResult) {
	p := h.Profile()
	if l.Taught {
		p.Trust(l.Obs)
		res.Result = FeedbackConfirmed
		return
	}
	o := l.Obs
	o.Trusted = true
	first := p.Logins == 0
	p.Learn(o)
	e.opts.RBA.Learn(res.Tenant, loginOf(&o), first)
	l.Taught = true
	res.Result = FeedbackLearned
}

// forgotten names the values of o that before had and after has not.
func forgotten(before, after *profile.Profile, o *profile.Observation) []string {
	var out []string
	for _, c := range []struct {
		name   string
		b, a   []profile.Seen
		needle string
	}{
		{"device", before.Devices, after.Devices, o.Device},
		{"country", before.Countries, after.Countries, o.Country},
		{"asn", before.ASNs, after.ASNs, o.ASN},
		{"network", before.Networks, after.Networks, o.Network},
		{"ip", before.IPs, after.IPs, o.IP},
		{"user_agent", before.Agents, after.Agents, o.Agent},
		{"browser", before.Browsers, after.Browsers, o.Browser},
		{"os", before.OSes, after.OSes, o.OS},
		{"device_type", before.DeviceTypes, after.DeviceTypes, o.DeviceType},
	} {
		if profile.Count(c.b, c.needle) > 0 && profile.Count(c.a, c.needle) == 0 {
			out = append(out, c.name)
		}
	}
	return out
}

// Erasure says what Erase removed.
type Erasure struct {
	User   string `json:"user"`
	Tenant string `json:"tenant,omitempty"`
	// Profile is true when the user had a profile.
	Profile bool `json:"profile"`
	// Lessons is the number of recent events' lessons removed.
	Lessons int `json:"lessons"`
	// RBALogins is the number of the user's logins taken out of the RBA
	// model's global tables.
	RBALogins int `json:"rba_logins"`
	// VelocityEntries is the number of counter keys and distinct values
	// removed: those kept under the user's key or one of its aliases
	// (hashed e-mail and login name).
	VelocityEntries int `json:"velocity_entries"`
	// CachedDecisions is the number of remembered decisions (the dedupe
	// memory) of the user removed.
	CachedDecisions int `json:"cached_decisions"`
	// Keys are the keys erased when the user was named by an e-mail
	// address not in normal form: the address as given and normalised (see
	// UserKeys). Absent when the user was named by its key alone.
	Keys []string `json:"keys,omitempty"`
}

// UserKeys are the keys the user named id may be kept under: id as given
// and, when id is an e-mail address, its normalised form, the key of a user
// known by e-mail alone (ALICE@EXAMPLE.COM is kept as alice@example.com).
// Both, because a user id that looks like an address is kept as given.
func UserKeys(id string) []string {
	keys := []string{id}
	if a, err := email.Normalize(id); err == nil && a.Normalized != id {
		keys = append(keys, a.Normalized)
	}
	return keys
}

// Erase removes everything the engine keeps of a user (the key as the
// decision's signals.user.key shows it, or an e-mail address in any form:
// see UserKeys; a user whose events came under an id and an e-mail is
// erased once per key): the profile and its lessons on disk and in memory, the user's share of the RBA tables, velocity entries kept
// under the user's key or aliases, and remembered decisions. What was
// erased is on disk when Erase returns (velocity counters are on disk at the
// next snapshot). Counters keyed by other things (an address, a device) are
// not personal to the user and stay.
func (e *Engine) Erase(tenant, user string) (Erasure, error) {
	res, err := EraseUser(UserState{Profiles: e.opts.Profiles, RBA: e.opts.RBA,
		Velocity: e.opts.Velocity}, tenant, user)
	if err == nil {
		for _, k := range UserKeys(user) {
			res.CachedDecisions += e.dedupe.forget(tenant, k)
		}
	}
	return res, err
}

// UserState is the per-user state an engine keeps, for tools that work on a
// stopped service's state folder (verdict profile delete).
type UserState struct {
	Profiles *profile.Store
	RBA      *rba.Model
	Velocity *velocity.Store
}

// EraseUser is Erase on state without an engine (there are then no
// remembered decisions to drop).
func EraseUser(st UserState, tenant, user string) (Erasure, error) {
	res := Erasure{User: user, Tenant: tenant}
	if user == "" {
		return res, missing("user")
	}
	keys := UserKeys(user)
	if len(keys) > 1 {
		res.Keys = keys
	}
	for _, k := range keys {
		if err := eraseKey(st, tenant, k, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// eraseKey erases what is kept under one user key, adding to res.
func eraseKey(st UserState, tenant, key string, res *Erasure) error {
	er, err := st.Profiles.Delete(profileKey(tenant, key))
	if err != nil {
		return fmt.Errorf("erase user: %w", err)
	}
	hashes := []uint64{rules.HashKey(key)}
	if p := er.Profile; p != nil {
		res.Profile = true
		res.Lessons += er.Lessons
		forgetRBA(st.RBA, tenant, p)
		res.RBALogins += p.Logins
		hashes = append(hashes, p.Aliases...)
	}
	seed := tenantSeed(tenant)
	for i := range hashes {
		hashes[i] = mixTenant(hashes[i], seed)
	}
	// TODO: write the velocity snapshot at once; until the next one (a minute) the file keeps them.
	res.VelocityEntries += st.Velocity.Forget(hashes...)
	return nil
}

func forgetRBA(m *rba.Model, tenant string, p *profile.Profile) {
	if p.Logins > 0 {
		m.Forget(tenant, p.Logins, history{p}.each)
	}
}

// AttachRBA creates an RBA model kept in the profile store's database (what
// engine.New does when Options.RBA is nil).
func AttachRBA(st *profile.Store, opts rba.Options) (*rba.Model, error) {
	m := rba.New(opts)
	if err := st.Attach(rbaAttachment{m}); err != nil {
		return nil, err
	}
	return m, nil
}

// Profile returns a copy of the user's profile, or nil when there is none.
// An e-mail address not in normal form finds the profile kept under it as
// given, else under its normal form (UserKeys); the profile's Key says which.
func (e *Engine) Profile(tenant, user string) (*profile.Profile, error) {
	return UserProfile(e.opts.Profiles, tenant, user)
}

// UserProfile is Profile on a profile store without an engine (verdict
// profile show on a stopped service's state folder).
func UserProfile(st *profile.Store, tenant, user string) (*profile.Profile, error) {
	for _, k := range UserKeys(user) {
		if p, err := st.Get(profileKey(tenant, k)); err != nil || p != nil {
			return p, err
		}
	}
	return nil, nil
}

// SweepProfiles erases the profiles of users not seen within the profile
// store's horizon before now, taking their logins out of the RBA tables. It
// returns how many it erased.
func (e *Engine) SweepProfiles(now time.Time) (int, error) {
	st := e.opts.Profiles
	return st.Sweep(now.Add(-st.Horizon()), func(p *profile.Profile) {
		tenant, _, _ := strings.Cut(p.Key, "\x00")
		forgetRBA(e.opts.RBA, tenant, p)
	})
}
