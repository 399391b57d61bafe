package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/profile"
	"github.com/verdictrisk/verdict/signals/rba"
)

// userFixture is an engine over the default rules and geotest data whose
// RBA model the test can inspect.
type userFixture struct {
	*fixture
	rba *rba.Model
}

func newUserFixture(t testing.TB) *userFixture {
	t.Helper()
	m := rba.New(rba.Options{})
	f := newFixtureWith(t, func(f *fixture, o *engine.Options) {
		o.RBA = m
		// Events are dated from f.clock on; the engine's clock is a year
		// later, so that none is clamped as being in the future.
		o.Now = func() time.Time { return f.clock.Add(365 * 24 * time.Hour) }
	})
	return &userFixture{fixture: f, rba: m}
}

// event is one event of a user test, as JSON fields.
type event map[string]any

func (f *userFixture) send(t testing.TB, e event) *engine.Decision {
	t.Helper()
	if _, ok := e["type"]; !ok {
		e["type"] = "login"
	}
	if _, ok := e["user_agent"]; !ok {
		e["user_agent"] = chromeUA
	}
	if at, ok := e["at"].(time.Duration); ok {
		e["time"] = f.clock.Add(at).Format(time.RFC3339)
		delete(e, "at")
	}
	raw, _ := json.Marshal(e)
	var ev engine.Event
	if err := engine.DecodeEvent(raw, &ev); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	d, err := f.eng.Decide(context.Background(), &ev)
	if err != nil {
		t.Fatalf("decide %s: %v", raw, err)
	}
	return d
}

func login(id, user, ip, device, outcome string, at time.Duration) event {
	return event{"id": id, "user": map[string]any{"id": user}, "ip": ip,
		"device": map[string]any{"id": device}, "outcome": outcome, "at": at}
}

// TestRBALearnsOnlyFromAllowedSuccesses: failures, stepped-up or denied
// logins and failed challenges never change the RBA tables; allowed logins
// and passed challenges do.
func TestRBALearnsOnlyFromAllowedSuccesses(t *testing.T) {
	f := newUserFixture(t)
	home := f.ip("Berlin")
	for i := range 3 {
		f.send(t, login(fmt.Sprint("ok", i), "alice", home, "pc", "succeeded",
			time.Duration(i)*24*time.Hour))
	}
	want, _, _ := f.rba.TenantStats("")
	if want != 3 {
		t.Fatalf("tables hold %d logins after three allowed ones", want)
	}
	attacker := f.ip("São Paulo")
	steps := []event{
		login("f1", "alice", attacker, "evil", "failed", 73*time.Hour),
		login("a1", "alice", attacker, "evil", "attempted", 73*time.Hour),
		login("s1", "alice", attacker, "evil", "succeeded", 73*time.Hour), // stepped up
		{"id": "c1", "type": "challenge", "outcome": "failed", "user": map[string]any{"id": "alice"},
			"ip": attacker, "at": 74 * time.Hour},
	}
	for _, e := range steps {
		d := f.send(t, e)
		if e["outcome"] == "succeeded" && d.Action == rules.Allow {
			t.Fatalf("the attacker's login was allowed: %+v", d.Reasons)
		}
	}
	for i := range 12 { // stuffing from one address: denied
		f.send(t, login(fmt.Sprint("st", i), fmt.Sprint("victim", i), f.ip("Sputnik"), "",
			"failed", 75*time.Hour+time.Duration(i)*time.Second))
	}
	if d := f.send(t, login("st-ok", "victim0", f.ip("Sputnik"), "", "succeeded",
		75*time.Hour+time.Minute)); d.Action != rules.Deny {
		t.Fatalf("success during stuffing: %v", d.Action)
	}
	if got, _, _ := f.rba.TenantStats(""); got != want {
		t.Fatalf("tables hold %d logins after failures and refusals, want %d", got, want)
	}
	f.send(t, event{"id": "c2", "type": "challenge", "outcome": "succeeded",
		"user": map[string]any{"id": "alice"}, "ip": home, "device": map[string]any{"id": "pc"},
		"at": 76 * time.Hour})
	if got, users, _ := f.rba.TenantStats(""); got != want+1 || users != 1 {
		t.Errorf("after a passed challenge: %d logins of %d users, want %d of 1", got, users, want+1)
	}
}

func TestRBAScoreSeparatesTheOwnerFromAnAttacker(t *testing.T) {
	f := newUserFixture(t)
	first := f.send(t, login("b0", "bob", f.ip("London"), "pc", "succeeded", 0))
	if first.Signals.RBA.Score != 0 {
		t.Errorf("first login scored %v without history", first.Signals.RBA)
	}
	// Other users make the global tables.
	for i, city := range []string{"Tokyo", "Sydney", "New York", "Berlin"} {
		f.send(t, login(fmt.Sprint("o", i), fmt.Sprint("other", i), f.ip(city), "x",
			"succeeded", time.Hour))
	}
	for i := range 4 {
		f.send(t, login(fmt.Sprint("b", i+1), "bob", f.ip("London"), "pc", "succeeded",
			time.Duration(i+1)*24*time.Hour))
	}
	home := f.send(t, login("b9", "bob", f.ip("London"), "pc", "succeeded", 6*24*time.Hour))
	away := f.send(t, event{"id": "x9", "user": map[string]any{"id": "bob"}, "ip": f.ip("Sputnik"),
		"outcome": "succeeded", "user_agent": firefoxUA, "at": 6*24*time.Hour + time.Hour})
	h, a := home.Signals.RBA, away.Signals.RBA
	if h.Log10 >= 0 || a.Log10 < 1 || a.Log10-h.Log10 < 2 {
		t.Errorf("rba log10 at home %.2f, attacker %.2f: want home < 0, attacker >= 1", h.Log10, a.Log10)
	}
	if a.IP != 4 {
		t.Errorf("an address, operator and country never seen: IP factor %v, want 4", a.IP)
	}
}

// TestFeedback: fraud takes a login back and marks the user risky; legit on
// a stepped-up login teaches it.
func TestFeedback(t *testing.T) {
	f := newUserFixture(t)
	home := f.ip("Berlin")
	for i := range 3 {
		f.send(t, login(fmt.Sprint("h", i), "carol", home, "pc", "succeeded", time.Duration(i)*time.Hour))
	}
	// A new device at home is allowed (new_device adds little)...
	sneaky := f.send(t, login("sneaky", "carol", home, "tablet", "succeeded", 5*time.Hour))
	if sneaky.Action != rules.Allow {
		t.Fatalf("new device at home: %v %+v", sneaky.Action, sneaky.Reasons)
	}
	// ...but it was fraud.
	res, err := f.eng.Feedback("", "sneaky", profile.LabelFraud)
	if err != nil || res.Result != engine.FeedbackUnlearned || res.User != "carol" ||
		!contains(res.Removed, "device") || res.RiskyUntil == nil {
		t.Fatalf("fraud feedback: %+v %v", res, err)
	}
	// The same label again, an hour later, changes nothing: the user's
	// risky time is not extended.
	f.clock = f.clock.Add(time.Hour)
	again, _ := f.eng.Feedback("", "sneaky", profile.LabelFraud)
	if again.Result != engine.FeedbackNothingLearnt || !again.Repeated ||
		again.RiskyUntil == nil || again.RiskyUntil.Unix() != res.RiskyUntil.Unix() {
		t.Errorf("second fraud label: %+v, first until %v", again, res.RiskyUntil)
	}
	if p, _ := f.eng.Profile("", "carol"); p.RiskUntil != res.RiskyUntil.Unix() {
		t.Errorf("risk_until %d after a repeated label, want %d", p.RiskUntil, res.RiskyUntil.Unix())
	}
	d := f.send(t, login("back", "carol", home, "tablet", "succeeded", 6*time.Hour))
	if !d.Signals.Device.New || !d.Signals.User.Risky || d.Action == rules.Allow {
		t.Errorf("after fraud feedback: new %v risky %v action %v", d.Signals.Device.New,
			d.Signals.User.Risky, d.Action)
	}
	if p, _ := f.eng.Profile("", "carol"); p.Logins != 3 {
		t.Errorf("logins after unlearning = %d, want 3", p.Logins)
	}

	// A stepped-up login confirmed as legit is learnt, its device trusted.
	trip := f.send(t, login("trip", "carol", f.ip("Tokyo"), "phone", "succeeded", 30*time.Hour))
	if trip.Action == rules.Allow {
		t.Fatalf("new device in a new country allowed: %+v", trip.Reasons)
	}
	res, err = f.eng.Feedback("", "trip", profile.LabelLegit)
	if err != nil || res.Result != engine.FeedbackLearned {
		t.Fatalf("legit feedback: %+v %v", res, err)
	}
	d = f.send(t, login("trip2", "carol", f.ip("Tokyo"), "phone", "succeeded", 31*time.Hour))
	if d.Signals.Device.New || !d.Signals.Device.Trusted || d.Signals.IP.CountryNew {
		t.Errorf("after legit feedback: %+v", d.Signals.Device)
	}
	// Only the fraud report of the day still steps carol up.
	if len(d.Reasons) != 1 || d.Reasons[0].Code != "recent_failed_challenge" {
		t.Errorf("after legit feedback: %v %+v", d.Action, d.Reasons)
	}
	if res, _ := f.eng.Feedback("", "trip", profile.LabelLegit); res.Result != engine.FeedbackConfirmed {
		t.Errorf("legit on a taught login: %+v", res)
	}
}

func TestFeedbackErrors(t *testing.T) {
	f := newUserFixture(t)
	f.send(t, login("e1", "dave", f.ip("Berlin"), "pc", "failed", 0))
	var fe *engine.FieldError
	for _, tc := range []struct {
		id, label   string
		unknown     bool
		code, field string
	}{
		{"nope", "fraud", true, "", ""},
		{"e1", "fraud", true, "", ""}, // a failed login teaches nothing and keeps no lesson
		{"e1", "maybe", false, "invalid_value", "label"},
		{"e1", "", false, "missing_field", "label"},
		{"", "fraud", false, "missing_field", "event_id"},
		{strings.Repeat("e", 300), "fraud", false, "too_long", "event_id"},
	} {
		_, err := f.eng.Feedback("", tc.id, tc.label)
		switch {
		case tc.unknown && !errors.Is(err, engine.ErrUnknownEvent):
			t.Errorf("%q: %v, want ErrUnknownEvent", tc.id, err)
		case !tc.unknown && (!errors.As(err, &fe) || fe.Field != tc.field || fe.Code != tc.code):
			t.Errorf("%.20q %q: %v, want %s on %s", tc.id, tc.label, err, tc.code, tc.field)
		}
	}
}

func TestEraseRemovesEverythingOfTheUser(t *testing.T) {
	f := newUserFixture(t)
	home := f.ip("Berlin")
	e := login("er1", "erin", home, "pc", "succeeded", 0)
	e["user"] = map[string]any{"id": "erin", "email": "Erin.Example@Gmail.com"}
	f.send(t, e)
	for i := range 3 {
		f.send(t, login(fmt.Sprint("erf", i), "erin", f.ip("Tokyo"), "x", "failed", time.Minute))
	}
	f.send(t, login("other", "frank", home, "pc2", "succeeded", time.Minute))
	before, _, _ := f.rba.TenantStats("")

	res, err := f.eng.Erase("", "erin")
	if err != nil || !res.Profile || res.Lessons != 1 || res.RBALogins != 1 ||
		res.VelocityEntries == 0 || res.CachedDecisions != 4 {
		t.Fatalf("erase: %+v %v", res, err)
	}
	if p, _ := f.eng.Profile("", "erin"); p != nil {
		t.Errorf("profile survived: %+v", p)
	}
	if got, users, _ := f.rba.TenantStats(""); got != before-1 || users != 1 {
		t.Errorf("rba after erasure: %d logins %d users", got, users)
	}
	d := f.send(t, login("erf9", "erin", f.ip("Tokyo"), "x", "failed", 2*time.Minute))
	if got := d.Velocity()["failed_logins_per_user"]; got != 1 {
		t.Errorf("failed_logins_per_user after erasure = %d, want 1 (this event)", got)
	}
	if _, err := f.eng.Feedback("", "er1", profile.LabelFraud); !errors.Is(err, engine.ErrUnknownEvent) {
		t.Errorf("feedback on an erased user's event: %v", err)
	}
	if d := f.send(t, e); d.Repeated {
		t.Error("an erased user's decision was answered from the dedupe memory")
	}
	if res, _ := f.eng.Erase("", "nobody"); res.Profile {
		t.Errorf("erasing an unknown user: %+v", res)
	}
}

func TestTenantsDoNotShareState(t *testing.T) {
	f := newUserFixture(t)
	a := login("t1", "gina", f.ip("Berlin"), "pc", "succeeded", 0)
	a["tenant"] = "shop-a"
	f.send(t, a)
	b := login("t1", "gina", f.ip("Tokyo"), "phone", "succeeded", time.Minute)
	b["tenant"] = "shop-b"
	if d := f.send(t, b); d.Repeated || d.Signals.User.Known {
		t.Fatalf("tenant b saw tenant a's user: %+v", d.Signals.User)
	}
	for i := range 3 {
		e := login(fmt.Sprint("tf", i), "gina", f.ip("Sydney"), "", "failed", 2*time.Minute)
		e["tenant"] = "shop-a"
		f.send(t, e)
	}
	e := login("tf9", "gina", f.ip("Sydney"), "", "failed", 3*time.Minute)
	e["tenant"] = "shop-b"
	if got := f.send(t, e).Velocity()["failed_logins_per_user"]; got != 1 {
		t.Errorf("tenant b counts %d failures, want only its own 1", got)
	}
	if res, _ := f.eng.Erase("shop-b", "gina"); !res.Profile {
		t.Fatal("erase in shop-b found nothing")
	}
	if p, _ := f.eng.Profile("shop-a", "gina"); p == nil {
		t.Error("erasure in shop-b erased shop-a's profile")
	}
}

func TestDeviceSeenUsers(t *testing.T) {
	f := newUserFixture(t)
	var d *engine.Decision
	for i := range 3 {
		d = f.send(t, login(fmt.Sprint("s", i), fmt.Sprint("kid", i), f.ip("Berlin"), "family-pc",
			"succeeded", time.Duration(i)*time.Hour))
	}
	if d.Signals.Device.SeenUsers != 3 || d.Signals.Device.IDSource != "device_id" {
		t.Errorf("family pc: %+v", d.Signals.Device)
	}
	// Without a device id the fingerprint is made of headers, which many
	// people share: it is not counted.
	e := event{"user": map[string]any{"id": "kid0"}, "ip": f.ip("Berlin"), "outcome": "succeeded"}
	if d := f.send(t, e); d.Signals.Device.SeenUsers != 0 || d.Signals.Device.IDSource != "headers" {
		t.Errorf("header fingerprint: %+v", d.Signals.Device)
	}
}

// TestProfileAgesOut: a device unused for longer than the horizon is
// forgotten; the horizon counts from the user's own events.
func TestProfileAgesOut(t *testing.T) {
	f := newUserFixture(t)
	home := f.ip("Berlin")
	f.send(t, login("p1", "hana", home, "old-pc", "succeeded", 0))
	f.send(t, login("p2", "hana", home, "new-pc", "succeeded", 100*24*time.Hour))
	d := f.send(t, login("p3", "hana", home, "new-pc", "succeeded", 200*24*time.Hour))
	if d.Signals.Device.New {
		t.Error("a device used 100 days ago was forgotten")
	}
	if d := f.send(t, login("p4", "hana", home, "old-pc", "succeeded", 200*24*time.Hour)); !d.Signals.Device.New {
		t.Error("a device unused for 200 days is still known")
	}
}

// TestAccountFailuresNeverDenyAKnownDevice: an attacker who has only the
// user name throws everything keyed by the account at it — brute force from
// one address, failures from many addresses, failed challenges — and the
// owner, on a known device at home or on another address of a home
// network, is stepped up at most, never denied.
func TestAccountFailuresNeverDenyAKnownDevice(t *testing.T) {
	f := newUserFixture(t)
	home, mobile := "93.192.10.7", "93.192.200.9" // Berlin, one operator
	for i := range 5 {
		f.send(t, login(fmt.Sprint("own", i), "ivy", home, "ivy-pc", "succeeded",
			time.Duration(i)*24*time.Hour))
	}
	start := 5 * 24 * time.Hour
	at := func(i int) time.Duration { return start + time.Duration(i)*5*time.Second }
	for i := range 30 {
		f.send(t, login(fmt.Sprint("bf", i), "ivy", f.ip("Sputnik"), "bot", "failed", at(i)))
	}
	for i := range 30 { // a botnet: one address each
		ip := fmt.Sprintf("177.32.%d.%d", i, 10+i)
		f.send(t, login(fmt.Sprint("bn", i), "ivy", ip, fmt.Sprint("bot", i), "failed", at(30+i)))
	}
	for i := range 3 {
		f.send(t, event{"id": fmt.Sprint("ch", i), "type": "challenge", "outcome": "failed",
			"user": map[string]any{"id": "ivy"}, "ip": f.ip("Sputnik"), "at": at(60 + i)})
	}
	for _, ip := range []string{home, mobile} {
		for _, outcome := range []string{"attempted", "succeeded"} {
			d := f.send(t, login("", "ivy", ip, "ivy-pc", outcome, at(70)))
			t.Logf("owner at %s (%s): %v score %d %+v", ip, outcome, d.Action, d.Score, d.Reasons)
			if d.Action == rules.Deny {
				t.Errorf("owner at %s (%s) denied: score %d %+v", ip, outcome, d.Score, d.Reasons)
			}
			if d.Action != rules.StepUp {
				t.Errorf("owner at %s (%s) under attack: %v, want step_up", ip, outcome, d.Action)
			}
		}
	}
}

func TestLoginPatterns(t *testing.T) {
	t.Run("password guessed after failures", func(t *testing.T) {
		f := newUserFixture(t)
		f.send(t, login("j0", "jo", f.ip("London"), "jo-pc", "succeeded", 0))
		ip := f.ip("Sputnik")
		for i := range 3 {
			f.send(t, login(fmt.Sprint("jf", i), "jo", ip, "kit", "failed", time.Hour+time.Duration(i)*time.Second))
		}
		d := f.send(t, login("js", "jo", ip, "kit", "succeeded", time.Hour+time.Minute))
		if !hasReason(d, "password_guessed") || d.Action == rules.Allow {
			t.Errorf("success after failures: %v %+v", d.Action, d.Reasons)
		}
		// The owner mistyping twice at home is not flagged.
		for i := range 2 {
			f.send(t, login(fmt.Sprint("jm", i), "jo", f.ip("London"), "jo-pc", "failed", 2*time.Hour))
		}
		if d := f.send(t, login("jok", "jo", f.ip("London"), "jo-pc", "succeeded", 2*time.Hour)); d.Action != rules.Allow {
			t.Errorf("owner after two typos: %v %+v", d.Action, d.Reasons)
		}
	})
	t.Run("new device on a new network in the home country", func(t *testing.T) {
		f := newUserFixture(t)
		for i := range 3 {
			f.send(t, login(fmt.Sprint("nn", i), "kai", "93.192.10.7", "kai-pc", "succeeded",
				time.Duration(i)*24*time.Hour))
		}
		// The same operator in another town of the country: only the
		// network and the device are new.
		d := f.send(t, login("nn-x", "kai", "93.193.40.2", "other", "succeeded", 4*24*time.Hour))
		if !d.Signals.IP.NetworkNew || d.Signals.IP.CountryNew || !hasReason(d, "new_device_new_network") ||
			d.Action == rules.Allow {
			t.Errorf("new device, new network: %v %+v %+v", d.Action, d.Signals.IP, d.Reasons)
		}
		// A new phone at home is no reason to ask.
		if d := f.send(t, login("nn-p", "kai", "93.192.10.99", "phone", "succeeded", 5*24*time.Hour)); d.Action != rules.Allow {
			t.Errorf("new device at home: %v %+v", d.Action, d.Reasons)
		}
	})
	t.Run("low and slow stuffing", func(t *testing.T) {
		f := newUserFixture(t)
		ip := f.ip("DigitalOcean")
		var d *engine.Decision
		// One attempt every 4 minutes: never 8 in 10 minutes.
		for i := range 45 {
			d = f.send(t, login(fmt.Sprint("ls", i), fmt.Sprint("acct", i), ip, "", "failed",
				time.Duration(i)*4*time.Minute))
			if i == 10 && d.Action != rules.Allow {
				t.Fatalf("11 accounts in 40 minutes already %v: %+v", d.Action, d.Reasons)
			}
			if i == 20 && !hasReason(d, "slow_stuffing") {
				t.Errorf("21 accounts in 80 minutes: %v %+v", d.Action, d.Reasons)
			}
		}
		if d.Action != rules.Deny || hasReason(d, "credential_stuffing") {
			t.Errorf("45 accounts in 3 hours: %v %+v", d.Action, d.Reasons)
		}
		// A busy shared address, mostly successes, is not stuffing.
		office := f.ip("Tokyo")
		for i := range 100 {
			outcome := "succeeded"
			if i%5 == 0 {
				outcome = "failed"
			}
			d = f.send(t, login(fmt.Sprint("of", i), fmt.Sprint("staff", i%60), office,
				fmt.Sprint("pc", i%60), outcome, time.Duration(i)*time.Minute))
		}
		if hasReason(d, "slow_stuffing") {
			t.Errorf("office address flagged: %+v", d.Reasons)
		}
	})
	t.Run("spraying from rotating addresses", func(t *testing.T) {
		f := newUserFixture(t)
		ua := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
		var d *engine.Decision
		for i := range 25 { // a new address every time, one tool's client facts
			e := login(fmt.Sprint("sp", i), fmt.Sprint("acct", i), fmt.Sprintf("177.32.%d.%d", i, 9+i),
				"", "failed", time.Duration(i)*5*time.Minute)
			e["user_agent"], e["device"] = ua, map[string]any{}
			d = f.send(t, e)
			if i == 10 && d.Action != rules.Allow {
				t.Fatalf("11 accounts: already %v %+v", d.Action, d.Reasons)
			}
		}
		if !hasReason(d, "spraying_device") || d.Action != rules.StepUp {
			t.Errorf("25 accounts from one tool: %v %+v", d.Action, d.Reasons)
		}
	})
	t.Run("signups per device and network", func(t *testing.T) {
		f := newUserFixture(t)
		var d *engine.Decision
		for i := range 3 {
			d = f.send(t, event{"type": "signup", "user": map[string]any{"id": fmt.Sprint("new", i)},
				"ip": fmt.Sprintf("93.192.%d.5", i*40), "device": map[string]any{"id": "farm-1"},
				"at": time.Duration(i) * time.Hour})
		}
		if !hasReason(d, "signups_per_device") || d.Action == rules.Allow {
			t.Errorf("3 signups on one device: %v %+v", d.Action, d.Reasons)
		}
		for i := range 10 {
			d = f.send(t, event{"type": "signup", "user": map[string]any{"id": fmt.Sprint("n", i)},
				"ip": fmt.Sprintf("86.128.7.%d", 10+i), "at": 5*time.Hour + time.Duration(i)*time.Minute})
		}
		if !hasReason(d, "signups_per_network") {
			t.Errorf("10 signups from one /24: %+v", d.Reasons)
		}
	})
}

// TestUserNamedByAnAddress: a user known by e-mail alone is kept under the
// normalised address, and the profile and erasure find them by the address
// in any form; a user id that looks like an address is still found as given.
func TestUserNamedByAnAddress(t *testing.T) {
	f := newUserFixture(t)
	e := login("m1", "", f.ip("Berlin"), "pc", "succeeded", 0)
	e["user"] = map[string]any{"email": "Mia.Example+shop@Gmail.com"}
	if d := f.send(t, e); d.Signals.User.Key != "miaexample@gmail.com" {
		t.Fatalf("user key %q", d.Signals.User.Key)
	}
	byID := login("m2", "Mo@Example.com", f.ip("Berlin"), "pc", "succeeded", 0)
	f.send(t, byID)
	for name, want := range map[string]string{
		"MIA.EXAMPLE@GMAIL.COM": "miaexample@gmail.com", "miaexample@gmail.com": "miaexample@gmail.com",
		"Mo@Example.com": "Mo@Example.com", "mo@example.com": "",
	} {
		p, err := f.eng.Profile("", name)
		switch {
		case err != nil:
			t.Fatal(err)
		case want == "" && p != nil:
			t.Errorf("%s found %q", name, p.Key)
		case want != "" && (p == nil || p.Key != "\x00"+want):
			t.Errorf("%s: profile %v, want %q", name, p, want)
		}
	}
	res, err := f.eng.Erase("", "MIA.EXAMPLE@GMAIL.COM")
	if err != nil || !res.Profile || res.Lessons != 1 || res.CachedDecisions != 1 ||
		len(res.Keys) != 2 || res.Keys[1] != "miaexample@gmail.com" {
		t.Fatalf("erase by address: %+v %v", res, err)
	}
	if p, _ := f.eng.Profile("", "miaexample@gmail.com"); p != nil {
		t.Error("the profile survived its erasure by address")
	}
	if res, _ := f.eng.Erase("", "Mo@Example.com"); !res.Profile || res.RBALogins != 1 {
		t.Errorf("erase of an id that looks like an address: %+v", res)
	}
}
