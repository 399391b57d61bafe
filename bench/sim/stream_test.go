package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/signals/device"
)

// smallConfig keeps tests quick: a few dozen users over a week.
var smallConfig = Config{Seed: 7, Users: 60, Days: 7}

func generate(t *testing.T, w *World, cfg Config) []byte {
	t.Helper()
	recs, err := Generate(w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, recs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGenerateIsDeterministic(t *testing.T) {
	w, _ := fixtureWorld(t, nil)
	a := generate(t, w, smallConfig)
	// A world built again from the same data must give the same stream.
	w2, _ := fixtureWorld(t, nil)
	if b := generate(t, w2, smallConfig); !bytes.Equal(a, b) {
		t.Fatal("two runs with the same seed and data differ")
	}
	other := smallConfig
	other.Seed++
	if c := generate(t, w, other); bytes.Equal(a, c) {
		t.Error("another seed gives the same stream")
	}
}

// line is one line of the output, decoded loosely to check its shape.
type line struct {
	Label Label           `json:"label"`
	Event json.RawMessage `json:"event"`
}

func readLines(t *testing.T, out []byte) ([]line, []engine.Event) {
	t.Helper()
	var lines []line
	var events []engine.Event
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &keys); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if len(keys) != 2 || keys["label"] == nil || keys["event"] == nil {
			t.Fatalf("line %d has keys %v, want exactly label and event", n, mapKeys(keys))
		}
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		var ev engine.Event
		if err := engine.DecodeEvent(l.Event, &ev); err != nil {
			t.Fatalf("line %d: the event does not decode as the engine's schema: %v", n, err)
		}
		if err := ev.Validate(time.Now()); err != nil {
			t.Fatalf("line %d: invalid event: %v", n, err)
		}
		lines = append(lines, l)
		events = append(events, ev)
	}
	return lines, events
}

func mapKeys(m map[string]json.RawMessage) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

func TestStreamShape(t *testing.T) {
	w, _ := fixtureWorld(t, nil)
	lines, events := readLines(t, generate(t, w, smallConfig))
	if len(events) < smallConfig.Users {
		t.Fatalf("%d events for %d users", len(events), smallConfig.Users)
	}
	ids := map[string]bool{}
	for i, ev := range events {
		if ev.ID == "" || ids[ev.ID] {
			t.Errorf("event %d: id %q is empty or repeated", i+1, ev.ID)
		}
		ids[ev.ID] = true
		if i > 0 && ev.At().Before(events[i-1].At()) {
			t.Errorf("event %d at %s is before the one above it", i+1, ev.Time)
		}
		if strings.Contains(string(lines[i].Event), "label") {
			t.Errorf("event %d carries its label: %s", i+1, lines[i].Event)
		}
	}
	start := smallConfig.withDefaultsT(t).Start
	if first, last := events[0].At(), events[len(events)-1].At(); first.Before(start) ||
		!last.Before(start.AddDate(0, 0, smallConfig.Days)) {
		t.Errorf("events span %s to %s, outside the window", first, last)
	}
}

func (c Config) withDefaultsT(t *testing.T) Config {
	t.Helper()
	c, err := c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLabels checks the labels' rules: each attacker's campaign is there,
// and decisive marks exactly what the auth server would ask about.
func TestLabels(t *testing.T) {
	w, _ := fixtureWorld(t, nil)
	lines, events := readLines(t, generate(t, w, smallConfig))
	campaigns := map[string]string{}
	for i, l := range lines {
		ev := events[i]
		switch l.Label.Kind {
		case KindLegit:
			if l.Label.Attack != "" || l.Label.Campaign != "" {
				t.Errorf("event %d: legit label with attack fields: %+v", i+1, l.Label)
			}
			if want := ev.Outcome != engine.OutcomeFailed; l.Label.Decisive != want {
				t.Errorf("event %d: legit %s %s has decisive %v", i+1, ev.Type, ev.Outcome,
					l.Label.Decisive)
			}
		case KindAttack:
			campaigns[l.Label.Campaign] = l.Label.Attack
		default:
			t.Errorf("event %d: label kind %q", i+1, l.Label.Kind)
		}
	}
	var got []string
	for _, a := range campaigns {
		got = append(got, a)
	}
	slices.Sort(got)
	var want []string
	for _, a := range DefaultAttackers() {
		want = append(want, a.Name())
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attack campaigns (-want +got):\n%s", diff)
	}
}

func TestNoAttackers(t *testing.T) {
	w, _ := fixtureWorld(t, nil)
	cfg := smallConfig
	cfg.Attackers = []Attacker{}
	lines, _ := readLines(t, generate(t, w, cfg))
	for i, l := range lines {
		if l.Label.Kind != KindLegit {
			t.Fatalf("event %d is labelled %+v with no attacker configured", i+1, l.Label)
		}
	}
}

// TestAttackShapes checks what makes each attack what it is.
func TestAttackShapes(t *testing.T) {
	w, _ := fixtureWorld(t, nil)
	cfg := smallConfig
	cfg.Attackers = []Attacker{&CredentialStuffing{Attempts: 50, Hits: 2},
		&AccountTakeover{}, &SignupBurst{Signups: 12, Over: 5 * time.Minute}}
	lines, events := readLines(t, generate(t, w, cfg))
	byAttack := map[string][]engine.Event{}
	homes := map[string]string{} // user id -> country of their legit logins
	for i, l := range lines {
		ev := events[i]
		if l.Label.Kind == KindAttack {
			byAttack[l.Label.Attack] = append(byAttack[l.Label.Attack], ev)
		} else if ev.User.ID != "" {
			homes[ev.User.ID] = countryOf(w, ev.Addr())
		}
	}
	stuffing := byAttack[AttackCredentialStuffing]
	if len(stuffing) != 50 || distinct(stuffing, func(e engine.Event) string { return e.IP }) != 1 {
		t.Errorf("credential stuffing: %d events from %d addresses, want 50 from 1", len(stuffing),
			distinct(stuffing, func(e engine.Event) string { return e.IP }))
	}
	if n := count(stuffing, engine.OutcomeSucceeded); n != 2 {
		t.Errorf("credential stuffing: %d successes, want 2", n)
	}
	burst := byAttack[AttackSignupBurst]
	if len(burst) != 12 || distinct(burst, func(e engine.Event) string { return e.IP }) != 1 ||
		burst[len(burst)-1].At().Sub(burst[0].At()) > 5*time.Minute {
		t.Errorf("signup burst: %d events, want 12 from one address within 5 minutes", len(burst))
	}
	ato := byAttack[AttackAccountTakeover]
	if count(ato, engine.OutcomeSucceeded) == 0 {
		t.Fatal("account takeover: no successful login")
	}
	for _, ev := range ato {
		if c := countryOf(w, ev.Addr()); c == homes[ev.User.ID] || c == "" {
			t.Errorf("account takeover from %s (%s), the victim's home country is %s", ev.IP, c,
				homes[ev.User.ID])
		}
	}
}

func distinct(evs []engine.Event, key func(engine.Event) string) int {
	seen := map[string]bool{}
	for _, e := range evs {
		seen[key(e)] = true
	}
	return len(seen)
}

func count(evs []engine.Event, outcome string) int {
	n := 0
	for _, e := range evs {
		if e.Outcome == outcome {
			n++
		}
	}
	return n
}

// cityOf finds the world city whose networks hold a.
func cityOf(w *World, a netip.Addr) *City {
	for _, c := range w.Cities {
		for _, n := range c.Residential {
			if n.Prefix.Contains(a) {
				return c
			}
		}
	}
	return nil
}

func countryOf(w *World, a netip.Addr) string {
	if c := cityOf(w, a); c != nil {
		return c.Country
	}
	return ""
}

// TestLegitUsersTravelPlausibly checks that no person logs in from two
// places faster than an airliner could take them, and that each user's
// events are in time order.
func TestLegitUsersTravelPlausibly(t *testing.T) {
	w, _ := fixtureWorld(t, nil)
	cfg := smallConfig
	cfg.Users = 150
	cfg.Days = 21
	lines, events := readLines(t, generate(t, w, cfg))
	type seen struct {
		at   time.Time
		city *City
	}
	last := map[string]seen{}
	var moves int
	for i, l := range lines {
		ev := events[i]
		if l.Label.Kind != KindLegit || ev.User.ID == "" {
			continue
		}
		c := cityOf(w, ev.Addr())
		if c == nil {
			t.Fatalf("event %d: %s is in no city of the world", i+1, ev.IP)
		}
		prev, ok := last[ev.User.ID]
		last[ev.User.ID] = seen{ev.At(), c}
		if !ok || prev.city == c {
			continue
		}
		moves++
		km := distanceKm(prev.city.Lat, prev.city.Lon, c.Lat, c.Lon)
		if h := ev.At().Sub(prev.at).Hours(); km/h > 1000 {
			t.Errorf("user %s: %s to %s, %.0f km in %.1f h", ev.User.ID, prev.city.Name, c.Name, km, h)
		}
	}
	if moves == 0 {
		t.Error("no user travelled; the check above tested nothing")
	}
}

// TestAgentsAreBrowsers parses every bundled user agent as the engine does:
// none may look like a bot, or legitimate users would be flagged.
func TestAgentsAreBrowsers(t *testing.T) {
	p, err := device.NewParser(device.Options{CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, a := range agents {
		t.Run(a.ua, func(t *testing.T) {
			info := p.Parse(a.ua, func(string) string { return "" })
			if info.Bot || info.Headless || info.Malformed || info.Browser == "Other" {
				t.Errorf("parsed as %+v", info)
			}
			mobile := info.Type == "mobile" || info.Type == "tablet"
			if mobile != (a.form != "desktop") {
				t.Errorf("type %q, the table says %s", info.Type, a.form)
			}
			if len(screens[a.os+"/"+a.form]) == 0 {
				t.Errorf("no screen sizes for %s/%s", a.os, a.form)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	w, _ := fixtureWorld(t, nil)
	for _, cfg := range []Config{{Days: 400}, {Days: -1}, {Users: -5}, {SignupShare: 1.5}} {
		if _, err := Generate(w, cfg); err == nil {
			t.Errorf("Generate(%+v) succeeded", cfg)
		}
	}
	if _, err := Generate(&World{}, Config{}); err == nil {
		t.Error("Generate in an empty world succeeded")
	}
}
