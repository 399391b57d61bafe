package velocity

import (
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWindowEdges(t *testing.T) {
	const window, res = 10 * time.Minute, 50 * time.Second // 12 buckets
	mid := t0.Add(25 * time.Second)                        // halfway through a bucket
	tests := []struct {
		name    string
		event   time.Time
		at      time.Time
		counted bool
	}{
		{"same time", t0, t0, true},
		{"exactly window before: outside", t0.Add(-window), t0, false},
		{"window before, mid bucket: outside", mid.Add(-window), mid, false},
		{"one bucket inside the edge", t0.Add(-window + res), t0, true},
		{"one bucket inside the edge, mid bucket", mid.Add(-window + res), mid, true},
		{"1ns inside the edge rounds out", t0.Add(-window + time.Nanosecond), t0, false},
		{"within the oldest bucket, mid bucket", mid.Add(-window + 25*time.Second), mid, true},
		{"after at, same bucket", t0.Add(10 * time.Second), t0, true},
		{"next bucket after at", t0.Add(res), t0, false},
		{"long before", t0.Add(-3 * window), t0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(Options{Lateness: time.Hour})
			c := s.Counter(Spec{Name: "c", Window: window})
			if got := c.Add(1, 0, tt.event); got != 1 {
				t.Fatalf("first Add = %d, want 1", got)
			}
			want := 0
			if tt.counted {
				want = 1
			}
			if got := c.Peek(1, tt.at); got != want {
				t.Errorf("Peek = %d, want %d", got, want)
			}
			if got := c.Add(1, 0, tt.at); got != want+1 {
				t.Errorf("Add at the window's end = %d, want %d", got, want+1)
			}
			if got := c.Peek(2, tt.at); got != 0 {
				t.Errorf("Peek of another key = %d, want 0", got)
			}
		})
	}
}

func TestEventCounts(t *testing.T) {
	s, _ := newTestStore(Options{})
	c := s.Counter(Spec{Name: "failed", Window: time.Minute, Buckets: 6}) // 10s buckets
	var got []int
	for _, sec := range []int{0, 1, 2, 15, 30, 59, 65, 75, 121} {
		got = append(got, c.Add(7, 0, t0.Add(time.Duration(sec)*time.Second)))
	}
	// At 65s the bucket [0s,10s) has left, at 75s [10s,20s), and at 121s
	// every bucket before [70s,80s).
	want := []int{1, 2, 3, 4, 5, 6, 4, 4, 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestDistinct(t *testing.T) {
	type add struct {
		value uint64
		at    time.Duration // after t0
		want  int
	}
	tests := []struct {
		name        string
		maxDistinct int
		adds        []add
		saturated   uint64
	}{
		{"repeat value", 0, []add{{1, 0, 1}, {1, time.Second, 1}, {1, 2 * time.Second, 1}}, 0},
		{"three values", 0, []add{{1, 0, 1}, {2, time.Second, 2}, {3, 2 * time.Second, 3}}, 0},
		{"edge is exact", 0, []add{{1, 0, 1}, {2, 10 * time.Minute, 1}}, 0},
		{"1ns inside the edge", 0, []add{{1, time.Nanosecond, 1}, {2, 10 * time.Minute, 2}}, 0},
		{"re-seen value stays", 0, []add{
			{1, 0, 1}, {2, 5 * time.Minute, 2}, {1, 11 * time.Minute, 2}, {3, 16 * time.Minute, 2},
		}, 0},
		{"saturates", 3, []add{
			{1, 0, 1}, {2, time.Second, 2}, {3, 2 * time.Second, 3}, {4, 3 * time.Second, 3},
			{5, 4 * time.Second, 3},
		}, 2},
		{"falls after saturation", 2, []add{
			{1, 0, 1}, {2, time.Minute, 2}, {3, 2 * time.Minute, 2},
			// 4 replaces 2, the oldest; then 3 (2m) leaves the window.
			{4, 11*time.Minute + 30*time.Second, 2}, {4, 12*time.Minute + 30*time.Second, 1},
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(Options{MaxDistinct: tt.maxDistinct})
			c := s.Counter(Spec{Name: "users_per_ip", Window: 10 * time.Minute, Distinct: true})
			for i, a := range tt.adds {
				if got := c.Add(9, a.value, t0.Add(a.at)); got != a.want {
					t.Errorf("add %d (value %d at +%v) = %d, want %d", i, a.value, a.at, got, a.want)
				}
			}
			last := tt.adds[len(tt.adds)-1]
			if got := c.Peek(9, t0.Add(last.at)); got != last.want {
				t.Errorf("Peek = %d, want %d", got, last.want)
			}
			if got := s.Stats().Counters[0].DistinctSaturated; got != tt.saturated {
				t.Errorf("saturated = %d, want %d", got, tt.saturated)
			}
		})
	}
}

func TestLateness(t *testing.T) {
	now := t0.Add(time.Hour)
	tests := []struct {
		name     string
		window   time.Duration
		late     time.Time
		wantAdd  int // Add's return for the late event
		wantNow  int // Peek at now afterwards
		wantThen int // Peek at the late event's time afterwards
		wantLate uint64
	}{
		// The key has events at now-4m and now. Lateness is 5m.
		{"within lateness, in window", 10 * time.Minute, now.Add(-3 * time.Minute), 2, 3, 2, 0},
		{"within lateness, before window", time.Minute, now.Add(-3 * time.Minute), 1, 1, 1, 0},
		{"beyond lateness, within horizon", time.Minute,
			now.Add(-5*time.Minute - 30*time.Second), 1, 1, 1, 0},
		{"exactly at the horizon", 10 * time.Minute, now.Add(-15 * time.Minute), 1, 2, 1, 0},
		{"too late", 10 * time.Minute, now.Add(-15*time.Minute - time.Nanosecond), 0, 2, 0, 1},
		{"far too late", 10 * time.Minute, now.Add(-16 * time.Minute), 0, 2, 0, 1},
		{"before 1900", 10 * time.Minute, time.Time{}, 0, 2, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, reg := newTestStore(Options{Lateness: 5 * time.Minute})
			c := s.Counter(Spec{Name: "c", Window: tt.window})
			c.Add(1, 0, now.Add(-4*time.Minute))
			c.Add(1, 0, now)
			if got := c.Add(1, 0, tt.late); got != tt.wantAdd {
				t.Errorf("late Add = %d, want %d", got, tt.wantAdd)
			}
			if got := c.Peek(1, now); got != tt.wantNow {
				t.Errorf("Peek(now) = %d, want %d", got, tt.wantNow)
			}
			if got := c.Peek(1, tt.late); got != tt.wantThen {
				t.Errorf("Peek(late time) = %d, want %d", got, tt.wantThen)
			}
			got, _ := metric(t, reg, "verdict_velocity_late_events_total",
				map[string]string{"counter": "c"})
			if got != float64(tt.wantLate) {
				t.Errorf("late events metric = %v, want %d", got, tt.wantLate)
			}
		})
	}
}

func TestReplayedBatchDoesNotInflateNow(t *testing.T) {
	now := t0.Add(time.Hour)
	s, _ := newTestStore(Options{Lateness: 5 * time.Minute})
	c := s.Counter(Spec{Name: "failed_logins_per_ip", Window: 10 * time.Minute})
	for i := range 3 {
		c.Add(1, 0, now.Add(time.Duration(i)*time.Second))
	}
	now = now.Add(2 * time.Second)
	// A batch inside the horizon goes to its own buckets; one older than
	// the horizon is dropped.
	for i := range 50 {
		c.Add(1, 0, now.Add(-12*time.Minute+time.Duration(i)*time.Millisecond))
		c.Add(1, 0, now.Add(-2*time.Hour+time.Duration(i)*time.Millisecond))
	}
	if got := c.Peek(1, now); got != 3 {
		t.Errorf("count now = %d, want 3", got)
	}
	if got := c.Peek(1, now.Add(-12*time.Minute+time.Second)); got != 50 {
		t.Errorf("count at the replayed time = %d, want 50", got)
	}
	if got := s.Stats().Counters[0].LateEvents; got != 50 {
		t.Errorf("late events = %d, want 50", got)
	}
}

func TestReplayOnFreshCounter(t *testing.T) {
	s, _ := newTestStore(Options{})
	c := s.Counter(Spec{Name: "c", Window: 10 * time.Minute})
	// A replay from two hours ago, then live traffic: the replay is counted
	// where it happened and the first live event starts from one.
	for i := range 20 {
		c.Add(1, 0, t0.Add(-2*time.Hour+time.Duration(i)*time.Second))
	}
	if got := c.Add(1, 0, t0); got != 1 {
		t.Errorf("first live Add = %d, want 1", got)
	}
}

func TestFutureEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, reg := newTestStore(Options{Clock: time.Now, Lateness: time.Minute})
		c := s.Counter(Spec{Name: "c", Window: 10 * time.Minute})
		now := time.Now()
		c.Add(1, 0, now.Add(-time.Minute))
		c.Add(1, 0, now)
		// Far ahead, and beyond what int64 nanoseconds hold: clamped to the
		// clock plus MaxFuture (1m), so the window is kept.
		if got := c.Add(1, 0, now.AddDate(10, 0, 0)); got != 3 {
			t.Errorf("Add ten years ahead = %d, want 3", got)
		}
		if got := c.Add(1, 0, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); got != 4 {
			t.Errorf("Add in year 3000 = %d, want 4", got)
		}
		if got := c.Add(1, 0, now.Add(time.Minute)); got != 5 {
			t.Errorf("Add a minute later = %d, want 5 (nothing was wiped)", got)
		}
		// Within MaxFuture, an event is taken as it is.
		time.Sleep(time.Hour)
		if got := c.Add(2, 0, time.Now().Add(30*time.Second)); got != 1 {
			t.Errorf("Add 30s ahead = %d, want 1", got)
		}
		got, _ := metric(t, reg, "verdict_velocity_future_events_total",
			map[string]string{"counter": "c"})
		if got != 2 {
			t.Errorf("future events metric = %v, want 2", got)
		}
		if got := c.Peek(2, time.Now().AddDate(1, 0, 0)); got != 1 {
			t.Errorf("Peek a year ahead = %d, want 1 (clamped to a minute ahead)", got)
		}
	})
}

func TestWindowsFollowEventTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTestStore(Options{Clock: time.Now})
		c := s.Counter(Spec{Name: "c", Window: time.Minute})
		at := time.Now().Add(-time.Hour)
		c.Add(1, 0, at)
		// Wall time passing does not age the count; event time does.
		time.Sleep(time.Hour)
		if got := c.Add(1, 0, at.Add(time.Second)); got != 2 {
			t.Errorf("Add after an hour of wall time = %d, want 2", got)
		}
		if got := c.Add(1, 0, at.Add(2*time.Minute)); got != 1 {
			t.Errorf("Add two minutes later in event time = %d, want 1", got)
		}
	})
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		spec Spec
		want string // substring of the error, "" for none
	}{
		{Spec{Name: "a", Window: time.Minute}, ""},
		{Spec{Name: "a", Window: MaxWindow, Buckets: MaxBuckets}, ""},
		{Spec{Window: time.Minute}, "name is empty"},
		{Spec{Name: "a", Window: 500 * time.Millisecond}, `"a": window 500ms is outside`},
		{Spec{Name: "a", Window: MaxWindow + 1}, "window"},
		{Spec{Name: "a", Window: time.Minute, Buckets: -1}, "buckets -1"},
		{Spec{Name: "a", Window: time.Minute, Buckets: MaxBuckets + 1}, "buckets 1001"},
	}
	for _, tt := range tests {
		t.Run(tt.spec.Name+"/"+tt.want, func(t *testing.T) {
			err := tt.spec.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCounterIdentity(t *testing.T) {
	s, reg := newTestStore(Options{})
	spec := Spec{Name: "c", Window: time.Minute}
	c1 := s.Counter(spec)
	c1.Add(1, 0, t0)
	if c2 := s.Counter(Spec{Name: "c", Window: time.Minute, Buckets: DefaultBuckets}); c2 != c1 {
		t.Fatal("an equal spec (after defaults) gave a new counter")
	}
	c3 := s.Counter(Spec{Name: "c", Window: 2 * time.Minute})
	if c3 == c1 || c3.Peek(1, t0) != 0 {
		t.Fatal("a changed window did not give a fresh counter")
	}
	if got := s.Forget(1); got != 1 {
		t.Errorf("Forget during a reload = %d, want 1 (the old counter still holds the key)", got)
	}
	c3.Add(1, 0, t0)
	s.Retain([]*Counter{c3})
	if got := s.Counter(spec); got == c1 {
		t.Error("Counter returned a counter dropped by Retain")
	}
	s.Retain(nil)
	if _, ok := metric(t, reg, "verdict_velocity_keys", map[string]string{"counter": "c"}); ok {
		t.Error("metric series of a dropped counter still exported")
	}
	// An invalid spec is clamped and logged, not refused.
	var log strings.Builder
	s = NewStore(Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if got := s.Counter(Spec{Name: "x", Window: time.Millisecond}).Spec().Window; got != MinWindow {
		t.Errorf("clamped window = %v, want %v", got, MinWindow)
	}
	if want := `window 1ms is outside 1s..90 days`; !strings.Contains(log.String(), want) {
		t.Errorf("log = %q, want it to contain %q", log.String(), want)
	}
}

func TestBeforeEpoch(t *testing.T) {
	s, _ := newTestStore(Options{})
	c := s.Counter(Spec{Name: "c", Window: time.Minute, Buckets: 6}) // 10s buckets
	epoch := time.Unix(0, 0)
	for _, sec := range []int{-15, -5, 5} {
		c.Add(1, 0, epoch.Add(time.Duration(sec)*time.Second))
	}
	// -5s lies in the bucket [-10s,0s), which has left the window by 50s.
	if got := c.Peek(1, epoch.Add(50*time.Second)); got != 1 {
		t.Errorf("Peek at +50s = %d, want 1", got)
	}
	if got := c.Peek(1, epoch.Add(45*time.Second)); got != 2 {
		t.Errorf("Peek at +45s = %d, want 2", got)
	}
}

func TestMetricsRegisteredOnce(t *testing.T) {
	var log strings.Builder
	_, reg := newTestStore(Options{})
	s := NewStore(Options{Registerer: reg, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if !strings.Contains(log.String(), "velocity metrics not registered") {
		t.Errorf("log = %q, want the registration error", log.String())
	}
	if got := s.Counter(Spec{Name: "c", Window: time.Minute}).Add(1, 0, t0); got != 1 {
		t.Errorf("Add without metrics = %d, want 1", got)
	}
}
