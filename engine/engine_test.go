package engine_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " +
	"(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

const firefoxUA = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

type fixture struct {
	eng   *engine.Engine
	world geotest.FixtureInfo
	clock time.Time
}

// newFixture builds an engine over the default rules and a small real
// geo data set written by geotest, with a controllable clock.
func newFixture(t testing.TB) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith is newFixture with options changed by opt.
func newFixtureWith(t testing.TB, opt func(*fixture, *engine.Options)) *fixture {
	t.Helper()
	dir := t.TempDir()
	world, err := geotest.Fixture(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{world: world, clock: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	st, err := setup.New(t.Context(), setup.Options{Rules: set, DataDir: dir,
		Tune: func(o *engine.Options) {
			o.Now = func() time.Time { return f.clock }
			if opt != nil {
				opt(f, o)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.eng = st.Engine
	return f
}

type ev struct {
	id, typ, outcome, user, ip, ua, device string
	at                                     time.Duration
}

func (f *fixture) decide(t testing.TB, e ev) *engine.Decision {
	t.Helper()
	if e.typ == "" {
		e.typ = "login"
	}
	if e.ua == "" {
		e.ua = chromeUA
	}
	at := f.clock.Add(e.at)
	body := map[string]any{"type": e.typ, "outcome": e.outcome, "ip": e.ip,
		"user_agent": e.ua, "time": at.Format(time.RFC3339), "id": e.id,
		"user": map[string]any{"id": e.user}, "device": map[string]any{"id": e.device}}
	raw, _ := json.Marshal(body)
	var event engine.Event
	if err := engine.DecodeEvent(raw, &event); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	d, err := f.eng.Decide(context.Background(), &event)
	if err != nil {
		t.Fatalf("decide %s: %v", raw, err)
	}
	return d
}

func (f *fixture) ip(place string) string { return f.world.MustPlace(place).Addr4().String() }

func TestPublicAddressIsEnriched(t *testing.T) {
	f := newFixture(t)
	d := f.decide(t, ev{user: "u1", ip: f.ip("Berlin"), outcome: "succeeded"})
	ip := d.Signals.IP
	if ip.Country != "DE" || ip.City != "Berlin" || ip.ASN != 3320 || ip.Org != "Deutsche Telekom AG" {
		t.Errorf("ip signals = %+v", ip)
	}
	if len(d.Missing) != 0 {
		t.Errorf("missing = %v, want none", d.Missing)
	}
	if d.Action.String() != "allow" || d.ID == "" || d.RulesVersion == "" {
		t.Errorf("decision = %+v", d)
	}
}

func TestNonPublicAddressesAreNeverGeolocated(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ ip, kind string }{
		{"10.0.0.1", "private"}, {"100.64.3.4", "cgnat"}, {"fd00::1", "private"},
		{"127.0.0.1", "loopback"}, {"169.254.1.1", "link_local"}, {"192.0.2.1", "reserved"},
	}
	for _, tc := range tests {
		d := f.decide(t, ev{user: "u", ip: tc.ip})
		if d.Signals.IP.Kind != tc.kind || !d.Signals.IP.Private || d.Signals.IP.Country != "" {
			t.Errorf("%s: ip = %+v", tc.ip, d.Signals.IP)
		}
		if !contains(d.Missing, "geo") || !contains(d.Missing, "asn") {
			t.Errorf("%s: missing = %v", tc.ip, d.Missing)
		}
	}
	mapped := f.decide(t, ev{user: "u", ip: "::ffff:" + f.ip("London")})
	if mapped.Signals.IP.Country != "GB" || mapped.Signals.IP.Version != 4 {
		t.Errorf("mapped address: %+v", mapped.Signals.IP)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestTakeoverFromNewCountry is the core story: a returning user is allowed
// at home; an attacker with the password from another country on a new
// device is stepped up; after the user passes a challenge on a new laptop,
// that laptop is known.
func TestTakeoverFromNewCountry(t *testing.T) {
	f := newFixture(t)
	home := f.ip("Berlin")
	first := f.decide(t, ev{user: "alice", ip: home, device: "phone", outcome: "succeeded"})
	if first.Signals.Device.New || first.Signals.IP.CountryNew {
		t.Fatalf("first login counted as new: %+v", first.Signals)
	}
	again := f.decide(t, ev{user: "alice", ip: home, device: "phone", outcome: "succeeded", at: 24 * time.Hour})
	if again.Action.String() != "allow" {
		t.Fatalf("returning user at home: %v %+v", again.Action, again.Reasons)
	}
	attack := f.decide(t, ev{user: "alice", ip: f.ip("São Paulo"), device: "evil", outcome: "succeeded",
		ua: firefoxUA, at: 25 * time.Hour})
	if attack.Action.String() == "allow" {
		t.Fatalf("takeover allowed: %+v", attack.Reasons)
	}
	if !attack.Signals.Device.New || !attack.Signals.IP.CountryNew || !attack.Signals.Travel.Impossible {
		t.Errorf("takeover signals: %+v %+v", attack.Signals.Device, attack.Signals.Travel)
	}
	// The stepped-up attack must not have taught the profile.
	later := f.decide(t, ev{user: "alice", ip: f.ip("São Paulo"), device: "evil", outcome: "succeeded",
		ua: firefoxUA, at: 72 * time.Hour})
	if !later.Signals.Device.New {
		t.Error("a stepped-up login taught the profile its device")
	}

	laptop := ev{user: "alice", ip: home, device: "laptop", outcome: "succeeded", at: 48 * time.Hour}
	if d := f.decide(t, laptop); !d.Signals.Device.New {
		t.Fatal("laptop should be new")
	}
	f.decide(t, ev{typ: "challenge", outcome: "succeeded", user: "alice", ip: home, device: "laptop",
		at: 48*time.Hour + time.Minute})
	laptop.at = 50 * time.Hour
	if d := f.decide(t, laptop); d.Signals.Device.New || d.Action.String() != "allow" {
		t.Errorf("after a passed challenge the laptop is still new: %v", d.Action)
	}
}

func TestCredentialStuffingIsDenied(t *testing.T) {
	f := newFixture(t)
	attacker := f.ip("Sputnik")
	var last *engine.Decision
	for i := range 12 {
		last = f.decide(t, ev{user: fmt.Sprint("victim", i), ip: attacker, outcome: "failed",
			at: time.Duration(i) * 10 * time.Second})
	}
	if last.Action.String() != "deny" || last.Reasons[0].Code != "credential_stuffing" {
		t.Fatalf("stuffing: %v %+v", last.Action, last.Reasons)
	}
	// The next attempt from that address is denied before any password check.
	d := f.decide(t, ev{user: "victim99", ip: attacker, outcome: "attempted", at: 3 * time.Minute})
	if d.Action.String() != "deny" {
		t.Errorf("attempt after stuffing: %v", d.Action)
	}
	// Another address is not affected.
	if d := f.decide(t, ev{user: "bob", ip: f.ip("London"), outcome: "attempted", at: 3 * time.Minute}); d.Action.String() != "allow" {
		t.Errorf("bystander: %v %+v", d.Action, d.Reasons)
	}
}

// TestFailuresAloneNeverDenyTheOwner: an attacker hammering one account
// must not get its owner denied on a known device.
func TestFailuresAloneNeverDenyTheOwner(t *testing.T) {
	f := newFixture(t)
	home := f.ip("London")
	f.decide(t, ev{user: "carol", ip: home, device: "pc", outcome: "succeeded"})
	for i := range 50 {
		f.decide(t, ev{user: "carol", ip: fmt.Sprintf("86.128.%d.%d", i/200, 2+i%200), outcome: "failed",
			device: fmt.Sprint("bot", i), at: time.Hour + time.Duration(i)*time.Second})
	}
	d := f.decide(t, ev{user: "carol", ip: home, device: "pc", outcome: "succeeded", at: time.Hour + time.Minute})
	if d.Action.String() == "deny" {
		t.Fatalf("owner denied after failures by others: %+v", d.Reasons)
	}
	if d.Action.String() != "step_up" {
		t.Errorf("owner under brute force: %v, want step_up", d.Action)
	}
}

func TestRepeatedEventIsNotCountedTwice(t *testing.T) {
	f := newFixture(t)
	ip := f.ip("Tokyo")
	first := f.decide(t, ev{id: "evt-1", user: "dave", ip: ip, outcome: "failed"})
	second := f.decide(t, ev{id: "evt-1", user: "dave", ip: ip, outcome: "failed"})
	if !second.Repeated || second.ID != first.ID {
		t.Fatalf("repeat got a new decision: %v %v", second.ID, first.ID)
	}
	third := f.decide(t, ev{id: "evt-2", user: "dave", ip: ip, outcome: "failed"})
	if got := third.Velocity()["failed_logins_per_ip"]; got != 2 {
		t.Errorf("failed_logins_per_ip = %d after two distinct events and a repeat, want 2", got)
	}
}

// TestReusedIDIsRefused: an id used again for another event (another user,
// address or outcome) is refused with id_reused rather than answered with
// the first event's decision; a true retry, even re-stamped, is answered.
func TestReusedIDIsRefused(t *testing.T) {
	f := newFixture(t)
	ip := f.ip("Tokyo")
	first := f.decide(t, ev{id: "evt-r", user: "erin", ip: ip, outcome: "succeeded"})
	retry := f.decide(t, ev{id: "evt-r", user: "erin", ip: ip, outcome: "succeeded", at: time.Second})
	if !retry.Repeated || retry.ID != first.ID {
		t.Fatalf("a re-stamped retry got a new decision")
	}
	for _, other := range []ev{
		{id: "evt-r", user: "mallory", ip: ip, outcome: "succeeded"},
		{id: "evt-r", user: "erin", ip: f.ip("Berlin"), outcome: "succeeded"},
		{id: "evt-r", user: "erin", ip: ip, outcome: "failed"},
		{id: "evt-r", typ: "signup", user: "erin", ip: ip},
	} {
		raw, _ := json.Marshal(map[string]any{"id": other.id, "type": cmp.Or(other.typ, "login"),
			"outcome": other.outcome, "ip": other.ip, "user": map[string]any{"id": other.user}})
		var event engine.Event
		if err := engine.DecodeEvent(raw, &event); err != nil {
			t.Fatal(err)
		}
		_, err := f.eng.Decide(context.Background(), &event)
		var fe *engine.FieldError
		if !errors.As(err, &fe) || fe.Code != engine.CodeIDReused || fe.Field != "id" {
			t.Errorf("%s: err = %v, want id_reused on field id", raw, err)
		}
	}
}

func TestSignupBurst(t *testing.T) {
	f := newFixture(t)
	ip := f.ip("DigitalOcean")
	var d *engine.Decision
	for i := range 6 {
		d = f.decide(t, ev{typ: "signup", user: fmt.Sprint("new", i), ip: ip, at: time.Duration(i) * time.Minute})
	}
	if d.Action.String() == "allow" {
		t.Fatalf("signup burst allowed: %+v", d.Signals.Velocity)
	}
}

func TestDecisionJSON(t *testing.T) {
	f := newFixture(t)
	d := f.decide(t, ev{user: "erin", ip: f.ip("Sydney")})
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"decision_id", "event_id", "action", "score", "reasons", "signals",
		"missing", "rules_version", "took_us"} {
		if _, ok := out[k]; !ok {
			t.Errorf("decision JSON lacks %q: %s", k, b)
		}
	}
	sig := out["signals"].(map[string]any)
	if sig["ip"].(map[string]any)["country"] != "AU" {
		t.Errorf("signals.ip.country = %v", sig["ip"])
	}
	if _, ok := sig["velocity"].(map[string]any)["users_per_ip"]; !ok {
		t.Errorf("signals.velocity lacks counters by name: %v", sig["velocity"])
	}
	if _, ok := sig["device"].(map[string]any)["new"]; !ok {
		t.Errorf("signals.device.new absent")
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, body, code, field string
	}{
		{"unknown type", `{"type":"logon","ip":"1.2.3.4"}`, "invalid_value", "type"},
		{"bad ip", `{"type":"login","ip":"1.2.3.999"}`, "invalid_value", "ip"},
		{"ip with zone", `{"type":"login","ip":"fe80::1%eth0"}`, "invalid_value", "ip"},
		{"missing ip", `{"type":"login"}`, "missing_field", "ip"},
		{"missing type", `{"ip":"1.2.3.4"}`, "missing_field", "type"},
		{"bad time", `{"type":"login","ip":"1.2.3.4","time":"yesterday"}`, "invalid_value", "time"},
		{"bad created_at", `{"type":"login","ip":"1.2.3.4","user":{"created_at":"2020"}}`, "invalid_value", "user.created_at"},
		{"bad outcome", `{"type":"login","ip":"1.2.3.4","outcome":"maybe"}`, "invalid_value", "outcome"},
		{"wrong json type", `{"type":"login","ip":1234}`, "invalid_type", "ip"},
		{"wrong nested type", `{"type":"login","ip":"1.2.3.4","user":{"id":7}}`, "invalid_type", "user.id"},
		{"object expected", `{"type":"login","ip":"1.2.3.4","device":"x"}`, "invalid_type", "device"},
		{"typo", `{"type":"login","ip":"1.2.3.4","user_agnet":"x"}`, "unknown_field", "user_agnet"},
		{"nested typo", `{"type":"login","ip":"1.2.3.4","user":{"emial":"a@b.c"}}`, "unknown_field", "user.emial"},
		{"not an object", `["type"]`, "invalid_type", ""},
		{"malformed", `{"type":"login",`, "invalid_json", ""},
		{"trailing", `{"type":"login","ip":"1.2.3.4"} {}`, "invalid_json", ""},
		{"empty", ``, "invalid_json", ""},
		{"duplicate", `{"type":"login","ip":"1.2.3.4","ip":"5.6.7.8"}`, "duplicate_field", "ip"},
		{"wrong case", `{"type":"login","IP":"1.2.3.4"}`, "unknown_field", "IP"},
		{"bad utf8", "{\"type\":\"login\",\"ip\":\"1.2.3.4\",\"tenant\":\"\xff\"}", "invalid_json", "tenant"},
		{"too long", `{"type":"login","ip":"1.2.3.4","user_agent":"` + strings.Repeat("a", 5000) + `"}`, "too_long", "user_agent"},
		{"number out of range", `{"type":"login","ip":"1.2.3.4","properties":{"x":1e999999}}`, "invalid_value", "properties.x"},
		{"number out of range in a list", `{"type":"login","ip":"1.2.3.4","properties":{"x":[1,-1e400]}}`, "invalid_value", "properties.x.1"},
		{"leading zero", `{"type":"login","ip":"1.2.3.4","properties":{"x":01,"y":2}}`, "invalid_json", "properties.x"},
		{"leading zero nested", `{"type":"login","ip":"1.2.3.4","properties":{"a":{"x":01}}}`, "invalid_json", "properties.a.x"},
		{"missing comma", `{"type":"login","ip":"1.2.3.4" "tenant":"t"}`, "invalid_json", "ip"},
		{"email with a nul", `{"type":"login","ip":"1.2.3.4","user":{"email":"x@mailinator.com\u0000"}}`, "invalid_value", "user.email"},
		{"email with a port", `{"type":"login","ip":"1.2.3.4","user":{"email":"x@mailinator.com:80"}}`, "invalid_value", "user.email"},
		{"email with an empty label", `{"type":"login","ip":"1.2.3.4","user":{"email":"x@mailinator..com"}}`, "invalid_value", "user.email"},
		{"email of an at sign", `{"type":"login","ip":"1.2.3.4","user":{"email":"@"}}`, "invalid_value", "user.email"},
		{"header in two cases", `{"type":"login","ip":"1.2.3.4","headers":{"A":"x","a":"y"}}`, "duplicate_field", "headers.a"},
		{"long header name", `{"type":"login","ip":"1.2.3.4","headers":{"` + strings.Repeat("x", 300) + `":"y"}}`, "too_long", "headers"},
		{"long header value", `{"type":"login","ip":"1.2.3.4","headers":{"x":"` + strings.Repeat("y", 5000) + `"}}`, "too_long", "headers.x"},
		{"truncated after a value", `{"type":"login","ip":"1.2.3.4",`, "invalid_json", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e engine.Event
			err := engine.DecodeEvent([]byte(tc.body), &e)
			if err == nil {
				err = e.Validate(time.Now())
			}
			var fe *engine.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Code != tc.code || fe.Field != tc.field {
				t.Errorf("got %s/%q (%s), want %s/%q", fe.Code, fe.Field, fe.Message, tc.code, tc.field)
			}
		})
	}
}

func TestPropertiesAreFreeForm(t *testing.T) {
	var e engine.Event
	body := `{"type":"login","ip":"1.2.3.4","properties":{"anything":{"nested":[1,2]},"amount":12.5}}`
	if err := engine.DecodeEvent([]byte(body), &e); err != nil {
		t.Fatal(err)
	}
	if e.Properties["amount"] != 12.5 {
		t.Errorf("properties = %v", e.Properties)
	}
}

// TestDecideAllocations is the allocation budget of one decision on the
// hot path with the default rules and every signal (issue 2: at most 30).
func TestDecideAllocations(t *testing.T) {
	f := newFixture(t)
	raw := []byte(`{"type":"login","outcome":"succeeded","ip":"` + f.ip("Berlin") +
		`","user":{"id":"u1"},"user_agent":"` + chromeUA + `","device":{"id":"d1"}}`)
	var event engine.Event
	decide := func() {
		if err := engine.DecodeEvent(raw, &event); err != nil {
			t.Fatal(err)
		}
		if _, err := f.eng.Decide(context.Background(), &event); err != nil {
			t.Fatal(err)
		}
	}
	// Warm up: caches fill and the profile reaches its steady size.
	for range 200 {
		decide()
	}
	var e2 engine.Event
	if err := engine.DecodeEvent(raw, &e2); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		ev := e2
		if _, err := f.eng.Decide(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 30 {
		t.Errorf("one decision allocates %.0f times, budget 30", allocs)
	}
	t.Logf("allocations per decision: %.0f", allocs)
}

func BenchmarkDecide(b *testing.B) {
	f := newFixture(b)
	raw := []byte(`{"type":"login","outcome":"succeeded","ip":"` + f.ip("Berlin") +
		`","user":{"id":"u1"},"user_agent":"` + chromeUA + `","device":{"id":"d1"}}`)
	var tmpl engine.Event
	if err := engine.DecodeEvent(raw, &tmpl); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ev := tmpl
		if _, err := f.eng.Decide(ctx, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

// With every source configured, Unavailable is an empty list, which /readyz
// shows as [] rather than null.
func TestUnavailableIsEmptyListWhenComplete(t *testing.T) {
	dir := t.TempDir()
	if _, err := geotest.Fixture(dir); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	st, err := setup.New(t.Context(), setup.Options{Rules: set, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng := st.Engine
	if got := eng.Unavailable(); got == nil || len(got) != 0 {
		t.Errorf("Unavailable() = %#v, want an empty, non-nil list", got)
	}
}

// TestEnrichedOnceDecidesTheSame: signals enriched by one engine and
// handed to another (as replay does for its two sides) give the decision
// the other engine would have made by itself.
func TestEnrichedOnceDecidesTheSame(t *testing.T) {
	a, b := newFixture(t), newFixture(t)
	for i, e := range []ev{
		{user: "ann", ip: a.ip("Berlin"), outcome: "succeeded", device: "laptop"},
		{user: "ann", ip: a.ip("São Paulo"), outcome: "succeeded", device: "phone", at: time.Hour},
		{typ: "signup", user: "bob", ip: a.ip("DigitalOcean"), at: 2 * time.Hour},
	} {
		e.id = fmt.Sprint("evt-", i)
		plain := a.decide(t, e)
		raw, _ := json.Marshal(map[string]any{"id": e.id, "type": cmp.Or(e.typ, "login"),
			"outcome": e.outcome, "ip": e.ip, "user_agent": chromeUA,
			"time": b.clock.Add(e.at).Format(time.RFC3339), "user": map[string]any{"id": e.user},
			"device": map[string]any{"id": e.device}})
		var event engine.Event
		if err := engine.DecodeEvent(raw, &event); err != nil {
			t.Fatal(err)
		}
		x, err := a.eng.Enrich(event, b.clock) // the time the engines read
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.eng.DecideWith(context.Background(), &event, engine.DecideOptions{Enriched: x})
		if err != nil {
			t.Fatal(err)
		}
		if got.Action != plain.Action || got.Score != plain.Score {
			t.Errorf("event %d: enriched once %v/%d, by itself %v/%d", i, got.Action, got.Score,
				plain.Action, plain.Score)
		}
		pj, _ := json.Marshal(plain.Signals)
		gj, _ := json.Marshal(got.Signals)
		if string(pj) != string(gj) {
			t.Errorf("event %d: signals differ:\n by itself    %s\n enriched once %s", i, pj, gj)
		}
	}
}
