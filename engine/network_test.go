package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
	"github.com/verdictrisk/verdict/signals/network"
)

// netFixture is an engine over the geotest data, the default feeds and
// three more lists (a Tor exit, a blocklist, an office allowlist), behind a
// trusted proxy at 10.0.0.5.
type netFixture struct {
	st    *setup.Stack
	world geotest.FixtureInfo
	clock time.Time
}

const torExit, abusive, office = "185.220.101.7", "45.155.205.233", "198.51.99.10"

func newNetFixture(t testing.TB) *netFixture {
	t.Helper()
	dir := t.TempDir()
	world, err := geotest.Fixture(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"lists/tor.txt":    torExit + "\n",
		"lists/abuse.txt":  "10.0.0.0/8\n45.155.205.0/24\n",
		"lists/office.txt": "198.51.99.0/24\n",
		"feeds.yaml": `lists:
  - name: datacenter
    type: cidr
    role: hosting
    sources: [lists/datacenter-ipv4.txt, lists/datacenter-ipv6.txt]
  - {name: vpn, type: cidr, role: vpn, sources: [lists/vpn-ipv4.txt, lists/vpn-ipv6.txt]}
  - {name: bad_asn, type: asn, role: hosting, sources: [lists/bad-asn-list.csv]}
  - {name: tor, type: cidr, role: tor, sources: [lists/tor.txt]}
  - {name: abuse, type: cidr, role: block, sources: [lists/abuse.txt]}
  - {name: office, type: cidr, role: allow, sources: [lists/office.txt]}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := network.ParseProxies([]string{"10.0.0.5", "2001:db8:1::/48"})
	if err != nil {
		t.Fatal(err)
	}
	f := &netFixture{world: world, clock: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	f.st, err = setup.New(t.Context(), setup.Options{Rules: set, DataDir: dir, Proxies: proxies,
		Tune: func(o *engine.Options) { o.Now = func() time.Time { return f.clock } }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	return f
}

// decide decides a raw JSON event; time and user agent are filled in.
func (f *netFixture) decide(t testing.TB, body string) *engine.Decision {
	t.Helper()
	var ev engine.Event
	if err := engine.DecodeEvent([]byte(body), &ev); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if ev.Time == "" {
		ev.Time = f.clock.Format(time.RFC3339)
	}
	if ev.UserAgent == "" {
		ev.UserAgent = chromeUA
	}
	d, err := f.st.Decide(t.Context(), &ev)
	if err != nil {
		t.Fatalf("decide %s: %v", body, err)
	}
	return d
}

func (f *netFixture) addr(place string) string { return f.world.MustPlace(place).Addr4().String() }

// TestNetworkSignals: every kind of address gets the right ip.* values.
func TestNetworkSignals(t *testing.T) {
	f := newNetFixture(t)
	do := f.addr("DigitalOcean")
	tests := []struct {
		name, ip      string
		kind          string
		country       string
		asn           int
		hosting, vpn  bool
		tor, blocked  bool
		allowed       bool
		lists         []string
		missing       []string
		private, miss bool
	}{
		{name: "datacenter range", ip: do, kind: "public", asn: 14061, hosting: true,
			lists: []string{"datacenter", "bad_asn"}, missing: []string{"geo"}},
		{name: "mapped IPv6 of a datacenter", ip: "::ffff:" + do, kind: "public", asn: 14061,
			hosting: true, lists: []string{"datacenter", "bad_asn"}, missing: []string{"geo"}},
		{name: "datacenter IPv6", ip: "2604:a880::77", kind: "public", asn: 14061, hosting: true,
			lists: []string{"datacenter", "bad_asn"}, missing: []string{"geo"}},
		{name: "vpn", ip: f.addr("ProtonVPN"), kind: "public", asn: 209103, vpn: true,
			lists: []string{"vpn"}, missing: []string{"geo"}},
		{name: "tor exit", ip: torExit, kind: "public", tor: true, lists: []string{"tor"},
			missing: []string{"geo", "asn"}},
		{name: "blocklisted", ip: abusive, kind: "public", blocked: true, lists: []string{"abuse"},
			missing: []string{"geo", "asn"}},
		{name: "allowlisted", ip: office, kind: "public", allowed: true, lists: []string{"office"},
			missing: []string{"geo", "asn"}},
		{name: "residential", ip: f.addr("Berlin"), kind: "public", country: "DE", asn: 3320},
		{name: "CGNAT", ip: "100.64.3.4", kind: "cgnat", private: true,
			missing: []string{"geo", "asn", "network_lists"}},
		{name: "ULA", ip: "fd12:3456::1", kind: "private", private: true,
			missing: []string{"geo", "asn", "network_lists"}},
		{name: "private in a blocklist is never blocked", ip: "10.9.9.9", kind: "private",
			private: true, missing: []string{"geo", "asn", "network_lists"}},
		{name: "public miss", ip: "203.0.114.5", kind: "public", miss: true,
			missing: []string{"geo", "asn"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := f.decide(t, fmt.Sprintf(`{"type":"login","outcome":"succeeded","ip":%q,"user":{"id":"u-%s"}}`,
				tc.ip, strings.ReplaceAll(tc.name, " ", "-")))
			ip := d.Signals.IP
			got := []any{ip.Kind, ip.Country, ip.ASN, ip.Hosting, ip.VPN, ip.Tor, ip.Blocklisted,
				ip.Allowlisted, ip.Private}
			want := []any{tc.kind, tc.country, tc.asn, tc.hosting, tc.vpn, tc.tor, tc.blocked,
				tc.allowed, tc.private}
			if !slices.Equal(got, want) {
				t.Errorf("kind, country, asn, hosting, vpn, tor, blocklisted, allowlisted, private\n"+
					"got  %v\nwant %v", got, want)
			}
			if !slices.Equal(ip.Lists, tc.lists) {
				t.Errorf("lists = %v, want %v", ip.Lists, tc.lists)
			}
			if !slices.Equal(d.Missing, orEmpty(tc.missing)) {
				t.Errorf("missing = %v, want %v", d.Missing, tc.missing)
			}
			if tc.miss && (ip.Lat != 0 || ip.Lon != 0 || ip.City != "" || ip.Org != "") {
				t.Errorf("a miss reports a place: %+v", ip)
			}
			if ip.Version == 6 && strings.HasPrefix(tc.ip, "::ffff:") {
				t.Errorf("mapped address kept as IPv6: %+v", ip)
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestClientIPThroughProxies: the forwarded address is believed only from
// the trusted proxy, and only its rightmost untrusted entry.
func TestClientIPThroughProxies(t *testing.T) {
	f := newNetFixture(t)
	berlin, do := f.addr("Berlin"), f.addr("DigitalOcean")
	tests := []struct{ name, peer, xff, forwarded, want string }{
		{"untrusted peer's header ignored", do, berlin, "", do},
		{"spoofed leftmost entry", "10.0.0.5", berlin + ", " + do, "", do},
		{"port", "10.0.0.5", do + ":51234", "", do},
		{"brackets and port", "10.0.0.5", "[2604:a880::9]:443", "", "2604:a880::9"},
		{"zone", "10.0.0.5", "fe80::1%eth0", "", "fe80::1"},
		{"Forwarded wins", "10.0.0.5", berlin, `for=` + berlin + `, for="[2604:a880::9]:443";proto=https`,
			"2604:a880::9"},
		{"trusted IPv6 proxy", "2001:db8:1::10", "2001:db8:1::11, " + do, "", do},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"type":"login","ip":%q,"forwarded_for":%q,"user":{"id":"p"}`,
				tc.peer, tc.xff)
			if tc.forwarded != "" {
				body += fmt.Sprintf(`,"headers":{"forwarded":%q}`, tc.forwarded)
			}
			d := f.decide(t, body+"}")
			if d.Signals.IP.Address != tc.want {
				t.Errorf("client = %s, want %s", d.Signals.IP.Address, tc.want)
			}
		})
	}
}

// TestIPv6RotationInsideA64: an attacker rotating addresses inside one /64
// escapes per-address counters but not the per-network ones.
func TestIPv6RotationInsideA64(t *testing.T) {
	f := newNetFixture(t)
	var d *engine.Decision
	for i := range 25 {
		d = f.decide(t, fmt.Sprintf(`{"id":"rot-%d","type":"login","outcome":"failed",`+
			`"ip":"2003:e0:1:2::%x","user":{"id":"victim-%d"}}`, i, i+1, i))
		f.clock = f.clock.Add(5 * time.Second)
	}
	v := d.Velocity()
	if v["failed_logins_per_ip"] != 1 || v["failed_logins_per_network"] != 25 ||
		v["users_per_network"] != 25 {
		t.Errorf("counters after 25 rotated failures: %v", v)
	}
	if d.Signals.IP.Network != "2003:e0:1:2::/64" {
		t.Errorf("ip.network = %s", d.Signals.IP.Network)
	}
	if d.Action.String() == "allow" || !hasReason(d, "credential_stuffing_network") {
		t.Errorf("rotation inside a /64: %s %v", d.Action, d.Reasons)
	}
}

func hasReason(d *engine.Decision, code string) bool {
	return slices.ContainsFunc(d.Reasons, func(r engine.Reason) bool { return r.Code == code })
}

// TestEmailSignalsAndIdentity: every spelling of one mailbox normalises to
// one address, which keys the profile when there is no user id.
func TestEmailSignalsAndIdentity(t *testing.T) {
	f := newNetFixture(t)
	tests := []struct{ in, normalized, domain, skeleton string }{
		{"  John.Doe+shop@GoogleMail.com ", "johndoe@gmail.com", "gmail.com", "johndoe"},
		{"j.o.h.n.d.o.e@gmail.com", "johndoe@gmail.com", "gmail.com", "johndoe"},
		{"JOHNDOE+x@gmail.com", "johndoe@gmail.com", "gmail.com", "johndoe"},
		{"anna-shop@yahoo.com", "anna@yahoo.com", "yahoo.com", "anna"},
		{"a.b+c@example.com", "a.b+c@example.com", "example.com", "a.b+c"},
		{"info@Bücher.de", "info@xn--bcher-kva.de", "xn--bcher-kva.de", "info"},
		{"p\u0430ypal@example.com", "p\u0430ypal@example.com", "example.com", "paypal"},
	}
	for _, tc := range tests {
		d := f.decide(t, fmt.Sprintf(`{"type":"login","ip":%q,"user":{"email":%q}}`,
			f.addr("London"), tc.in))
		e := d.Signals.Email
		if e.Normalized != tc.normalized || e.Domain != tc.domain || e.Skeleton != tc.skeleton ||
			d.Signals.User.Key != tc.normalized {
			t.Errorf("%q: email %+v, user key %q", tc.in, e, d.Signals.User.Key)
		}
	}
	for _, addr := range []string{"bot@mailinator.com", "bot@eu.mailinator.com", "bot@MAILINATOR.com"} {
		d := f.decide(t, fmt.Sprintf(`{"type":"signup","ip":%q,"user":{"email":%q}}`,
			f.addr("London"), addr))
		if !d.Signals.Email.Disposable || d.Action != rules.StepUp || !hasReason(d, "disposable_email") {
			t.Errorf("%s: disposable %v, %s %v", addr, d.Signals.Email.Disposable, d.Action, d.Reasons)
		}
	}
	d := f.decide(t, fmt.Sprintf(`{"type":"signup","ip":%q,"user":{"email":"anna@gmail.com"}}`,
		f.addr("London")))
	if d.Signals.Email.Disposable || d.Action != rules.Allow {
		t.Errorf("ordinary signup: disposable %v, %s %v", d.Signals.Email.Disposable, d.Action, d.Reasons)
	}
}

// TestDefaultNetworkRules: the default pack steps up Tor logins and
// hosting signups, denies blocklisted addresses, and leaves a known user on
// a VPN alone.
func TestDefaultNetworkRules(t *testing.T) {
	f := newNetFixture(t)
	login := func(user, ip, device string) *engine.Decision {
		f.clock = f.clock.Add(time.Hour)
		return f.decide(t, fmt.Sprintf(`{"type":"login","outcome":"succeeded","ip":%q,`+
			`"user":{"id":%q},"device":{"id":%q}}`, ip, user, device))
	}
	// A known user at home, then on their own laptop through a VPN and a
	// cloud proxy: allowed, with the small hosting score.
	login("kim", f.addr("Berlin"), "kim-laptop")
	for _, ip := range []string{f.addr("ProtonVPN"), f.addr("DigitalOcean")} {
		d := login("kim", ip, "kim-laptop")
		if d.Action != rules.Allow || !hasReason(d, "hosting_network") {
			t.Errorf("known user via %s: %s %d %v", ip, d.Action, d.Score, d.Reasons)
		}
	}
	known := func(ip string) string {
		return `{"type":"login","outcome":"succeeded","ip":"` + ip +
			`","user":{"id":"kim"},"device":{"id":"kim-laptop"}}`
	}
	signup := func(ip, email string) string {
		return `{"type":"signup","ip":"` + ip + `","user":{"email":"` + email + `"}}`
	}
	tests := []struct {
		name, body, action, reason string
	}{
		{"tor login", known(torExit), "step_up", "tor_exit"},
		{"hosting signup", signup(f.addr("DigitalOcean"), "new@example.com"),
			"step_up", "signup_hosting_network"},
		{"vpn signup", signup(f.addr("ProtonVPN"), "new2@example.com"),
			"step_up", "signup_hosting_network"},
		{"blocklisted login", known(abusive), "deny", "blocklisted_network"},
		{"blocklisted signup", signup(abusive, "x@example.com"), "deny", "blocklisted_network"},
		{"office signup", signup(office, "colleague@mailinator.com"), "allow", ""},
	}
	for _, tc := range tests {
		d := f.decide(t, tc.body)
		if d.Action.String() != tc.action || tc.reason != "" && !hasReason(d, tc.reason) {
			t.Errorf("%s: %s %d %v, want %s with %s", tc.name, d.Action, d.Score, d.Reasons,
				tc.action, tc.reason)
		}
	}
	if msg := f.decide(t, tests[3].body).Reasons[0].Message; msg != "address on a blocklist (abuse)" {
		t.Errorf("blocklist message %q", msg)
	}
}
