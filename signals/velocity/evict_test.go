package velocity

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEviction(t *testing.T) {
	type add struct {
		key uint64
		at  time.Duration // after t0
	}
	tests := []struct {
		name              string
		adds              []add
		wantKeys          []uint64
		expired, capacity float64
	}{
		{
			name: "room left: nothing evicted",
			adds: []add{{1, 0}, {2, 0}, {3, time.Minute}},
			// Keys 1 and 2 have expired by 12m but nothing needs the room.
			wantKeys: []uint64{1, 2, 3},
		},
		{
			name: "expired keys go first",
			// At 12m keys 1 and 2 count zero; key 3 (3m) still counts.
			adds: []add{
				{1, 0}, {2, 0}, {3, 3 * time.Minute}, {4, 12 * time.Minute}, {5, 12 * time.Minute},
			},
			wantKeys: []uint64{3, 4, 5},
			expired:  2,
		},
		{
			name: "then the least recently updated",
			adds: []add{
				{1, 0}, {2, time.Minute}, {3, 2 * time.Minute}, {4, 3 * time.Minute},
				{5, 4 * time.Minute}, {6, 5 * time.Minute},
			},
			wantKeys: []uint64{3, 4, 5, 6},
			capacity: 2,
		},
		{
			name: "an update refreshes a key",
			adds: []add{
				{1, 0}, {2, time.Minute}, {3, 2 * time.Minute}, {4, 3 * time.Minute},
				{1, 3*time.Minute + 30*time.Second}, {5, 4 * time.Minute},
			},
			wantKeys: []uint64{1, 3, 4, 5},
			capacity: 1,
		},
		{
			name: "dead keys are swept once their span has passed",
			// Window 10m + lateness 5m: at 30m keys 1 and 2 hold nothing.
			adds:     []add{{1, 0}, {2, time.Minute}, {3, 30 * time.Minute}},
			wantKeys: []uint64{3},
			expired:  2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, reg := newTestStore(Options{MaxKeys: 4, Lateness: 5 * time.Minute})
			c := s.Counter(Spec{Name: "per_ip", Window: 10 * time.Minute})
			for _, a := range tt.adds {
				c.Add(a.key, 0, t0.Add(a.at))
			}
			if diff := cmp.Diff(tt.wantKeys, keysOf(c)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			for reason, want := range map[string]float64{"expired": tt.expired, "capacity": tt.capacity} {
				got, _ := metric(t, reg, "verdict_velocity_evictions_total",
					map[string]string{"counter": "per_ip", "reason": reason})
				if got != want {
					t.Errorf("evictions{reason=%q} = %v, want %v", reason, got, want)
				}
			}
			got, _ := metric(t, reg, "verdict_velocity_keys", map[string]string{"counter": "per_ip"})
			if got != float64(len(tt.wantKeys)) {
				t.Errorf("keys metric = %v, want %d", got, len(tt.wantKeys))
			}
		})
	}
}

func TestMaxKeysAcrossShards(t *testing.T) {
	const maxKeys = 5000 // more than one shard
	s, _ := newTestStore(Options{MaxKeys: maxKeys})
	c := s.Counter(Spec{Name: "c", Window: time.Hour})
	if len(c.shards) < 2 {
		t.Fatalf("%d shards, want several", len(c.shards))
	}
	for i := range uint64(3 * maxKeys) {
		// Spread keys over the shards as hashes do.
		c.Add(i*0x9E3779B97F4A7C15, 0, t0.Add(time.Duration(i)*time.Millisecond))
	}
	st := s.Stats().Counters[0]
	if st.Keys > maxKeys || st.Keys < maxKeys*9/10 {
		t.Errorf("keys = %d, want at most %d and close to it", st.Keys, maxKeys)
	}
	if got := st.EvictedCapacity + uint64(st.Keys); got != 3*maxKeys {
		t.Errorf("evicted + kept = %d, want %d", got, 3*maxKeys)
	}
}

func TestForget(t *testing.T) {
	s, _ := newTestStore(Options{})
	failed := s.Counter(Spec{Name: "failed_per_user", Window: time.Hour})
	users := s.Counter(Spec{Name: "users_per_ip", Window: time.Hour, Distinct: true})
	const alice, bob, ip1, ip2 = 101, 102, 201, 202
	failed.Add(alice, 0, t0)
	failed.Add(bob, 0, t0)
	users.Add(ip1, alice, t0)
	users.Add(ip1, bob, t0.Add(time.Second))
	users.Add(ip2, alice, t0.Add(2*time.Second))

	// Alice's key in one counter and her value under two IPs.
	if got := s.Forget(alice); got != 3 {
		t.Errorf("Forget = %d, want 3", got)
	}
	at := t0.Add(time.Minute)
	got := []int{
		failed.Peek(alice, at), failed.Peek(bob, at), users.Peek(ip1, at), users.Peek(ip2, at),
	}
	if diff := cmp.Diff([]int{0, 1, 1, 0}, got); diff != "" {
		t.Errorf("counts after Forget (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint64{ip1}, keysOf(users)); diff != "" {
		t.Errorf("distinct keys left (-want +got):\n%s", diff)
	}
	if got := s.Forget(alice); got != 0 {
		t.Errorf("second Forget = %d, want 0", got)
	}
}

// TestDistinctRecency checks that a distinct key's recency, which eviction
// reads from its last cell, stays its newest value's time after a late value
// and after Forget removes the newest value.
func TestDistinctRecency(t *testing.T) {
	s, _ := newTestStore(Options{MaxKeys: 3})
	c := s.Counter(Spec{Name: "c", Window: time.Hour, Distinct: true})
	const a, b, cv, d = 11, 12, 13, 14
	minute := func(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }
	for _, x := range []struct {
		value uint64
		at    float64
	}{{b, 0}, {a, 1}, {b, 2}, {cv, 5}, {d, 0.5}} {
		c.Add(1, x.value, minute(x.at))
	}
	c.Add(2, a, minute(1))
	c.Add(3, a, minute(1.75))
	c.Add(4, a, minute(6)) // evicts key 2: key 1's newest value is at 5m
	if diff := cmp.Diff([]uint64{1, 3, 4}, keysOf(c)); diff != "" {
		t.Errorf("keys after a late value (-want +got):\n%s", diff)
	}
	s.Forget(cv)           // key 1's newest value is now b at 2m
	c.Add(5, a, minute(6)) // evicts key 3 (1m45s)
	if diff := cmp.Diff([]uint64{1, 4, 5}, keysOf(c)); diff != "" {
		t.Errorf("keys after Forget (-want +got):\n%s", diff)
	}
}

func TestStatsMemory(t *testing.T) {
	s, _ := newTestStore(Options{})
	c := s.Counter(Spec{Name: "c", Window: time.Hour})
	for k := range uint64(100) {
		c.Add(k, 0, t0)
		c.Add(k, 0, t0.Add(10*time.Minute))
	}
	st := s.Stats()
	cs := st.Counters[0]
	if cs.Keys != 100 || cs.Cells < 200 {
		t.Errorf("keys, cells = %d, %d, want 100, at least 200", cs.Keys, cs.Cells)
	}
	want := int64(100*mapBytesPerKey + cs.Cells*16)
	if cs.MemoryBytes != want || st.MemoryBytes != want {
		t.Errorf("memory = %d (total %d), want %d", cs.MemoryBytes, st.MemoryBytes, want)
	}
	if !cs.Newest.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("newest = %v, want %v", cs.Newest, t0.Add(10*time.Minute))
	}
}
