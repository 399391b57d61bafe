package profile

import (
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// full returns a profile with every field set, so that a field added to
// Profile without its appender fails TestAppendJSONEqualsMarshal.
func full(i int) *Profile {
	p := &Profile{Key: "t\x00user"}
	typical(p, i)
	p.CreatedAt, p.RiskUntil = t0.Unix()-86400, t0.Unix()+3600
	p.Devices[0].Trusted = true
	p.Last.AccuracyKm, p.Last.ASN, p.Last.CountryOnly, p.Last.Anonymous = 20, 3320, true, true
	return p
}

func lesson(prev *Place) *Lesson {
	o := fullObs(t0, "pc", "DE", "81.2.69.142")
	o.ASN, o.Trusted = "3320", true
	o.Place = Place{At: t0.Unix(), Lat: 52.52, Lon: 13.405, AccuracyKm: 5, Country: "DE",
		ASN: 3320, Network: "81.2.69.0/24", IPVersion: 4, CountryOnly: true, Anonymous: true,
		HasGeo: true}
	return &Lesson{User: "\x00alice", Taught: true, Obs: o, Prev: prev, Label: LabelLegit}
}

// setFields fails the test for every field of v (a struct, through
// pointers, slices and nested structs) left at its zero value; a struct type
// met again (the Seen of each list) is checked the first time only.
func setFields(t *testing.T, path string, v reflect.Value, seen map[reflect.Type]bool) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			t.Errorf("%s is nil", path)
			return
		}
		setFields(t, path, v.Elem(), seen)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() || seen[v.Type()] {
			return
		}
		seen[v.Type()] = true
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if v.Field(i).IsZero() {
				t.Errorf("%s.%s is not set", path, f.Name)
				continue
			}
			setFields(t, path+"."+f.Name, v.Field(i), seen)
		}
	case reflect.Slice:
		if v.Len() > 0 {
			setFields(t, path+"[0]", v.Index(0), seen)
		}
	}
}

func TestAppendJSONEqualsMarshal(t *testing.T) {
	setFields(t, "Profile", reflect.ValueOf(full(1)), map[reflect.Type]bool{})
	setFields(t, "Lesson", reflect.ValueOf(lesson(&Place{At: 1})), map[reflect.Type]bool{})

	odd := full(2)
	odd.Key = "t\x00<bob> & \"quotes\" \\ \u2028 é 😀 \xff"
	odd.Devices[1].Value = "\t\n\x01"
	odd.Last.Lat, odd.Last.Lon, odd.Last.AccuracyKm = 1e-7, -1e21, 123456.789
	zone := lesson(nil)
	zone.Obs.At = time.Date(2026, 3, 1, 8, 0, 0, 123456789, time.FixedZone("IST", 5*3600+1800))
	zone.Label, zone.Obs.Place.Lat = "", -0.000001
	for name, v := range map[string]encoder{
		"typical": func() *Profile { var p Profile; typical(&p, 3); return &p }(),
		"full":    full(1), "odd strings and floats": odd, "empty": &Profile{Key: "k"},
		"lesson":                    lesson(&Place{At: 7, Lat: 48.1, Lon: 11.5, HasGeo: true}),
		"lesson in a zone, no prev": zone, "empty lesson": &Lesson{},
	} {
		got, ok := v.appendJSON([]byte("prefix"))
		want, err := json.Marshal(v)
		if !ok || err != nil || string(got) != "prefix"+string(want) {
			t.Errorf("%s: appendJSON (ok %v)\n%s\nencoding/json (%v)\nprefix%s", name, ok, got, err, want)
		}
	}
}

// TestAppendJSONRefusesWhatJSONCannotHold: a NaN coordinate and a year past
// 9999 are left to encoding/json, which refuses them.
func TestAppendJSONRefusesWhatJSONCannotHold(t *testing.T) {
	nan := full(1)
	nan.Last.Lat = math.NaN()
	far := lesson(nil)
	far.Obs.At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, v := range map[string]encoder{"NaN": nan, "year 10000": far} {
		if _, ok := v.appendJSON(nil); ok {
			t.Errorf("%s: appendJSON accepted it", name)
		}
		if _, err := json.Marshal(v); err == nil {
			t.Errorf("%s: encoding/json accepted it", name)
		}
	}
}

// TestFlushLeavesOutAnUnencodableProfile: a profile that cannot be encoded
// is not written and, above all, not written as a deletion: its last good
// copy stays on disk.
func TestFlushLeavesOutAnUnencodableProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profiles.db")
	s, err := Open(Options{Path: path, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, _ := s.Acquire("carol")
	*h.Create() = *full(1)
	h.Changed()
	h.Release()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	h, _ = s.Acquire("carol")
	h.Profile().Last.Lat = math.NaN()
	h.Profile().Logins = 999
	h.Changed()
	h.Release()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	var onDisk Profile
	err = s.db.View(func(tx *bolt.Tx) error {
		return json.Unmarshal(tx.Bucket(bucketProfiles).Get([]byte("carol")), &onDisk)
	})
	if err != nil || onDisk.Logins != full(1).Logins {
		t.Errorf("on disk: %d logins, %v; want the last good copy", onDisk.Logins, err)
	}
}

// FuzzAppendString holds appendString to encoding/json for any string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<&>", "\"\\", "\x00\x1f\x7f", "é\u2028\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("%q: %s, encoding/json %s", s, got, want)
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	var p Profile
	typical(&p, 1)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = p.appendJSON(buf[:0])
	}
}
