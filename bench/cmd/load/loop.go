package main

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"time"
)

// sendFunc sends request i on behalf of worker w. It returns an *httpError
// for an answer other than 200 and any other error for a transport failure.
type sendFunc func(ctx context.Context, w, i int) error

// stats is what a run measured.
type stats struct {
	ok, httpErrors, transportErrors int
	// unsent counts requests of an open-loop schedule that were still
	// waiting for a connection when the run's grace period ended.
	unsent  int
	elapsed time.Duration
	lat     []time.Duration
	// firstErrors are the first few errors, for the report.
	firstErrors []string
}

// maxErrorsKept is how many error messages a run keeps.
const maxErrorsKept = 3

// recorder collects one worker's results; workers merge theirs at the end,
// so the hot path takes no lock.
type recorder struct {
	stats
	last time.Time
}

func (r *recorder) record(err error, lat time.Duration, done time.Time) {
	r.last = done
	var he *httpError
	switch {
	case err == nil:
		r.ok++
		r.lat = append(r.lat, lat)
		return
	case errors.As(err, &he):
		r.httpErrors++
	default:
		r.transportErrors++
	}
	if len(r.firstErrors) < maxErrorsKept {
		r.firstErrors = append(r.firstErrors, err.Error())
	}
}

func merge(start time.Time, rs []*recorder) *stats {
	s := &stats{}
	last := start
	for _, r := range rs {
		s.ok += r.ok
		s.httpErrors += r.httpErrors
		s.transportErrors += r.transportErrors
		s.unsent += r.unsent
		s.lat = append(s.lat, r.lat...)
		for _, e := range r.firstErrors {
			if len(s.firstErrors) < maxErrorsKept {
				s.firstErrors = append(s.firstErrors, e)
			}
		}
		if r.last.After(last) {
			last = r.last
		}
	}
	s.elapsed = last.Sub(start)
	slices.Sort(s.lat)
	return s
}

// openLoop sends rate requests a second for dur, whatever the server's
// speed: request i is due at start + i/rate, and its latency is measured
// from that due time, not from when a connection became free. A server that
// falls behind so shows its queueing delay in the latency, instead of
// slowing the client down and hiding it (coordinated omission). Requests
// still waiting grace after the schedule ends are counted as unsent.
func openLoop(ctx context.Context, rate float64, dur time.Duration, workers int,
	grace time.Duration, send sendFunc) *stats {
	total := int(math.Round(rate * dur.Seconds()))
	interval := float64(time.Second) / rate
	due := func(start time.Time, i int) time.Time {
		return start.Add(time.Duration(float64(i) * interval))
	}
	ctx, cancel := context.WithTimeout(ctx, dur+grace)
	defer cancel()
	// The queue holds the whole schedule, so the dispatcher never waits
	// for a worker: that is what keeps the loop open.
	jobs := make(chan int, total)
	start := time.Now()
	go func() {
		defer close(jobs)
		timer := time.NewTimer(0)
		defer timer.Stop()
		for i := 0; i < total; {
			now := time.Now()
			// Everything due by now goes out at once, so a late wake-up
			// does not shift the schedule.
			for ; i < total && !due(start, i).After(now); i++ {
				jobs <- i
			}
			if i < total {
				timer.Reset(due(start, i).Sub(now))
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	recs := runWorkers(workers, func(w int, r *recorder) {
		for i := range jobs {
			if ctx.Err() != nil {
				r.unsent++
				continue
			}
			err := send(ctx, w, i)
			done := time.Now()
			r.record(err, done.Sub(due(start, i)), done)
		}
	})
	s := merge(start, recs)
	// What the dispatcher never queued because the run was cut short.
	s.unsent += total - (s.ok + s.httpErrors + s.transportErrors + s.unsent)
	return s
}

// closedLoop keeps every worker sending back to back for dur: the fastest
// the server answers over that many connections. Latency is the round trip.
func closedLoop(ctx context.Context, dur time.Duration, workers int, send sendFunc) *stats {
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	start := time.Now()
	recs := runWorkers(workers, func(w int, r *recorder) {
		for i := w; ctx.Err() == nil; i += workers {
			t0 := time.Now()
			err := send(ctx, w, i)
			if ctx.Err() != nil && err != nil {
				return // cut off by the end of the run, not a failure
			}
			done := time.Now()
			r.record(err, done.Sub(t0), done)
		}
	})
	return merge(start, recs)
}

// runWorkers runs body on n goroutines, each with its own recorder, and
// returns the recorders once all have finished.
func runWorkers(n int, body func(w int, r *recorder)) []*recorder {
	recs := make([]*recorder, n)
	var wg sync.WaitGroup
	for w := range recs {
		recs[w] = &recorder{}
		wg.Go(func() { body(w, recs[w]) })
	}
	wg.Wait()
	return recs
}

// quantile returns the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
