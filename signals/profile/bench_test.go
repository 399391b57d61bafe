package profile

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// benchUsers is how many profiles BenchmarkProfileMemory holds: 100,000 by
// default, VERDICT_BENCH_USERS to change it (1000000 for the figure in
// docs/signals.md).
func benchUsers() int {
	if n, err := strconv.Atoi(os.Getenv("VERDICT_BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// typical fills p as a user with ten logins on two devices from home and
// from a phone network looks.
func typical(p *Profile, i int) {
	for j := range 10 {
		o := fullObs(t0.Add(time.Duration(j)*24*time.Hour), fmt.Sprintf("%016x", i*2+j%2), "DE",
			fmt.Sprintf("81.2.%d.%d", i%200, j%3))
		o.Agent = fmt.Sprintf("%016x", i*3+j%2)
		if j%2 == 1 {
			o.Browser, o.OS, o.DeviceType = "Mobile Safari 18", "iOS 18", "mobile"
		}
		p.Learn(o)
	}
	for j := range 4 {
		p.Lessons = append(p.Lessons, fmt.Sprintf("\x00evt-%d-%d-0123456789", i, j))
	}
	p.AddAlias(uint64(i) + 1)
}

// BenchmarkProfileMemory reports the heap bytes one tracked user costs in a
// store's memory (profile, cache entry, map slot) and the bytes of its
// record on disk (run with -benchtime=1x).
func BenchmarkProfileMemory(b *testing.B) {
	n := benchUsers()
	var perUser, disk float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s, _ := Open(Options{})
		for i := range n {
			h, _ := s.Acquire(strconv.Itoa(i))
			typical(h.Create(), i)
			h.Release()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perUser = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		p, _ := s.Get("1")
		raw, _ := json.Marshal(p)
		disk = float64(len(raw))
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perUser, "B/user")
	b.ReportMetric(disk, "disk-B/user")
	b.ReportMetric(float64(n), "users")
}

// BenchmarkLearn is the cost of teaching a warm profile one more login.
func BenchmarkLearn(b *testing.B) {
	var p Profile
	typical(&p, 1)
	o := fullObs(t0.Add(30*24*time.Hour), fmt.Sprintf("%016x", 2), "DE", "81.2.1.0")
	b.ReportAllocs()
	for b.Loop() {
		p.Learn(o)
	}
}

// BenchmarkReadSignals is what the engine reads of a warm profile for one
// event: known device, country and operator, hour share, travel.
func BenchmarkReadSignals(b *testing.B) {
	var p Profile
	typical(&p, 1)
	cur := Place{At: t0.Add(31 * 24 * time.Hour).Unix(), Lat: 48.1, Lon: 11.6, Country: "DE",
		HasGeo: true, IPVersion: 4}
	at := t0.Add(31 * 24 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		_ = p.HasDevice("0000000000000003") || p.HasCountry("DE") || p.HasASN("3320")
		_ = p.HourShare(at)
		_ = Travel(p.Last, cur, DefaultTravel)
	}
}

// BenchmarkAcquire is locking and releasing a cached profile.
func BenchmarkAcquire(b *testing.B) {
	s, _ := Open(Options{})
	for i := range 1000 {
		h, _ := s.Acquire(strconv.Itoa(i))
		typical(h.Create(), i)
		h.Release()
	}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h, _ := s.Acquire(keys[i%len(keys)])
		h.Release()
	}
}

// BenchmarkFlush is one flush of the profile store as verdictd does it once
// a second under load: 1,500 changed profiles of 20,000 on disk, each of a
// typical user, written in one transaction (one op is one flush).
func BenchmarkFlush(b *testing.B) {
	const users, changed = 20_000, 1_500
	s, err := Open(Options{Path: b.TempDir() + "/profiles.db", FlushInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys := make([]string, users)
	for i := range keys {
		keys[i] = fmt.Sprintf("\x00user-%d", i*7919%users)
		h, _ := s.Acquire(keys[i])
		typical(h.Create(), i)
		h.Changed()
		h.Release()
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	at := t0.Add(40 * 24 * time.Hour)
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		b.StopTimer()
		for i := range changed {
			h, _ := s.Acquire(keys[(n*changed+i*13)%users])
			h.Create().Touch(at, time.Time{})
			h.Changed()
			h.Release()
		}
		b.StartTimer()
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}
