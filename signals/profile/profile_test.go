package profile

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/verdictrisk/verdict/signals"
)

var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC) // a Monday

func obs(at time.Time, dev, country string) Observation {
	return Observation{At: at, Device: dev, Country: country, ASN: "3320",
		Network: "81.2.69.0/24", Place: Place{Lat: 52.5, Lon: 13.4, Country: country, HasGeo: true, IPVersion: 4}}
}

func TestLearn(t *testing.T) {
	var p Profile
	if p.Known() {
		t.Fatal("empty profile is known")
	}
	p.Learn(obs(t0, "dev1", "DE"))
	p.Learn(obs(t0.Add(time.Hour), "dev1", "DE"))
	p.Learn(obs(t0.Add(2*time.Hour), "dev2", "FR"))
	if !p.Known() || p.Logins != 3 {
		t.Fatalf("logins = %d", p.Logins)
	}
	if !p.HasDevice("dev1") || !p.HasDevice("dev2") || p.HasDevice("dev3") || p.HasDevice("") {
		t.Error("devices wrong")
	}
	if !p.HasCountry("FR") || p.HasCountry("US") {
		t.Error("countries wrong")
	}
	if got := p.Devices[0]; got.Count != 2 || got.First != t0.Unix() || got.Last != t0.Add(time.Hour).Unix() {
		t.Errorf("dev1 = %+v", got)
	}
	if p.Last.At != t0.Add(2*time.Hour).Unix() || p.Last.Country != "FR" {
		t.Errorf("last = %+v", p.Last)
	}
	if p.HourOfWeek[9] != 1 || p.HourOfWeek[10] != 1 || p.HourOfWeek[11] != 1 {
		t.Errorf("hour of week = %v", p.HourOfWeek[:12])
	}
}

func TestDevicesBounded(t *testing.T) {
	var p Profile
	for i := range MaxDevices + 5 {
		p.Learn(obs(t0.Add(time.Duration(i)*time.Minute), fmt.Sprint("dev", i), "DE"))
	}
	if len(p.Devices) != MaxDevices {
		t.Fatalf("%d devices", len(p.Devices))
	}
	if p.HasDevice("dev0") || !p.HasDevice(fmt.Sprint("dev", MaxDevices+4)) {
		t.Error("the least recently seen device should go first")
	}
}

func TestExpire(t *testing.T) {
	var p Profile
	p.Learn(obs(t0, "old", "DE"))
	p.Learn(obs(t0.Add(200*24*time.Hour), "new", "FR"))
	p.Expire(t0.Add(200*24*time.Hour - 180*24*time.Hour))
	if p.HasDevice("old") || !p.HasDevice("new") || p.HasCountry("DE") {
		t.Errorf("expire kept %+v %+v", p.Devices, p.Countries)
	}
}

func TestTravel(t *testing.T) {
	berlin := Place{At: t0.Unix(), Lat: 52.52, Lon: 13.405, Country: "DE", HasGeo: true, IPVersion: 4}
	sydney := Place{Lat: -33.87, Lon: 151.21, Country: "AU", HasGeo: true, IPVersion: 4}
	at := func(p Place, d time.Duration) Place { p.At = t0.Add(d).Unix(); return p }
	tests := []struct {
		name       string
		prev       *Place
		cur        Place
		impossible bool
		anonymous  bool
	}{
		{"first login", nil, at(sydney, time.Hour), false, false},
		{"berlin to sydney in an hour", &berlin, at(sydney, time.Hour), true, false},
		{"berlin to sydney in a day", &berlin, at(sydney, 24*time.Hour), false, false},
		{"same minute same city", &berlin, at(berlin, 0), false, false},
		{"hop through a vpn", &berlin, func() Place { p := at(sydney, time.Hour); p.Anonymous = true; return p }(), false, true},
		{"country centroid", &berlin, func() Place { p := at(sydney, time.Hour); p.CountryOnly = true; return p }(), false, false},
		{"no geo", &berlin, Place{At: t0.Add(time.Hour).Unix()}, false, false},
		{"v4 to v6 in one country", &berlin, func() Place {
			p := at(berlin, time.Minute)
			p.Lat, p.Lon, p.IPVersion = 48.14, 11.58, 6 // Munich
			return p
		}(), false, false},
		{"late report of an earlier login", &berlin, at(sydney, -20*time.Hour), false, false},
		{"wide accuracy radii", &Place{At: t0.Unix(), Lat: 52.52, Lon: 13.405, AccuracyKm: 500, HasGeo: true, IPVersion: 4},
			func() Place { p := at(berlin, time.Minute); p.Lat, p.Lon, p.AccuracyKm = 48.85, 2.35, 500; return p }(), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Travel(tc.prev, tc.cur, DefaultTravel)
			if got.Impossible != tc.impossible || got.Anonymous != tc.anonymous {
				t.Errorf("got %+v", got)
			}
		})
	}
	got := Travel(&berlin, at(sydney, 10*time.Hour), DefaultTravel)
	if got.Km < 16000 || got.Km > 16200 || got.Hours != 10 {
		t.Errorf("berlin-sydney = %+v", got)
	}
	// An event stamped before the last login has no travel signals at all.
	if got := Travel(&berlin, at(sydney, -20*time.Hour), DefaultTravel); got != (signals.Travel{}) {
		t.Errorf("late report = %+v, want no travel", got)
	}
}

// TestLateLoginKeepsTheLastPlace: a login learnt after a later one (a late
// report) counts, but the last login stays the later one.
func TestLateLoginKeepsTheLastPlace(t *testing.T) {
	var p Profile
	p.Learn(obs(t0, "dev1", "GB"))
	late := obs(t0.Add(-20*time.Hour), "dev2", "BR")
	late.Place.Lat, late.Place.Lon = -23.55, -46.63
	p.Learn(late)
	if p.Logins != 2 || !p.HasCountry("BR") {
		t.Errorf("the late login was not learnt: %+v", p)
	}
	if p.Last.At != t0.Unix() || p.Last.Country != "GB" {
		t.Errorf("last = %+v, want the later login in GB", p.Last)
	}
	if p.FirstSeen != late.At.Unix() || p.LastSeen != t0.Unix() {
		t.Errorf("first/last seen = %d/%d", p.FirstSeen, p.LastSeen)
	}
}

// TestTimesBefore1970: a profile holding a year-1 first_seen (as engines
// that accepted a zero event time wrote) reads no age from it, and the
// next event replaces it.
func TestTimesBefore1970(t *testing.T) {
	p := Profile{FirstSeen: -62135596800, CreatedAt: -1}
	if got := p.Age(t0); got != 0 {
		t.Errorf("age from a year-1 first_seen = %v", got)
	}
	p.Touch(t0, time.Time{})
	if p.FirstSeen != t0.Unix() || p.Age(t0.Add(48*time.Hour)) != 48*time.Hour {
		t.Errorf("after an event: first_seen %d, age %v", p.FirstSeen, p.Age(t0.Add(48*time.Hour)))
	}
}

func TestRiskyAt(t *testing.T) {
	var p Profile
	if p.RiskyAt(time.Unix(-30, 0)) || p.RiskyAt(time.Time{}) {
		t.Error("a profile never marked risky is risky before 1970")
	}
	p.RiskUntil = t0.Unix()
	if !p.RiskyAt(t0.Add(-time.Second)) || p.RiskyAt(t0) {
		t.Error("RiskUntil is not the end of the risky window")
	}
}

func TestStorePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profiles.db")
	s, err := Open(Options{Path: path, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Acquire("t\x00alice")
	if err != nil {
		t.Fatal(err)
	}
	if h.Profile() != nil {
		t.Fatal("new user has a profile")
	}
	h.Create().Learn(obs(time.Now(), "dev1", "DE"))
	h.Changed()
	h.Release()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Get("t\x00alice")
	if err != nil || p == nil {
		t.Fatalf("after reopen: %v, %v", p, err)
	}
	if !p.HasDevice("dev1") || !p.HasCountry("DE") || p.Logins != 1 {
		t.Errorf("profile = %+v", p)
	}
	er, err := s.Delete("t\x00alice")
	if err != nil || er.Profile == nil {
		t.Fatalf("delete: %+v %v", er, err)
	}
	if p, _ := s.Get("t\x00alice"); p != nil {
		t.Errorf("profile survived erasure: %+v", p)
	}
}

func TestStoreFlushesPeriodically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profiles.db")
	s, err := Open(Options{Path: path, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := s.Acquire("bob")
	h.Create().Learn(obs(time.Now(), "d", "FR"))
	h.Changed()
	h.Release()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.dirtyMu.Lock()
		n := len(s.dirty)
		s.dirtyMu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dirty profile never flushed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Read the file directly through a second store only after closing.
	s.Close()
	s2, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	p, _ := s2.Get("bob")
	if diff := cmp.Diff([]string{"FR"}, []string{p.Countries[0].Value}); diff != "" {
		t.Error(diff)
	}
}

func TestStoreEvictsCleanProfiles(t *testing.T) {
	s, err := Open(Options{Path: filepath.Join(t.TempDir(), "p.db"), MaxCached: 128})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 2000 {
		h, err := s.Acquire(fmt.Sprint("u", i))
		if err != nil {
			t.Fatal(err)
		}
		h.Release()
	}
	if n := s.Len(); n > 128+2*numShards {
		t.Errorf("%d profiles cached, bound is about 128", n)
	}
}

// TestHashesJSON: alias hashes are written as strings, so JavaScript
// readers keep every bit, and read back from strings and from the numbers
// older profiles hold.
func TestHashesJSON(t *testing.T) {
	p := Profile{Aliases: Hashes{13987820106878992670, 7}}
	b, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"aliases":["13987820106878992670","7"]`) {
		t.Errorf("aliases in JSON: %s", b)
	}
	for _, in := range []string{`{"aliases":["13987820106878992670","7"]}`,
		`{"aliases":[13987820106878992670,7]}`} {
		var back Profile
		if err := json.Unmarshal([]byte(in), &back); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if len(back.Aliases) != 2 || back.Aliases[0] != 13987820106878992670 || back.Aliases[1] != 7 {
			t.Errorf("%s read back as %v", in, back.Aliases)
		}
	}
	var bad Profile
	if err := json.Unmarshal([]byte(`{"aliases":["x"]}`), &bad); err == nil {
		t.Error("a hash that is not a number was accepted")
	}
}
