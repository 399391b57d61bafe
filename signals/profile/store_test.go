package profile

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

func fullObs(at time.Time, dev, country, ip string) Observation {
	o := obs(at, dev, country)
	o.IP, o.Agent, o.Browser, o.OS, o.DeviceType = ip, "ua1", "Chrome 131", "Windows 10", "desktop"
	o.Place.Network = ip + "/24"
	return o
}

func TestUnlearnUndoesLearn(t *testing.T) {
	var p Profile
	home := fullObs(t0, "pc", "DE", "81.2.69.1")
	p.Learn(home)
	want := p.Clone()
	fraud := fullObs(t0.Add(26*time.Hour), "evil", "BR", "177.1.1.1")
	prev := *p.Last
	p.Learn(fraud)
	if !p.HasDevice("evil") || p.Last.Country != "BR" {
		t.Fatal("fraud not learnt")
	}
	p.Unlearn(fraud, &prev)
	// Values seen at home too keep their (later) last time; compare the rest.
	for _, l := range []*[]Seen{&p.ASNs, &p.Networks, &p.Agents, &p.Browsers, &p.OSes, &p.DeviceTypes} {
		for i := range *l {
			(*l)[i].Last = t0.Unix()
		}
	}
	p.LastSeen = want.LastSeen
	if diff := cmp.Diff(want, &p); diff != "" {
		t.Errorf("after unlearn (-want +got):\n%s", diff)
	}
}

func TestTrustAndHourShare(t *testing.T) {
	var p Profile
	if p.HourShare(t0) != 0 {
		t.Error("hour share of an empty profile")
	}
	for d := range 4 {
		p.Learn(obs(t0.Add(time.Duration(d)*24*time.Hour), "pc", "DE")) // 09:30
	}
	p.Learn(obs(t0.Add(12*time.Hour), "pc", "DE")) // 21:30
	if got := p.HourShare(t0.Add(time.Hour)); got != 0.8 {
		t.Errorf("hour share at 10:30 = %v, want 0.8", got)
	}
	if got := p.HourShare(t0.Add(6 * time.Hour)); got != 0 {
		t.Errorf("hour share at 15:30 = %v, want 0", got)
	}
	if p.DeviceTrusted("pc") {
		t.Error("device trusted before any challenge")
	}
	p.Trust(obs(t0, "pc", "DE"))
	if !p.DeviceTrusted("pc") || !p.Countries[0].Trusted {
		t.Error("Trust did not mark the device and country")
	}
}

func TestLessonsAreBoundedAndPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profiles.db")
	s, err := Open(Options{Path: path, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := s.Acquire("alice")
	for i := range MaxLessons + 4 {
		o := obs(t0.Add(time.Duration(i)*time.Hour), "pc", "DE")
		h.Profile()
		h.Record(fmt.Sprint("\x00evt-", i), &Lesson{Taught: true, Obs: o})
	}
	h.Release()
	if l, _ := s.Lesson("\x00evt-3"); l != nil {
		t.Errorf("lesson beyond the bound kept: %+v", l)
	}
	if l, _ := s.Lesson("\x00evt-4"); l == nil || l.User != "alice" {
		t.Fatalf("recent lesson lost: %+v", l)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		key  string
		kept bool
	}{{"\x00evt-0", false}, {"\x00evt-4", true}, {"\x00evt-19", true}} {
		l, err := s.Lesson(tc.key)
		if err != nil || (l != nil) != tc.kept {
			t.Errorf("after reopen %q: %+v %v, kept %v", tc.key, l, err, tc.kept)
		}
	}
	er, err := s.Delete("alice")
	if err != nil || er.Lessons != MaxLessons {
		t.Fatalf("delete: %+v %v", er, err)
	}
	if l, _ := s.Lesson("\x00evt-19"); l != nil {
		t.Error("a lesson survived erasure")
	}
}

// counterAttachment counts flushes of a number into its bucket.
type counterAttachment struct {
	mu        sync.Mutex
	n, stored uint64
	fail      bool
}

func (a *counterAttachment) Bucket() string { return "test" }

func (a *counterAttachment) Load(k, v []byte) error {
	a.n, a.stored = binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v)
	return nil
}

func (a *counterAttachment) Changes() (func(Writer) error, func(bool)) {
	a.mu.Lock()
	n := a.n
	a.mu.Unlock()
	return func(w Writer) error {
			if a.fail {
				return fmt.Errorf("injected")
			}
			return w.Put([]byte("n"), binary.BigEndian.AppendUint64(nil, n))
		}, func(ok bool) {
			if ok {
				a.stored = n
			}
		}
}

func TestAttachmentIsWrittenWithProfiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profiles.db")
	s, err := Open(Options{Path: path, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a := &counterAttachment{}
	if err := s.Attach(a); err != nil {
		t.Fatal(err)
	}
	a.n = 7
	h, _ := s.Acquire("bob")
	h.Create().Learn(obs(t0, "pc", "DE"))
	h.Changed()
	h.Release()
	a.fail = true
	if err := s.Flush(); err == nil {
		t.Fatal("a failing attachment did not fail the flush")
	}
	if a.stored != 0 {
		t.Error("done(true) after a failed transaction")
	}
	a.fail = false
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := &counterAttachment{}
	if err := s.Attach(b); err != nil {
		t.Fatal(err)
	}
	if b.n != 7 {
		t.Errorf("attachment reloaded %d, want 7", b.n)
	}
	// The profile of the failed flush was kept and written at Close.
	if p, _ := s.Get("bob"); !p.Known() {
		t.Error("profile of the failed flush lost")
	}
}

func TestSweepErasesProfilesPastTheHorizon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profiles.db")
	s, err := Open(Options{Path: path, FlushInterval: time.Hour, MaxCached: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 300 {
		h, _ := s.Acquire(fmt.Sprint("u", i))
		at := t0
		if i%3 == 0 {
			at = t0.Add(-200 * 24 * time.Hour)
		}
		h.Create().Learn(obs(at, "pc", "DE"))
		h.Record(fmt.Sprint("\x00e", i), &Lesson{Obs: obs(at, "pc", "DE")})
		h.Changed()
		h.Release()
	}
	// Half on disk only: flush, then push them out of memory.
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		h, _ := s.Acquire(fmt.Sprint("other", i))
		h.Release()
	}
	var seen []string
	n, err := s.Sweep(t0.Add(-180*24*time.Hour), func(p *Profile) { seen = append(seen, p.Key) })
	if err != nil || n != 100 || len(seen) != 100 {
		t.Fatalf("swept %d (%d seen), %v; want 100", n, len(seen), err)
	}
	for i := range 300 {
		p, _ := s.Get(fmt.Sprint("u", i))
		l, _ := s.Lesson(fmt.Sprint("\x00e", i))
		if gone := i%3 == 0; (p == nil) != gone || (l == nil) != gone {
			t.Errorf("u%d: profile %v lesson %v, swept %v", i, p != nil, l != nil, gone)
		}
	}
}

func TestExpireFollowsEventTime(t *testing.T) {
	s, _ := Open(Options{Horizon: 30 * 24 * time.Hour})
	h, _ := s.Acquire("carol")
	p := h.Create()
	p.Learn(obs(t0, "old", "DE"))
	p.Learn(obs(t0.Add(20*24*time.Hour), "new", "DE"))
	// A replayed event from before both keeps them: the horizon counts
	// back from the user's newest event.
	h.Expire(t0.Add(-time.Hour))
	if !p.HasDevice("old") {
		t.Error("a late event aged the profile backwards")
	}
	h.Expire(t0.Add(40 * 24 * time.Hour))
	if p.HasDevice("old") || !p.HasDevice("new") {
		t.Errorf("devices after 40 days: %+v", p.Devices)
	}
	h.Release()
}

// TestFlushLosesAtMostOneInterval runs the flush loop on fake time: a change
// is on disk one FlushInterval after it was made, and not before.
func TestFlushLosesAtMostOneInterval(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		s, err := Open(Options{Path: filepath.Join(dir, "p.db")})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		time.Sleep(10 * time.Millisecond)
		h, _ := s.Acquire("dave")
		h.Create().Learn(obs(t0, "pc", "DE"))
		h.Changed()
		h.Release()
		pending := func() bool {
			s.dirtyMu.Lock()
			defer s.dirtyMu.Unlock()
			return len(s.dirty) > 0
		}
		time.Sleep(900 * time.Millisecond)
		synctest.Wait()
		if !pending() {
			t.Fatal("flushed before the interval")
		}
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if pending() {
			t.Fatal("not flushed one interval after the change")
		}
		var onDisk bool
		s.db.View(func(tx *bolt.Tx) error {
			onDisk = tx.Bucket(bucketProfiles).Get([]byte("dave")) != nil
			return nil
		})
		if !onDisk {
			t.Error("the flushed profile is not in the database")
		}
	})
}

func TestAliasesAreBounded(t *testing.T) {
	var p Profile
	for i := range MaxAliases + 2 {
		p.AddAlias(uint64(i + 1))
	}
	if p.AddAlias(uint64(MaxAliases+2)) || p.AddAlias(0) {
		t.Error("a known or zero alias was added")
	}
	if !slices.Equal(p.Aliases, []uint64{3, 4, 5, 6}) {
		t.Errorf("aliases = %v", p.Aliases)
	}
}

// TestMemoryStoreDropsOnlyEmptyEntries: without a database, events of
// unknown users (no profile) do not grow memory without bound, and no
// profile is ever dropped.
func TestMemoryStoreDropsOnlyEmptyEntries(t *testing.T) {
	s, _ := Open(Options{MaxCached: 128})
	for i := range 200 {
		h, _ := s.Acquire(fmt.Sprint("known", i))
		h.Create().Learn(obs(t0, "pc", "DE"))
		h.Release()
	}
	for i := range 5000 {
		h, _ := s.Acquire(fmt.Sprint("stranger", i))
		h.Release()
	}
	if n := s.Len(); n > 200+128+2*numShards {
		t.Errorf("%d entries in memory", n)
	}
	for i := range 200 {
		if p, _ := s.Get(fmt.Sprint("known", i)); !p.Known() {
			t.Fatalf("profile known%d dropped", i)
		}
	}
}

// TestErasureRecordsPersistAndAge: Delete records when a user was erased,
// profile or not, on disk (a reopened store knows it) under a digest of
// the key; a record older than ErasureTTL is not loaded, and Sweep deletes
// it.
func TestErasureRecordsPersistAndAge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profiles.db")
	open := func(o Options) *Store {
		t.Helper()
		o.Path = path
		s, err := Open(o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open(Options{})
	h, _ := s.Acquire("t\x00u1")
	h.Create().Learn(obs(t0, "pc", "DE"))
	h.Changed()
	h.Release()
	before := time.Now()
	for _, k := range []string{"t\x00u1", "t\x00never-seen"} {
		if _, err := s.Delete(k); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now()
	check := func(s *Store, when string, erased bool) {
		t.Helper()
		for _, k := range []string{"t\x00u1", "t\x00never-seen"} {
			at, ok := s.ErasedAt(k)
			if ok != erased || ok && (at.Before(before) || at.After(after)) {
				t.Errorf("%s: %q erased at %v (%v), want %v within the Delete", when, k, at,
					ok, erased)
			}
		}
		if _, ok := s.ErasedAt("u1"); ok {
			t.Errorf("%s: u1 of the default tenant erased too", when)
		}
	}
	check(s, "at once", true)
	s.Close()

	s = open(Options{})
	check(s, "reopened", true)
	if keys := erasureKeys(t, s); len(keys) != 2 || len(keys[0]) != 32 {
		t.Errorf("erasure records: %q, want two digests", keys)
	}
	s.Close()

	s = open(Options{ErasureTTL: time.Nanosecond})
	check(s, "past the TTL", false)
	if _, err := s.Sweep(t0, nil); err != nil {
		t.Fatal(err)
	}
	if keys := erasureKeys(t, s); len(keys) != 0 {
		t.Errorf("%d erasure records after a sweep past the TTL", len(keys))
	}
	s.Close()

	mem, _ := Open(Options{})
	mem.Delete("t\x00u1")
	if _, ok := mem.ErasedAt("t\x00u1"); !ok {
		t.Error("a store without a file does not record an erasure")
	}
}

func erasureKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var keys []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketErasures).ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestFlushWritesEachProfileOfABatch flushes batches big enough to yield
// and to grow the encoding buffer, twice (the buffer is reused), with a
// deletion among them, and checks that each record on disk is its own
// profile's.
func TestFlushWritesEachProfileOfABatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profiles.db")
	s, err := Open(Options{Path: path, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	const users = 300
	want := map[string]*Profile{}
	set := func(i int, at time.Time) {
		k := fmt.Sprint("user-", i)
		h, _ := s.Acquire(k)
		typical(h.Create(), i)
		h.Create().Touch(at, time.Time{})
		h.Changed()
		want[k] = h.Profile().Clone()
		h.Release()
	}
	for i := range users {
		set(i, t0)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < users; i += 2 {
		set(i, t0.Add(time.Hour))
	}
	if _, err := s.Delete("user-7"); err != nil {
		t.Fatal(err)
	}
	delete(want, "user-7")
	s = reopen(t, s, path)
	for i := range users {
		k := fmt.Sprint("user-", i)
		got, err := s.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[k], got); diff != "" {
			t.Fatalf("%s after reopen (-want +got):\n%s", k, diff)
		}
	}
}

// reopen closes s and opens its database again, to be closed at the end of
// the test.
func reopen(t *testing.T, s *Store, path string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// slowDisk is an attachment whose writes, once armed, wait to be let go: a
// flush's transaction held open, as by a slow disk.
type slowDisk struct {
	armed            atomic.Bool
	entered, release chan struct{}
}

func (a *slowDisk) Bucket() string         { return "slow" }
func (a *slowDisk) Load(k, v []byte) error { return nil }

func (a *slowDisk) Changes() (func(Writer) error, func(bool)) {
	return func(Writer) error {
		if a.armed.CompareAndSwap(true, false) {
			close(a.entered)
			<-a.release
		}
		return nil
	}, func(bool) {}
}

// TestSweepDoesNotHoldUsersWhileWriting: while a sweep's write is held up,
// a user being swept is answered at once, without a profile, and the
// erasure is on disk once the sweep returns.
func TestSweepDoesNotHoldUsersWhileWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profiles.db")
	s, err := Open(Options{Path: path, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	disk := &slowDisk{entered: make(chan struct{}), release: make(chan struct{})}
	if err := s.Attach(disk); err != nil {
		t.Fatal(err)
	}
	h, _ := s.Acquire("old")
	h.Create().Learn(obs(t0.Add(-200*24*time.Hour), "pc", "DE"))
	h.Changed()
	h.Release()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	disk.armed.Store(true)
	swept := make(chan int)
	go func() {
		n, _ := s.Sweep(t0.Add(-180*24*time.Hour), nil)
		swept <- n
	}()
	select {
	case <-disk.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the sweep did not write through a flush")
	}
	acquired := make(chan *Profile)
	go func() {
		h, _ := s.Acquire("old")
		p := h.Profile()
		h.Release()
		acquired <- p
	}()
	select {
	case p := <-acquired:
		if p != nil {
			t.Error("the profile being swept is still there")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a user being swept waited for the database")
	}
	close(disk.release)
	if n := <-swept; n != 1 {
		t.Fatalf("swept %d, want 1", n)
	}
	s = reopen(t, s, path)
	if p, _ := s.Get("old"); p != nil {
		t.Error("the swept profile is back after a reopen")
	}
}
