package velocity

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Limits and defaults of a Spec.
const (
	// MinWindow and MaxWindow bound Spec.Window.
	MinWindow = time.Second
	MaxWindow = 90 * 24 * time.Hour
	// DefaultBuckets is the number of buckets an event counter's window is
	// split into when Spec.Buckets is zero: the window's older edge is then
	// accurate to 1/12 of the window (50s for a 10m window).
	DefaultBuckets = 12
	// MaxBuckets bounds Spec.Buckets. More buckets make the edge sharper and
	// cost up to one 16-byte cell per bucket on a busy key.
	MaxBuckets = 1000
)

// Spec declares one counter, as a rule file does. Two Specs are the same
// counter when they are equal after defaults are applied (see Store.Counter).
type Spec struct {
	// Name is the counter's name in rules (velocity.<name>) and its metric
	// label. Required.
	Name string
	// Window is how far back, in event time, the counter looks:
	// MinWindow (1s) to MaxWindow (90 days).
	Window time.Duration
	// Distinct counts distinct values (the distinct argument of Add) per
	// key instead of events.
	Distinct bool
	// Buckets is the number of time buckets an event counter's window is
	// split into; it sets the resolution Window/Buckets with which events
	// leave the window (see the package doc). Zero means DefaultBuckets
	// (12); at most MaxBuckets. More buckets give a sharper edge at the cost
	// of more cells on keys that see events in many buckets. Distinct
	// counters keep exact times and ignore it (it is normalised to zero).
	Buckets int
}

// Validate reports whether s can be used as it is. Rule compilers call it
// to report a bad counter with its file and line; Store.Counter clamps an
// invalid Spec instead of failing.
func (s Spec) Validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("velocity counter: name is empty")
	case s.Window < MinWindow || s.Window > MaxWindow:
		return fmt.Errorf("velocity counter %q: window %v is outside %v..%d days",
			s.Name, s.Window, MinWindow, MaxWindow/(24*time.Hour))
	case s.Buckets < 0 || s.Buckets > MaxBuckets:
		return fmt.Errorf("velocity counter %q: buckets %d is outside 1..%d",
			s.Name, s.Buckets, MaxBuckets)
	}
	return nil
}

// normalize applies defaults and clamps out-of-range values, so that equal
// counters compare equal and any Spec can be run.
func (s Spec) normalize() Spec {
	s.Window = min(max(s.Window, MinWindow), MaxWindow)
	switch {
	case s.Distinct:
		s.Buckets = 0
	case s.Buckets <= 0:
		s.Buckets = DefaultBuckets
	case s.Buckets > MaxBuckets:
		s.Buckets = MaxBuckets
	}
	return s
}

// Defaults of Options.
const (
	DefaultMaxKeys     = 1_000_000
	DefaultMaxDistinct = 1000
	DefaultLateness    = 5 * time.Minute
	DefaultMaxFuture   = time.Minute
)

// Options configure a Store. The zero value is usable: every field has a
// default.
type Options struct {
	// MaxKeys is the most keys one counter holds. Default (zero or
	// negative) 1,000,000. When it is reached, a new key evicts an old one
	// (see the package doc). Memory is about 100 bytes per key whose key
	// holds one bucket or distinct value, and 16 bytes more per further
	// bucket or value; the package doc has the measured figures.
	MaxKeys int
	// MaxDistinct is the most distinct values a distinct counter tracks per
	// key. Default (zero or negative) 1000. Beyond it the count saturates at
	// MaxDistinct: the value seen longest ago is replaced, and
	// verdict_velocity_distinct_saturated_total counts each such event. A
	// higher limit keeps exact counts for bigger attacks, at 16 bytes per
	// value and a longer scan (Add is linear in the values of its key).
	MaxDistinct int
	// Lateness is how far behind the newest event time a counter has seen
	// an event may arrive and still get an exact count; events up to
	// Lateness+Window behind are still recorded in their own buckets, and
	// older ones are dropped and counted in verdict_velocity_late_events_total.
	// Default (zero) 5m; negative means no lateness. A longer lateness
	// keeps more history per key (Lateness+Window of buckets or values).
	Lateness time.Duration
	// MaxFuture is how far ahead of Clock an event time may be. A later
	// time is clamped to Clock()+MaxFuture and counted in
	// verdict_velocity_future_events_total, so that one event with a wrong
	// clock cannot push every other event out of the window. Default
	// (zero) 1m; negative means zero. Replaying data dated in the future
	// needs a Clock that follows the replay.
	MaxFuture time.Duration
	// Clock is read only to clamp future events; windows follow event time.
	// Default time.Now.
	Clock func() time.Time
	// Registerer, when set, gets the store's metrics (see the package doc).
	// Default none.
	Registerer prometheus.Registerer
	// Logger receives warnings (a clamped Spec, a metrics registration
	// error). Default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.MaxDistinct <= 0 {
		o.MaxDistinct = DefaultMaxDistinct
	}
	o.Lateness = durationOr(o.Lateness, DefaultLateness)
	o.MaxFuture = durationOr(o.MaxFuture, DefaultMaxFuture)
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// durationOr returns def for zero and zero for a negative d. It caps d at
// MaxWindow: more lateness or future than the longest window only costs
// memory.
func durationOr(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return min(d, MaxWindow)
}
