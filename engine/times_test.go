package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/profile"
)

// TestImplausibleTimesAreRefused: an event time or account creation time
// before 2000, or a creation time after the event, is refused and leaves
// the user's profile as it was (break-test: a 1969 time made a user risky,
// a zero time set first_seen to year 1).
func TestImplausibleTimesAreRefused(t *testing.T) {
	f := newUserFixture(t)
	f.send(t, login("t0", "olga", f.ip("Berlin"), "pc", "succeeded", 0))
	before, _ := f.eng.Profile("", "olga")
	at := f.clock.Format(time.RFC3339)
	tests := []struct {
		name, time, created, field string
	}{
		{"before 1970", "1969-12-31T23:59:30Z", "", "time"},
		{"zero time", "0001-01-01T00:00:00Z", "", "time"},
		{"before 2000", "1999-12-31T23:59:59Z", "", "time"},
		{"created in year 1", at, "0001-01-01T00:00:00Z", "user.created_at"},
		{"created after the event", at, f.clock.Add(72 * time.Hour).Format(time.RFC3339),
			"user.created_at"},
		{"created in the future, no event time", "", "2099-01-01T00:00:00Z", "user.created_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user := map[string]any{"id": "olga"}
			if tc.created != "" {
				user["created_at"] = tc.created
			}
			body := map[string]any{"type": "login", "outcome": "succeeded",
				"ip": f.ip("Berlin"), "user": user}
			if tc.time != "" {
				body["time"] = tc.time
			}
			raw, _ := json.Marshal(body)
			var ev engine.Event
			if err := engine.DecodeEvent(raw, &ev); err != nil {
				t.Fatal(err)
			}
			_, err := f.eng.Decide(context.Background(), &ev)
			var fe *engine.FieldError
			if !errors.As(err, &fe) || fe.Code != engine.CodeInvalidValue || fe.Field != tc.field {
				t.Fatalf("err = %v, want invalid_value on %s", err, tc.field)
			}
		})
	}
	after, _ := f.eng.Profile("", "olga")
	if after.FirstSeen != before.FirstSeen || after.LastSeen != before.LastSeen ||
		after.RiskUntil != 0 || after.Logins != 1 {
		t.Errorf("refused events changed the profile: %+v", after)
	}
	d := f.send(t, login("t1", "olga", f.ip("Berlin"), "pc", "succeeded", time.Hour))
	if d.Signals.User.Risky || d.Signals.User.AgeDays < 0 || d.Signals.User.AgeDays > 1 {
		t.Errorf("after refused events: %+v", d.Signals.User)
	}
}

// TestCreatedWithinTheSkewIsNew: a creation time a little after the event
// (two clocks) is accepted, and the account is new rather than of negative
// age.
func TestCreatedWithinTheSkewIsNew(t *testing.T) {
	f := newUserFixture(t)
	e := event{"type": "signup", "ip": f.ip("Berlin"), "at": time.Duration(0),
		"user": map[string]any{"id": "pia",
			"created_at": f.clock.Add(2 * time.Minute).Format(time.RFC3339)}}
	if d := f.send(t, e); d.Signals.User.AgeDays != 0 {
		t.Errorf("age_days = %v, want 0", d.Signals.User.AgeDays)
	}
}

// TestLateLoginIsNotTravel: a login reported 20 hours after a later one
// (London at 07:00, then São Paulo stamped the day before) is not
// impossible travel, and once learnt it does not become the last login.
func TestLateLoginIsNotTravel(t *testing.T) {
	f := newUserFixture(t)
	london := f.ip("London")
	for i := range 3 {
		f.send(t, login(fmt.Sprint("h", i), "quinn", london, "pc", "succeeded",
			time.Duration(i)*24*time.Hour))
	}
	last := 2 * 24 * time.Hour
	late := f.send(t, login("late", "quinn", f.ip("São Paulo"), "pc", "succeeded", last-20*time.Hour))
	if late.Signals.Travel != (signals.Travel{}) || late.Action == rules.Deny {
		t.Fatalf("late login: %v travel %+v reasons %+v", late.Action, late.Signals.Travel,
			late.Reasons)
	}
	if late.Action != rules.Allow {
		// Learn it anyway, as an analyst would.
		if _, err := f.eng.Feedback("", "late", profile.LabelLegit); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := f.eng.Profile("", "quinn")
	if p.Last == nil || p.Last.Country != "GB" || p.Last.At != f.clock.Add(last).Unix() ||
		!p.HasCountry("BR") {
		t.Fatalf("after the late login: last %+v, countries %+v", p.Last, p.Countries)
	}
	next := f.send(t, login("next", "quinn", london, "pc", "succeeded", last+time.Hour))
	if next.Signals.Travel.Hours != 1 || next.Signals.Travel.Km > 50 {
		t.Errorf("next login's travel from the last one: %+v", next.Signals.Travel)
	}
}
