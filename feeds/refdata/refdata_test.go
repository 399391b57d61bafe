package refdata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdictrisk/verdict/feeds/lists"
	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/geo"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// writeAtomic replaces path by renaming a new file over it, as deploy
// tools do.
func writeAtomic(t testing.TB, path, body string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t testing.TB, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// config returns a configuration with fast reloads and the given lists.
func config(t testing.TB, yaml string) *Config {
	t.Helper()
	c, err := ParseConfig("test.yaml", []byte("settle: 50ms\nretry: 100ms\n"+yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func open(t testing.TB, dir string, c *Config, o ...func(*Options)) *Manager {
	t.Helper()
	opts := Options{DataDir: dir, Config: c}
	for _, f := range o {
		f(&opts)
	}
	m, err := Open(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func match(m *Manager, addr string, asn uint32) (signals.IP, bool) {
	var ip signals.IP
	ok := m.Lists().Match(netip.MustParseAddr(addr), asn, &ip)
	return ip, ok
}

// eventually polls cond for up to 10 seconds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const twoLists = `
lists:
  - {name: dc, type: cidr, role: hosting, sources: [lists/dc.txt]}
  - {name: badasn, type: asn, role: hosting, sources: [lists/asn.txt]}
  - {name: tor, type: cidr, role: tor, sources: [lists/tor.txt]}
  - {name: abuse, type: cidr, role: block, sources: [lists/abuse.txt]}
  - {name: office, type: cidr, role: allow, sources: [lists/office.txt]}
`

func writeTwoLists(t testing.TB, dir string) {
	mustWrite(t, filepath.Join(dir, "lists/dc.txt"), "203.0.114.0/24\n2a01:4f8::/32\n")
	mustWrite(t, filepath.Join(dir, "lists/asn.txt"), "AS14061\n")
	mustWrite(t, filepath.Join(dir, "lists/tor.txt"), "185.220.101.7\n")
	mustWrite(t, filepath.Join(dir, "lists/abuse.txt"), "10.0.0.0/8\n45.155.205.0/24\n")
	mustWrite(t, filepath.Join(dir, "lists/office.txt"), "198.51.99.0/24\n45.155.205.9\n")
}

func TestMatchRoles(t *testing.T) {
	dir := t.TempDir()
	writeTwoLists(t, dir)
	m := open(t, dir, config(t, twoLists))
	tests := []struct {
		addr  string
		asn   uint32
		lists []string
		check func(signals.IP) bool
	}{
		{"203.0.114.9", 0, []string{"dc"}, func(ip signals.IP) bool { return ip.Hosting && !ip.VPN }},
		{"::ffff:203.0.114.9", 0, []string{"dc"}, func(ip signals.IP) bool { return ip.Hosting }},
		{"2a01:4f8:1::1", 0, []string{"dc"}, func(ip signals.IP) bool { return ip.Hosting }},
		{"8.8.8.8", 14061, []string{"badasn"}, func(ip signals.IP) bool { return ip.Hosting }},
		{"185.220.101.7", 0, []string{"tor"}, func(ip signals.IP) bool { return ip.Tor && !ip.Hosting }},
		{"45.155.205.1", 0, []string{"abuse"}, func(ip signals.IP) bool { return ip.Blocklisted }},
		{"45.155.205.9", 0, []string{"abuse", "office"},
			func(ip signals.IP) bool { return ip.Blocklisted && ip.Allowlisted }},
		{"10.1.2.3", 0, nil, func(ip signals.IP) bool { return !ip.Blocklisted }},
		{"1.1.1.1", 13335, nil, func(ip signals.IP) bool {
			return !ip.Hosting && !ip.VPN && !ip.Tor && !ip.Blocklisted && !ip.Allowlisted
		}},
	}
	for _, tc := range tests {
		ip, ok := match(m, tc.addr, tc.asn)
		if !ok || strings.Join(ip.Lists, ",") != strings.Join(tc.lists, ",") || !tc.check(ip) {
			t.Errorf("%s AS%d: lists %v %+v (complete %v), want %v", tc.addr, tc.asn, ip.Lists,
				ip, ok, tc.lists)
		}
	}
	st := m.Feed("abuse").Status()
	if st.Entries != 1 || st.Warnings != 1 || len(st.Problems) != 1 ||
		st.Problems[0] != "lists/abuse.txt:1: 10.0.0.0/8 overlaps private address space; ignored in a blocklist" {
		t.Errorf("abuse status = %+v", st)
	}
}

// TestReloadOnFileChange: a list replaced by rename, then overwritten in
// place, is picked up by the watcher within seconds and no restart.
func TestReloadOnFileChange(t *testing.T) {
	dir := t.TempDir()
	writeTwoLists(t, dir)
	m := open(t, dir, config(t, twoLists))
	m.Start(t.Context())
	listed := func(addr string) func() bool {
		return func() bool { ip, _ := match(m, addr, 0); return ip.Hosting }
	}
	if listed("93.184.216.34")() {
		t.Fatal("listed before the change")
	}
	writeAtomic(t, filepath.Join(dir, "lists/dc.txt"), "203.0.114.0/24\n93.184.216.0/24\n")
	eventually(t, "renamed list picked up", listed("93.184.216.34"))

	mustWrite(t, filepath.Join(dir, "lists/dc.txt"), "93.184.216.0/24\n5.5.5.0/24\n")
	eventually(t, "overwritten list picked up", listed("5.5.5.5"))
	if listed("203.0.114.9")() {
		t.Error("a range removed from the file is still listed")
	}
	if st := m.Feed("dc").Status(); st.Entries != 2 || !st.LastOK || st.Errors != 0 {
		t.Errorf("status after reloads: %+v", st)
	}
}

// TestSourceDisappears: the last good copy stays in use, the error and the
// copy's age are reported, and the list comes back with its file.
func TestSourceDisappears(t *testing.T) {
	dir := t.TempDir()
	writeTwoLists(t, dir)
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m := open(t, dir, config(t, twoLists), func(o *Options) { o.Now = clock })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collector())

	os.Remove(filepath.Join(dir, "lists/tor.txt"))
	mu.Lock()
	now = now.Add(90 * time.Second)
	mu.Unlock()
	err := m.Reload(t.Context(), "tor")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("reload error = %v, want ErrNotFound", err)
	}
	if ip, ok := match(m, "185.220.101.7", 0); !ip.Tor || !ok {
		t.Error("last good copy not in use")
	}
	st := m.Feed("tor").Status()
	if !st.Loaded || st.LastOK || st.Errors != 1 || st.Entries != 1 || st.AgeSeconds != 90 ||
		!strings.Contains(st.LastError, "tor.txt: source not found") {
		t.Errorf("status = %+v", st)
	}
	for metric, want := range map[string]float64{
		"verdict_feed_loaded": 1, "verdict_feed_last_load_successful": 0,
		"verdict_feed_load_errors_total": 1, "verdict_feed_age_seconds": 90,
		"verdict_feed_entries": 1,
	} {
		if got := gauge(t, reg, metric, "tor"); got != want {
			t.Errorf("%s{feed=tor} = %v, want %v", metric, got, want)
		}
	}

	mustWrite(t, filepath.Join(dir, "lists/tor.txt"), "185.220.101.8\n")
	if err := m.Reload(t.Context(), "tor"); err != nil {
		t.Fatal(err)
	}
	if ip, _ := match(m, "185.220.101.8", 0); !ip.Tor {
		t.Error("restored file not used")
	}
	if st := m.Feed("tor").Status(); !st.LastOK || st.LastError != "" || st.AgeSeconds != 0 {
		t.Errorf("status after the file came back = %+v", st)
	}
}

func gauge(t testing.TB, reg *prometheus.Registry, name, feed string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if m.Label[0].GetValue() == feed {
				if m.Gauge != nil {
					return m.Gauge.GetValue()
				}
				return m.Counter.GetValue()
			}
		}
	}
	t.Fatalf("no %s{feed=%q}", name, feed)
	return 0
}

// TestJunkKeepsLastGood: an error page written over a list is refused and
// the previous copy keeps answering; a list with a few junk lines loads
// and reports them by line.
func TestJunkKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	writeTwoLists(t, dir)
	m := open(t, dir, config(t, twoLists))
	mustWrite(t, filepath.Join(dir, "lists/dc.txt"),
		"<html><body>\n<h1>503 Service Unavailable</h1>\n</body>\n</html>\n")
	if err := m.Reload(t.Context(), "dc"); !errors.Is(err, lists.ErrTooMuchJunk) {
		t.Fatalf("reload error = %v, want ErrTooMuchJunk", err)
	}
	if ip, _ := match(m, "203.0.114.9", 0); !ip.Hosting {
		t.Error("last good copy dropped")
	}
	mustWrite(t, filepath.Join(dir, "lists/dc.txt"), strings.Repeat("9.9.9.0/24\n", 20)+
		"203.0.114.0/24 # again\n203.0.114.0/23\nbogus\n2a01:4f8::/32\n")
	if err := m.Reload(t.Context(), "dc"); err != nil {
		t.Fatal(err)
	}
	st := m.Feed("dc").Status()
	if st.Entries != 4 || st.JunkLines != 1 || st.Warnings != 0 || len(st.Problems) != 1 ||
		st.Problems[0] != `lists/dc.txt:23: "bogus" is not an address or CIDR` {
		t.Errorf("status = %+v", st)
	}
	if ip, _ := match(m, "203.0.115.1", 0); !ip.Hosting {
		t.Error("overlapping /23 not used")
	}
}

// TestHTTPSource: a list from a URL, fetched conditionally, kept when the
// server fails, and booted from the cached download when it is down at
// start.
func TestHTTPSource(t *testing.T) {
	var fail atomic.Bool
	var full, notModified atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		if r.URL.Query().Get("key") != "s3cret" {
			http.Error(w, "no key", http.StatusForbidden)
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Nov 2026 08:00:00 GMT")
		w.Write([]byte("# exits\n185.220.101.7\n185.220.101.8\n"))
	}))
	defer srv.Close()
	cfg := config(t, "lists:\n  - {name: tor, type: cidr, role: tor, max_age: 6h, sources: ['"+
		srv.URL+"/exits?key=s3cret']}\n")
	cache := t.TempDir()
	m := open(t, t.TempDir(), cfg, func(o *Options) { o.CacheDir = cache })
	if ip, ok := match(m, "185.220.101.8", 0); !ip.Tor || !ok {
		t.Fatal("URL list not loaded")
	}
	if err := m.Reload(t.Context(), ""); err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	m.Feed("tor").reload(t.Context(), false)
	if full.Load() != 2 || notModified.Load() != 1 {
		t.Errorf("full fetches %d, 304s %d; want 2 and 1", full.Load(), notModified.Load())
	}
	st := m.Feed("tor").Status()
	if st.Sources[0] != srv.URL+"/exits?…" || st.Updated.Format(time.RFC3339) != "2026-11-02T08:00:00Z" {
		t.Errorf("status = %+v (the licence key must not show)", st)
	}

	fail.Store(true)
	err := m.Feed("tor").reload(t.Context(), false)
	if err == nil || !strings.Contains(err.Error(), "HTTP 502") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("reload error = %v", err)
	}
	if ip, _ := match(m, "185.220.101.7", 0); !ip.Tor {
		t.Error("last good copy dropped")
	}

	// A restart while the server is down starts from the cached copy.
	m2 := open(t, t.TempDir(), cfg, func(o *Options) { o.CacheDir = cache })
	if ip, _ := match(m2, "185.220.101.7", 0); !ip.Tor {
		t.Error("not booted from the cached download")
	}
	st = m2.Feed("tor").Status()
	if !st.Loaded || !strings.Contains(st.LastError, "using the copy downloaded") {
		t.Errorf("status after a cached boot = %+v", st)
	}
}

// TestStaleList: a list past its max_age still answers, but Match reports
// the list signals incomplete.
func TestStaleList(t *testing.T) {
	dir := t.TempDir()
	writeTwoLists(t, dir)
	m := open(t, dir, config(t, "lists:\n  - {name: tor, type: cidr, role: tor, max_age: 1ms, "+
		"sources: [lists/tor.txt]}\n"))
	time.Sleep(5 * time.Millisecond)
	ip, complete := match(m, "185.220.101.7", 0)
	if !ip.Tor || complete {
		t.Errorf("stale list: tor %v complete %v, want true and false", ip.Tor, complete)
	}
	if !m.Feed("tor").Status().Stale {
		t.Error("status not stale")
	}
}

// TestMissingAtStart: absent files leave the feed without a copy (its
// signals missing) and do not stop the start; a broken file does.
func TestMissingAtStart(t *testing.T) {
	m := open(t, t.TempDir(), config(t, twoLists))
	if _, complete := match(m, "1.1.1.1", 0); complete {
		t.Error("lists without files reported complete")
	}
	got := strings.Join(m.Missing(), ",")
	if got != "geo,asn,email_domains,network_lists,crawler_patterns" {
		t.Errorf("missing = %s", got)
	}
	dir := t.TempDir()
	writeTwoLists(t, dir)
	mustWrite(t, filepath.Join(dir, "lists/tor.txt"), "not a list\n")
	_, err := Open(t.Context(), Options{DataDir: dir, Config: config(t, twoLists)})
	if !errors.Is(err, lists.ErrTooMuchJunk) || !strings.Contains(err.Error(), "feed tor") {
		t.Errorf("Open with a broken list = %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "refersh: 1h\n", "line 1: field refersh not found"},
		{"unknown list key", "lists:\n  - {name: a, type: cidr, source: [x]}\n", "field source not found"},
		{"bad duration", "refresh: soon\n", `"soon" is not a duration`},
		{"bad name", "lists:\n  - {name: Tor Exits, type: cidr, sources: [x]}\n", `name "Tor Exits" must be`},
		{"reserved name", "lists:\n  - {name: geo_city, type: cidr, sources: [x]}\n", `"geo_city" is already used`},
		{"duplicate", "lists:\n  - {name: a, type: cidr, sources: [x]}\n  - {name: a, type: asn, sources: [y]}\n",
			`lists[1] (a): name "a" is already used`},
		{"bad type", "lists:\n  - {name: a, type: ip, sources: [x]}\n", `type "ip" is not cidr or asn`},
		{"bad role", "lists:\n  - {name: a, type: cidr, role: evil, sources: [x]}\n", `role "evil" is not one of`},
		{"no sources", "lists:\n  - {name: a, type: cidr}\n", "at least one file or URL"},
		{"ftp", "lists:\n  - {name: a, type: cidr, sources: ['ftp://h/x']}\n", "only file paths and http(s) URLs"},
		{"mmdb url", "geo:\n  city: ['https://h/x.mmdb']\n", "MMDB files are read from disk only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("feeds.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), "feeds.yaml") {
				t.Errorf("error = %v, want it to say %q", err, tc.want)
			}
		})
	}
	c, err := ParseConfig("empty.yaml", nil)
	if err != nil || c.Refresh.D() != DefaultRefresh || c.Lists != nil {
		t.Errorf("empty config: %+v, %v", c, err)
	}
	c, err = ParseConfig("d.yaml", []byte("refresh: 7d\nlists:\n  - {name: a, type: asn, sources: [x]}\n"))
	if err != nil || c.Refresh.D() != 7*24*time.Hour || c.Lists[0].Role != lists.Label ||
		c.Lists[0].Refresh.D() != 7*24*time.Hour {
		t.Errorf("config = %+v, %v", c, err)
	}
	if d := DefaultConfig(); len(d.Lists) != 3 {
		t.Errorf("default config has %d lists", len(d.Lists))
	}
}

// TestCityRewrittenInPlaceUnderLoad: the city database is overwritten in
// place, slowly, while lookups run. Every lookup answers from the old or
// the new file, never crashes, and the new one is used once complete.
func TestCityRewrittenInPlaceUnderLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := geotest.Fixture(dir); err != nil {
		t.Fatal(err)
	}
	m := open(t, dir, config(t, "lists: []\n"))
	m.Start(t.Context())
	berlin := netip.MustParseAddr("93.192.0.1")
	if loc, _ := m.City().Lookup(berlin); loc.City != "Berlin" {
		t.Fatalf("before: %+v", loc)
	}
	// The new file moves the Berlin block to Hamburg.
	newFile := filepath.Join(t.TempDir(), "new.mmdb")
	if err := geotest.WriteDBIPCity(newFile, 4, []geotest.City{
		{Prefix: "93.192.0.0/16", Country: "DE", Region: "Hamburg", City: "Hamburg", Lat: 53.55, Lon: 9.99},
		{Prefix: "8.8.8.0/24", Country: "US", City: "Mountain View", Lat: 37.4, Lon: -122.1},
	}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(newFile)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var lookups, bad atomic.Int64
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				loc, ok := m.City().Lookup(berlin)
				lookups.Add(1)
				if !ok || loc.City != "Berlin" && loc.City != "Hamburg" {
					bad.Add(1)
				}
			}
		})
	}
	overwriteSlowly(t, filepath.Join(dir, geo.CityIPv4File), data)
	eventually(t, "rewritten database picked up", func() bool {
		loc, _ := m.City().Lookup(berlin)
		return loc.City == "Hamburg"
	})
	cancel()
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d of %d lookups answered neither the old nor the new file", bad.Load(), lookups.Load())
	}
	st := m.Feed(FeedCity).Status()
	if !st.Loaded || !st.LastOK {
		t.Errorf("city status = %+v", st)
	}

	// A file left half-written is refused; the complete one stays.
	if err := os.WriteFile(filepath.Join(dir, geo.CityIPv4File), data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(t.Context(), FeedCity); err == nil {
		t.Error("a half-written database was accepted")
	}
	if loc, _ := m.City().Lookup(berlin); loc.City != "Hamburg" {
		t.Errorf("after a torn write: %+v", loc)
	}
}

// overwriteSlowly truncates path and writes data into it in pieces with
// pauses longer than the settle time, as a slow copy over the file would:
// the watcher sees several half-written versions.
func overwriteSlowly(t testing.TB, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	step := len(data)/4 + 1
	for off := 0; off < len(data); off += step {
		end := min(off+step, len(data))
		if _, err := f.Write(data[off:end]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(120 * time.Millisecond)
	}
}

// TestShrunkListKeepsLastGood: a reload that would leave a list of
// thousands of entries with under a tenth of them is refused, the copy in
// use stays, and the error says that a restart takes the new copy, as it
// does; a smaller drop loads.
func TestShrunkListKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lists/dc.txt")
	cfg := "lists:\n  - {name: dc, type: cidr, role: hosting, sources: [lists/dc.txt]}\n"
	nets := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "11.%d.%d.0/24\n", i/256, i%256)
		}
		return b.String()
	}
	mustWrite(t, path, nets(2000))
	m := open(t, dir, config(t, cfg))
	mustWrite(t, path, nets(150))
	err := m.Reload(t.Context(), "dc")
	if !errors.Is(err, ErrShrunk) || !strings.Contains(err.Error(), "(150, down from 2000)") ||
		!strings.Contains(err.Error(), "restart") {
		t.Fatalf("reload error = %v, want ErrShrunk with the counts", err)
	}
	if st := m.Feed("dc").Status(); st.Entries != 2000 || st.LastOK ||
		!strings.Contains(st.LastError, "restart") {
		t.Errorf("status = %+v", st)
	}
	if ip, _ := match(m, "11.7.200.1", 0); !ip.Hosting {
		t.Error("last good copy dropped")
	}

	restarted := open(t, dir, config(t, cfg))
	if n := restarted.Feed("dc").Status().Entries; n != 150 {
		t.Errorf("after a restart: %d entries, want the 150 of the file", n)
	}

	mustWrite(t, path, nets(400))
	if err := m.Reload(t.Context(), "dc"); err != nil {
		t.Fatal(err)
	}
	if n := m.Feed("dc").Status().Entries; n != 400 {
		t.Errorf("a drop to a fifth: %d entries, want 400", n)
	}
}
