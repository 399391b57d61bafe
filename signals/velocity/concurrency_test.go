package velocity

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"
)

// TestConcurrentUse adds from many goroutines, as HTTP handlers and Kafka
// partitions do, while snapshots, stats, peeks, Forget and reloads run; run
// it with -race. Every event must be counted exactly once.
func TestConcurrentUse(t *testing.T) {
	const workers, perWorker, keys = 8, 2000, 16
	s, reg := newTestStore(Options{MaxKeys: 1 << 16})
	spec := Spec{Name: "c", Window: time.Hour}
	events := s.Counter(spec)
	users := s.Counter(Spec{Name: "u", Window: time.Hour, Distinct: true})

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				at := t0.Add(time.Duration(i) * time.Millisecond)
				key := uint64(i%keys) << 60 // spread over shards
				events.Add(key, 0, at)
				users.Add(key, uint64(w), at)
				events.Peek(key, at)
			}
		})
	}
	stop := make(chan struct{})
	var side sync.WaitGroup
	side.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = s.Snapshot(io.Discard)
			_ = s.Stats()
			_, _ = reg.Gather()
			s.Forget(12345) // a key no worker uses
			_ = s.Counter(spec)
			s.Retain([]*Counter{events, users})
		}
	})
	wg.Wait()
	close(stop)
	side.Wait()

	end := t0.Add(perWorker * time.Millisecond)
	total, distinct := 0, 0
	for k := range uint64(keys) {
		total += events.Peek(k<<60, end)
		distinct += users.Peek(k<<60, end)
	}
	if total != workers*perWorker {
		t.Errorf("counted %d events, want %d", total, workers*perWorker)
	}
	if distinct != keys*workers {
		t.Errorf("counted %d distinct values, want %d", distinct, keys*workers)
	}

	// The state survives a snapshot taken while idle.
	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	again, _ := newTestStore(Options{MaxKeys: 1 << 16})
	if err := again.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if got := again.Counter(spec).Peek(0, end); got != events.Peek(0, end) {
		t.Errorf("restored count %d, want %d", got, events.Peek(0, end))
	}
}
