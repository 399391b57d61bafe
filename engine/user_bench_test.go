package engine

import (
	"testing"
	"time"

	"github.com/verdictrisk/verdict/feeds/refdata"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
	"github.com/verdictrisk/verdict/signals/profile"
	"github.com/verdictrisk/verdict/signals/rba"
)

// BenchmarkUserFamilies is the engine's cost per event of each signal
// family it computes from per-user state, on a warm profile of ten logins:
// the whole remember stage (profile lock, ageing, device.*, user.*,
// travel.*, rba.* and device.seen_users), its parts, and the record stage
// (teaching the profile and the RBA tables). Enrichment (geo, device
// parsing) and rules have their own benchmarks.
func BenchmarkUserFamilies(b *testing.B) {
	dir := b.TempDir()
	world, err := geotest.Fixture(dir)
	if err != nil {
		b.Fatal(err)
	}
	data, err := refdata.Open(b.Context(), refdata.Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer data.Close()
	set, err := rules.Default()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	e, err := New(Options{Rules: set, City: data.City(), ASN: data.ASN(), Devices: data.Devices(),
		Now: func() time.Time { return now.Add(365 * 24 * time.Hour) }})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	raw := []byte(`{"type":"login","outcome":"succeeded","ip":"` +
		world.MustPlace("Berlin").Addr4().String() + `","user":{"id":"u1"},"user_agent":` +
		`"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ` +
		`Chrome/131.0.0.0 Safari/537.36","device":{"id":"d1"}}`)
	var ev Event
	if err := DecodeEvent(raw, &ev); err != nil {
		b.Fatal(err)
	}
	if err := ev.Validate(now); err != nil {
		b.Fatal(err)
	}
	var base signals.Set
	e.enrich(&ev, &base)
	d := &Decision{Action: rules.Allow}
	for range 10 {
		d.Signals = base
		var u userStep
		e.remember(&ev, &d.Signals, false, &u)
		e.learn(&ev, d, &u)
		u.release()
	}
	run := func(name string, fn func(s *signals.Set)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s := base
				fn(&s)
			}
		})
	}
	run("remember", func(s *signals.Set) {
		var u userStep
		e.remember(&ev, s, false, &u)
		u.release()
	})
	run("profile_and_travel", func(s *signals.Set) {
		h, _ := e.opts.Profiles.Acquire("\x00u1")
		p := h.Profile()
		_ = p.HasDevice(s.Device.ID) || p.HasCountry(s.IP.Country)
		_ = p.HourShare(ev.at)
		s.Travel = profile.Travel(p.Last, placeOf(&ev, s), e.opts.Travel)
		h.Release()
	})
	run("rba_score", func(s *signals.Set) {
		var x rba.Login
		e.rbaLogin(&ev, s, &x)
		h, _ := e.opts.Profiles.Acquire("\x00u1")
		sc := e.opts.RBA.Score("", &x, history{h.Profile()})
		s.RBA.Score = sc.Risk
		h.Release()
	})
	run("device_seen_users", func(s *signals.Set) { e.countDeviceUsers(&ev, s, 0, false) })
	run("remember_and_record", func(s *signals.Set) {
		var u userStep
		e.remember(&ev, s, false, &u)
		d.Signals = *s
		e.learn(&ev, d, &u)
		u.release()
	})
}
