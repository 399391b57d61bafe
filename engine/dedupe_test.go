package engine

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/verdictrisk/verdict/rules"
)

var dedupeT0 = time.Date(2026, 12, 4, 9, 0, 0, 123456789, time.FixedZone("", 5*3600+1800))

func dedupeDecision(i int, user string) *Decision {
	return &Decision{ID: fmt.Sprintf("0193a-%d", i), EventID: fmt.Sprint("evt-", i),
		RulesVersion: "4c0b28e9b9d6", userKey: user, Action: rules.StepUp, Score: 40 + i%7,
		Reasons: []Reason{{Code: "new_device", Rule: "new-device", Score: 20, Action: rules.StepUp,
			Message: "a device never seen for " + user}, {Code: "far", Rule: "travel", Score: 20}},
		Shadow:  []Reason{{Code: "candidate", Rule: "cand", Score: -5}},
		Missing: []string{"geo", "network_lists"}, Time: dedupeT0.Add(time.Duration(i) * time.Second)}
}

// want is what a repeat of d is answered with.
func want(d *Decision) *Decision {
	return &Decision{ID: d.ID, EventID: d.EventID, RulesVersion: d.RulesVersion,
		userKey: d.userKey, Action: d.Action, Score: d.Score, Reasons: d.Reasons, Shadow: d.Shadow,
		Missing: d.Missing, Time: d.Time, Repeated: true}
}

var decisionCmp = cmp.AllowUnexported(Decision{})

// TestDedupeRoundTrip: thousands of decisions, over many chunks and with one
// larger than a chunk, come back as they went in, time zone included.
func TestDedupeRoundTrip(t *testing.T) {
	d := newDedupe(time.Hour, 1_000_000)
	now := time.Now()
	decs := map[string]*Decision{}
	for i := range 5000 {
		dec := dedupeDecision(i, fmt.Sprint("user-", i%50))
		if i == 77 {
			dec.Reasons[0].Message = strings.Repeat("long ", 2*chunkSize/5)
		}
		if i == 78 {
			dec.Reasons, dec.Shadow, dec.Missing = nil, nil, nil
		}
		key := "\x00" + dec.EventID
		decs[key] = dec
		d.put(key, dec, uint64(i)|1, now)
	}
	for key, dec := range decs {
		r := d.get(key, now)
		if r == nil {
			t.Fatalf("%q forgotten", key)
		}
		got := r.decision()
		if diff := cmp.Diff(want(dec), got, decisionCmp); diff != "" {
			t.Fatalf("%q (-want +got):\n%s", key, diff)
		}
		if _, off := got.Time.Zone(); off != 5*3600+1800 {
			t.Errorf("%q: zone offset %d lost", key, off)
		}
	}
	if d.get("\x00evt-5000", now) != nil {
		t.Error("an id never put was found")
	}
}

// TestDedupeGenerations: an id is remembered for between one and two
// windows, and the older generation goes when the current one is full.
func TestDedupeGenerations(t *testing.T) {
	d := newDedupe(time.Hour, 16*2*10) // 10 per shard generation
	now := time.Now()
	d.put("\x00a", dedupeDecision(1, "u"), 1, now)
	if d.get("\x00a", now.Add(90*time.Minute)) == nil {
		t.Error("forgotten within two windows")
	}
	if d.get("\x00a", now.Add(2*time.Hour)) != nil {
		t.Error("remembered past two windows")
	}
	for i := range 1000 {
		d.put(fmt.Sprint("\x00", i), dedupeDecision(i, "u"), 1, now)
	}
	kept := 0
	for i := range 1000 {
		if d.get(fmt.Sprint("\x00", i), now) != nil {
			kept++
		}
	}
	if kept > 16*2*10 || kept < 16*10 {
		t.Errorf("%d of 1000 kept with a bound of 320", kept)
	}
}

// TestDedupeForget: erasure drops a user's decisions of one tenant, and
// zeroes them, and leaves everyone else's.
func TestDedupeForget(t *testing.T) {
	d := newDedupe(time.Hour, 1000)
	now := time.Now()
	for i := range 30 {
		user := []string{"alice", "bob"}[i%2]
		tenant := []string{"", "acme"}[i%3/2]
		dec := dedupeDecision(i, user)
		dec.ID = fmt.Sprintf("id-%d.", i)
		d.put(fmt.Sprint(tenant, "\x00", i), dec, 1, now)
	}
	if n := d.forget("", "alice"); n != 10 {
		t.Errorf("forgot %d, want 10", n)
	}
	for i := range 30 {
		tenant := []string{"", "acme"}[i%3/2]
		gone := i%2 == 0 && tenant == ""
		if r := d.get(fmt.Sprint(tenant, "\x00", i), now); (r == nil) != gone {
			t.Errorf("%d (tenant %q): kept %v", i, tenant, r != nil)
		}
	}
	var all strings.Builder
	for i := range d.shards {
		for _, c := range d.shards[i].cur.chunks {
			all.Write(c)
		}
	}
	for i := 0; i < 30; i += 2 {
		if erased := i%3/2 == 0; strings.Contains(all.String(), fmt.Sprintf("id-%d.", i)) == erased {
			t.Errorf("decision %d: bytes in memory %v, erased %v", i, !erased, erased)
		}
	}
}

// TestDedupeCollision: two keys with one hash share a slot; the earlier
// is then not found, never mistaken for the later.
func TestDedupeCollision(t *testing.T) {
	g := generation{index: map[uint64]uint32{}}
	g.put(42, appendRemembered(nil, "\x00first", dedupeDecision(1, "u"), 1))
	g.put(42, appendRemembered(nil, "\x00second", dedupeDecision(2, "u"), 1))
	if r := g.get(42, "\x00first"); r != nil {
		t.Errorf("first found as %q", r.eventID)
	}
	if r := g.get(42, "\x00second"); r == nil || r.eventID != "evt-2" {
		t.Errorf("second: %+v", r)
	}
}

// BenchmarkDedupeGC is a full GC cycle with 200,000 decisions remembered
// (about an hour at 55 decisions/s, or 40 s at 5,000/s): what their memory
// adds to every cycle's marking. One op is one cycle.
func BenchmarkDedupeGC(b *testing.B) {
	d := newDedupe(time.Hour, 1_000_000)
	now := time.Now()
	for i := range 200_000 {
		d.put(fmt.Sprint("\x00evt-", i), dedupeDecision(i, fmt.Sprint("user-", i%2000)), 1, now)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		runtime.GC()
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc)/200_000, "heap-B/decision")
	runtime.KeepAlive(d)
}
