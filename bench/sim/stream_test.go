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
	"github.com/google/go-cmp/cmp/cmpopts"

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
	w := simWorld(t)
	a := generate(t, w, smallConfig)
	// A world built again from the same data must give the same stream.
	w2 := simWorld(t)
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
	w := simWorld(t)
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
	w := simWorld(t)
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
	w := simWorld(t)
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
	w := simWorld(t)
	cfg := smallConfig
	cfg.Users = 200
	cfg.Attackers = []Attacker{&CredentialStuffing{Attempts: 60, Hits: 2, PerAddr: 10},
		&SignupBurst{Waves: 2, Signups: 12, Over: 5 * time.Minute}, &BruteForce{Attempts: 30},
		&PasswordSpraying{Accounts: 40}, &ResidentialSignups{Signups: 30}}
	lines, events := readLines(t, generate(t, w, cfg))
	byAttack := map[string][]engine.Event{}
	for i, l := range lines {
		if l.Label.Kind == KindAttack {
			byAttack[l.Label.Attack] = append(byAttack[l.Label.Attack], events[i])
		}
	}
	ip := func(e engine.Event) string { return e.IP }
	user := func(e engine.Event) string { return e.User.ID + e.User.Email }
	stuffing := byAttack[AttackCredentialStuffing]
	if len(stuffing) != 60 || distinct(stuffing, ip) != 6 || count(stuffing, engine.OutcomeSucceeded) != 2 {
		t.Errorf("credential stuffing: %d events from %d addresses, %d successes; want 60 from 6, 2",
			len(stuffing), distinct(stuffing, ip), count(stuffing, engine.OutcomeSucceeded))
	}
	burst := byAttack[AttackSignupBurst]
	if len(burst) != 24 || distinct(burst, ip) != 2 || distinct(burst, user) != 24 {
		t.Errorf("signup burst: %d events from %d addresses, want 24 accounts from 2", len(burst),
			distinct(burst, ip))
	}
	brute := byAttack[AttackBruteForce]
	if len(brute) != 30 || distinct(brute, user) != 1 || count(brute, engine.OutcomeFailed) != 30 {
		t.Errorf("brute force: %d events on %d accounts, want 30 failures on 1", len(brute),
			distinct(brute, user))
	}
	spray := byAttack[AttackPasswordSpraying]
	if len(spray) != 80 || distinct(spray, user) != 40 || distinct(spray, ip) < 60 ||
		spray[len(spray)-1].At().Sub(spray[0].At()) < 10*time.Hour {
		t.Errorf("password spraying: %d events, %d accounts, %d addresses, over %s; want 80 "+
			"on 40 from many addresses over hours", len(spray), distinct(spray, user),
			distinct(spray, ip), spray[len(spray)-1].At().Sub(spray[0].At()))
	}
	res := byAttack[AttackResidentialSignups]
	if len(res) != 30 || distinct(res, ip) < 28 {
		t.Errorf("residential signups: %d from %d addresses, want 30 from about as many", len(res),
			distinct(res, ip))
	}
	for _, ev := range res {
		if n := networkOf(w, ev.Addr()); n.kind != "residential" {
			t.Errorf("residential signup from %s, a %s network", ev.IP, n.kind)
		}
	}
}

// TestTakeoverModels checks what each takeover attacker knows of its
// victim: nothing, the country, the city and browser, the provider and
// exact user agent.
func TestTakeoverModels(t *testing.T) {
	w := simWorld(t)
	cfg := smallConfig
	cfg.Users = 300
	cfg.Attackers = []Attacker{&AccountTakeover{Model: ModelForeign},
		&AccountTakeover{Model: ModelVPN}, &AccountTakeover{Model: ModelTargeted},
		&AccountTakeover{Model: ModelVeryTargeted}}
	lines, events := readLines(t, generate(t, w, cfg))
	home := map[string]networkInfo{} // user -> where their first home login came from
	agent := map[string]string{}     // user -> user agent of their legit logins
	last := map[string]time.Time{}   // user -> their last legit login
	victims := map[string]string{}   // user -> attack
	for i, l := range lines {
		ev := events[i]
		switch {
		case l.Label.Kind == KindLegit && l.Label.Situation == SituationHome:
			if _, ok := home[ev.User.ID]; !ok {
				home[ev.User.ID] = networkOf(w, ev.Addr())
			}
			agent[ev.User.ID] += "\n" + ev.UserAgent
			last[ev.User.ID] = ev.At()
		case l.Label.Kind == KindLegit && ev.User.ID != "":
			agent[ev.User.ID] += "\n" + ev.UserAgent
			last[ev.User.ID] = ev.At()
		}
	}
	perModel := map[string]int{}
	for i, l := range lines {
		ev := events[i]
		if l.Label.Kind != KindAttack || !l.Label.Decisive {
			continue
		}
		perModel[l.Label.Attack]++
		if prev := victims[ev.User.ID]; prev != "" && prev != l.Label.Attack {
			t.Errorf("user %s is attacked by %s and %s", ev.User.ID, prev, l.Label.Attack)
		}
		victims[ev.User.ID] = l.Label.Attack
		if !ev.At().After(last[ev.User.ID]) {
			t.Errorf("%s on %s at %s, before the victim's last login", l.Label.Attack, ev.User.ID,
				ev.Time)
		}
		n, h := networkOf(w, ev.Addr()), home[ev.User.ID]
		if h.city == nil {
			continue // the victim never logged in from home
		}
		switch l.Label.Attack {
		case AttackAccountTakeover:
			if n.city == nil || n.city.Country == h.city.Country {
				t.Errorf("foreign takeover from %v, the victim lives in %s", n.city, h.city.Name)
			}
		case AttackVPN:
			if n.kind == "residential" || n.city.Country != h.city.Country {
				t.Errorf("VPN attacker from a %s network in %s; victim in %s", n.kind,
					n.city.Country, h.city.Country)
			}
		case AttackTargeted:
			if n.kind != "residential" || n.city != h.city {
				t.Errorf("targeted attacker from %s, victim in %s", n.city.Name, h.city.Name)
			}
		case AttackVeryTargeted:
			if n.asn != h.asn || n.city != h.city || !strings.Contains(agent[ev.User.ID],
				"\n"+ev.UserAgent) {
				t.Errorf("very targeted attacker from AS%d with %q; victim on AS%d", n.asn,
					ev.UserAgent, h.asn)
			}
		}
	}
	for _, a := range []string{AttackAccountTakeover, AttackVPN, AttackTargeted,
		AttackVeryTargeted} {
		if perModel[a] < 20 {
			t.Errorf("%s: %d logins, want at least 20 of 300 users", a, perModel[a])
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

// networkInfo is what the world says of an address.
type networkInfo struct {
	city *City
	kind string // residential, hosting, vpn; empty when unknown
	asn  uint32
}

// networkOf finds the world network that holds a.
func networkOf(w *World, a netip.Addr) networkInfo {
	for _, c := range w.Cities {
		for kind, nets := range map[string][]Network{"residential": c.Residential,
			"hosting": c.Hosting, "vpn": c.VPN} {
			for _, n := range nets {
				if n.Prefix.Contains(a) {
					return networkInfo{city: c, kind: kind, asn: n.ASN}
				}
			}
		}
	}
	return networkInfo{}
}

// simWorld builds the fixture world.
func simWorld(t testing.TB) *World {
	t.Helper()
	w, err := BuildFixtureWorld(WorldOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestLegitUsersTravelPlausibly checks that no person logs in from two
// places faster than an airliner could take them, and that each user's
// events are in time order. Roaming and VPN logins leave the network
// elsewhere than the person is, and are left out.
func TestLegitUsersTravelPlausibly(t *testing.T) {
	w := simWorld(t)
	cfg := smallConfig
	cfg.Users = 300
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
		if l.Label.Kind != KindLegit || ev.User.ID == "" || l.Label.Situation == SituationRoaming ||
			l.Label.Situation == SituationVPN {
			continue
		}
		c := networkOf(w, ev.Addr()).city
		if c == nil {
			t.Fatalf("event %d: %s is in no city of the world", i+1, ev.IP)
		}
		prev, ok := last[ev.User.ID]
		last[ev.User.ID] = seen{ev.At(), c}
		if ok && ev.At().Before(prev.at) {
			t.Errorf("user %s: event at %s after one at %s", ev.User.ID, ev.Time, prev.at)
		}
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

// TestLegitNoise checks that the population has the noise a real one has:
// shared office and carrier addresses, VPN users, trips, browser updates
// and new phones, and that known_device follows the devices.
func TestLegitNoise(t *testing.T) {
	w := simWorld(t)
	cfg := smallConfig
	cfg.Users = 400
	cfg.Days = 28
	cfg.Attackers = []Attacker{}
	lines, events := readLines(t, generate(t, w, cfg))
	situations := map[string]int{}
	usersPerIP := map[string]map[string]bool{}
	agentsPerDevice := map[string]map[string]bool{}
	devices := map[string]bool{}
	var known, fresh int
	for i, l := range lines {
		ev := events[i]
		if ev.Type == engine.TypeSignup {
			devices[ev.User.ID+"/"+ev.Device.ID] = true
		}
		if !l.Label.Decisive || ev.Type != engine.TypeLogin {
			continue
		}
		situations[l.Label.Situation]++
		if usersPerIP[ev.IP] == nil {
			usersPerIP[ev.IP] = map[string]bool{}
		}
		usersPerIP[ev.IP][ev.User.ID] = true
		key := ev.User.ID + "/" + ev.Device.ID
		if ev.Device.ID != "" {
			if agentsPerDevice[key] == nil {
				agentsPerDevice[key] = map[string]bool{}
			}
			agentsPerDevice[key][ev.UserAgent] = true
			if l.Label.KnownDevice != devices[key] {
				t.Errorf("event %d: known_device %v, but the device was seen before: %v", i+1,
					l.Label.KnownDevice, devices[key])
			}
			devices[key] = true
		}
		if l.Label.KnownDevice {
			known++
		} else {
			fresh++
		}
	}
	for _, s := range []string{SituationHome, SituationMobile, SituationOffice, SituationVPN,
		SituationHotel, SituationTravel} {
		if situations[s] == 0 {
			t.Errorf("no login in situation %s: %v", s, situations)
		}
	}
	shared := 0
	for _, users := range usersPerIP {
		if len(users) >= 5 {
			shared++
		}
	}
	updated := 0
	for _, uas := range agentsPerDevice {
		if len(uas) > 1 {
			updated++
		}
	}
	if shared < 3 || updated < 20 || known < 5*fresh {
		t.Errorf("%d addresses shared by 5 or more users, %d browsers updated, %d logins on "+
			"known devices and %d on new ones", shared, updated, known, fresh)
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
	w := simWorld(t)
	for _, cfg := range []Config{{Days: 400}, {Days: -1}, {Users: -5}, {SignupShare: 1.5}} {
		if _, err := Generate(w, cfg); err == nil {
			t.Errorf("Generate(%+v) succeeded", cfg)
		}
	}
	if _, err := Generate(&World{}, Config{}); err == nil {
		t.Error("Generate in an empty world succeeded")
	}
}

// TestReadWrite checks that a written stream reads back as it was, and
// that Read names the line of a bad record.
func TestReadWrite(t *testing.T) {
	w := simWorld(t)
	recs, err := Generate(w, Config{Seed: 5, Users: 30, Days: 5})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, recs); err != nil {
		t.Fatal(err)
	}
	got, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(recs, got, cmpopts.IgnoreUnexported(engine.Event{}, engine.User{})); diff != "" {
		t.Errorf("read back (-wrote +read):\n%s", diff)
	}
	for _, tc := range []struct{ text, want string }{
		{"{\"event\":{\"type\":\"login\",\"ip\":\"1.2.3.4\"}}\n\nnope\n", "line 3"},
		{`{"label":{"kind":"legit"}}`, `line 1: no "event"`},
		{`{"event":{"type":"login","ip":"1.2.3.4","usr":{}}}`, "line 1: event"},
	} {
		if _, err := Read(strings.NewReader(tc.text)); err == nil ||
			!strings.Contains(err.Error(), tc.want) {
			t.Errorf("Read(%q) = %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
	plain, err := Read(strings.NewReader(`{"event":{"type":"login","ip":"1.2.3.4"}}`))
	if err != nil || len(plain) != 1 || plain[0].Label.Kind != KindLegit || plain[0].Label.Decisive {
		t.Errorf("a bare event reads as %+v, %v; want one legitimate, not decisive", plain, err)
	}
}
