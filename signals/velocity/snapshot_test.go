package velocity

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var specs = []Spec{
	{Name: "failed_logins_per_ip", Window: 10 * time.Minute},
	{Name: "signups_per_asn", Window: 24 * time.Hour, Buckets: 48},
	{Name: "users_per_ip", Window: 10 * time.Minute, Distinct: true},
}

// filledStore returns a store whose counters hold keys with several buckets,
// late events and several distinct values.
func filledStore(t *testing.T) *Store {
	t.Helper()
	s, _ := newTestStore(Options{})
	for _, spec := range specs {
		c := s.Counter(spec)
		for k := range uint64(50) {
			for i := range k % 7 {
				at := t0.Add(time.Duration(k*i) * time.Second)
				c.Add(k*0x9E3779B97F4A7C15, k+i%3, at)
			}
			c.Add(k*0x9E3779B97F4A7C15, k, t0.Add(-2*time.Minute)) // late
		}
	}
	return s
}

// state returns every counter's spec, newest time and cells.
func state(s *Store) map[Spec]any {
	out := map[Spec]any{}
	for _, c := range s.counters() {
		out[c.spec] = []any{c.newest.Load(), dump(c)}
	}
	return out
}

var cellCmp = cmp.AllowUnexported(cell{})

func TestSnapshotRoundTrip(t *testing.T) {
	src := filledStore(t)
	var buf bytes.Buffer
	if err := src.Snapshot(&buf); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	t.Logf("snapshot of %d keys: %d bytes", src.Stats().Keys, buf.Len())

	// Counters created before Restore get the state; the others are created.
	dst, _ := newTestStore(Options{})
	early := dst.Counter(specs[2])
	if err := dst.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if diff := cmp.Diff(state(src), state(dst), cellCmp); diff != "" {
		t.Errorf("restored state (-want +got):\n%s", diff)
	}
	if dst.Counter(specs[2]) != early {
		t.Error("Restore replaced a live counter instead of filling it")
	}
	for _, spec := range specs {
		a, b := src.Counter(spec), dst.Counter(spec)
		at := t0.Add(5 * time.Minute)
		for k := range uint64(50) {
			if x, y := a.Peek(k*0x9E3779B97F4A7C15, at), b.Peek(k*0x9E3779B97F4A7C15, at); x != y {
				t.Errorf("%s key %d: Peek %d after Restore, %d before", spec.Name, k, y, x)
			}
		}
	}
	if dst.Stats().Keys != src.Stats().Keys || src.Stats().Keys == 0 {
		t.Errorf("keys = %d, want %d", dst.Stats().Keys, src.Stats().Keys)
	}
}

func TestSnapshotOfClampedSpec(t *testing.T) {
	s, _ := newTestStore(Options{Logger: slog.New(slog.DiscardHandler)})
	spec := Spec{Window: time.Millisecond, Buckets: 5000} // no name, out of range
	s.Counter(spec).Add(1, 0, t0)
	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	dst, _ := newTestStore(Options{Logger: slog.New(slog.DiscardHandler)})
	if err := dst.Restore(&buf); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := dst.Counter(spec).Peek(1, t0); got != 1 {
		t.Errorf("restored count = %d, want 1", got)
	}
}

func TestRestoreOverMaxKeys(t *testing.T) {
	src := filledStore(t)
	var buf bytes.Buffer
	if err := src.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	dst, _ := newTestStore(Options{MaxKeys: 10})
	if err := dst.Restore(&buf); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	for _, cs := range dst.Stats().Counters {
		if cs.Keys != 10 || cs.EvictedCapacity+cs.EvictedExpired != 40 {
			t.Errorf("%s: %d keys, %d+%d evicted, want 10 and 40", cs.Spec.Name, cs.Keys,
				cs.EvictedExpired, cs.EvictedCapacity)
		}
	}
}

// reseal replaces the checksum of a snapshot whose body was edited, so that
// the decoder's own checks are reached.
func reseal(b []byte) []byte {
	body := b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, crcTable))
}

func TestRestoreRejectsCorruption(t *testing.T) {
	var good bytes.Buffer
	if err := filledStore(t).Snapshot(&good); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(g)) }
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not a snapshot", []byte("hello, world")},
		{"truncated", g[:len(g)/2]},
		{"one byte short", g[:len(g)-1]},
		{"trailing byte, checksum redone", edit(func(b []byte) []byte {
			return reseal(append(b[:len(b)-4], 0, 0, 0, 0, 0))
		})},
		{"flipped bit", edit(func(b []byte) []byte { b[len(b)/3] ^= 4; return b })},
		{"other version", edit(func(b []byte) []byte { b[6] = 9; return reseal(b) })},
		{"huge counter count", edit(func(b []byte) []byte { b[8] = 0x7f; return reseal(b) })},
		{"cut after a counter, checksum redone", reseal(append(bytes.Clone(g[:40]), 0, 0, 0, 0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := filledStore(t)
			before := state(s)
			err := s.Restore(bytes.NewReader(tt.data))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Restore = %v, want ErrCorrupt", err)
			}
			if diff := cmp.Diff(before, state(s), cellCmp); diff != "" {
				t.Errorf("state changed by a failed Restore (-before +after):\n%s", diff)
			}
		})
	}
}

// TestRestoreRejectsEveryByteFlip flips each byte of a small snapshot in
// turn: the checksum must catch all of them.
func TestRestoreRejectsEveryByteFlip(t *testing.T) {
	s, _ := newTestStore(Options{})
	s.Counter(specs[0]).Add(1, 0, t0)
	s.Counter(specs[2]).Add(2, 3, t0)
	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	for i := range buf.Len() {
		b := bytes.Clone(buf.Bytes())
		b[i] ^= 0xff
		if err := NewStore(Options{}).Restore(bytes.NewReader(b)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("byte %d flipped: Restore = %v, want ErrCorrupt", i, err)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestSnapshotWriteError(t *testing.T) {
	s := filledStore(t)
	for _, n := range []int{0, 100} {
		if err := s.Snapshot(&failWriter{n: n}); err == nil {
			t.Errorf("Snapshot to a writer failing after %d bytes: no error", n)
		}
	}
}
