// Package velocity keeps sliding-window counters over any key, on event
// time, in bounded memory. It computes the velocity signals of the pipeline:
// rule files declare counters (failed logins per IP, distinct users per IP,
// signups per ASN), the rules package turns each into a Spec and asks a
// Store for its Counter, and for every event the engine calls Counter.Add
// with the xxhash64 of the key (and of the distinct value) and the event's
// time. The returned count is what rules read as velocity.<name>.
//
// # Windows
//
// Windows slide on event time, never on wall time: the count for an event
// at t covers the events with times in (t-Window, t]. An event counter keeps,
// per key, one cell per time bucket that saw events; buckets are
// Window/Buckets wide (50s for a 10m window with the default 12) and aligned
// to the Unix epoch. A count sums the buckets from the one holding t back
// Buckets-1 buckets, which makes the window's older edge approximate by up
// to one bucket:
//
//   - an event at or before t-Window is never counted;
//   - an event at or after t-Window+Window/Buckets is always counted;
//   - an event in between is counted when its bucket is one of the
//     Buckets-1 buckets before t's, so the window is between
//     Window-Window/Buckets and Window long, never longer;
//   - an event after t but in t's bucket is counted (late events only).
//
// A distinct counter is exact: it keeps each value's hash with the newest
// time it was seen, and counts the values seen after t-Window. For a late
// event, a value last seen after t counts too, as its earlier sightings are
// not kept. At most Options.MaxDistinct values are kept per key; beyond that
// the count saturates at MaxDistinct, the value seen longest ago is
// replaced (so the count falls again as a burst ages out), and
// verdict_velocity_distinct_saturated_total counts such events.
//
// # Late, replayed and future events
//
// Each counter tracks the newest event time it has accepted. An event up to
// Options.Lateness (default 5m) behind it is recorded in its own bucket and
// gets an exact count. An event up to Lateness+Window behind is still
// recorded in its own bucket, so it counts for later events near its time,
// but its own count may miss older events already dropped. An event older
// than that is not recorded: Add returns what Peek would and
// verdict_velocity_late_events_total counts it. So a replayed batch of old
// events lands where it happened and never looks like a burst now; replay
// into a fresh store simply advances event time.
//
// An event time more than Options.MaxFuture (default 1m) ahead of
// Options.Clock is clamped to Clock()+MaxFuture and counted in
// verdict_velocity_future_events_total, so one sender with a wrong clock
// cannot make every other event late. Times before 1900 are dropped as
// late. Peek clamps the same way without counting.
//
// # Memory and eviction
//
// A counter holds at most Options.MaxKeys keys (default 1,000,000). Measured
// at a million keys (BenchmarkMemory): an event counter uses about 100 bytes
// per key with one busy bucket and 148 with three; a distinct counter about
// 100 bytes per key with one value and 148 with three. Each further bucket
// or value adds 16 bytes (slices grow by doubling). A key holds at most
// (Window+Lateness)/bucket width + 1 buckets, or MaxDistinct values. Cells
// older than Lateness+Window before the newest event are dropped when their
// key is next touched. Stats reports an estimate (80 bytes per key plus 16
// per cell of capacity).
//
// Keys leave in this order, each eviction counted in
// verdict_velocity_evictions_total by reason:
//
//  1. Dead keys, holding nothing newer than Lateness+Window before the
//     newest event, are swept when a new key arrives at most once per
//     Window+Lateness of event time per shard (reason "expired").
//  2. When a shard is full, every expired key (one that counts zero for an
//     event at the newest time) is swept, at most once per bucket of event
//     time (reason "expired"): no current count changes.
//  3. If the shard is still full, the least recently updated of 16 random
//     keys is evicted, recency being the time of its newest event (reason
//     "capacity", or "expired" if the sampled key had expired).
//
// Nothing is dropped silently: a key is only ever removed by these steps, by
// Forget or by Retain.
//
// # Concurrency and cost
//
// Counters are split into up to 64 shards by the key's top bits, each with
// its own mutex, so Adds on different keys rarely contend; the newest event
// time is an atomic. Lock order: Store.mu before a shard's mu, and never two
// shards at once. Measured on the 2-core development machine (noisy): Add on
// a warm key 38-43ns with no allocation, Add over a million keys ~350ns
// (cache misses), Add on a distinct key with 3 values ~43ns; a key's first
// Add or new bucket allocates. A distinct Add scans its key's values: ~3µs
// for a saturated key of 1000 values.
//
// # Rule reloads, erasure and restarts
//
// Store.Counter returns the existing counter for an equal Spec, so a reload
// that keeps a counter keeps its counts, and a changed Spec gets a fresh
// counter. Store.Retain drops the counters the new rule set no longer uses,
// with their metric series. Store.Forget erases a key from every counter
// and the same hash from every distinct set (a user's key as a counted
// value). Store.Snapshot and Store.Restore carry every counter across a
// restart in a compact, versioned, CRC-32C-checked binary form; a damaged
// snapshot is refused whole with an error wrapping ErrCorrupt.
//
// # Metrics
//
// With Options.Registerer set, the store exports, labelled by counter name:
//
//	verdict_velocity_keys                      gauge: keys held
//	verdict_velocity_memory_bytes              gauge: estimated memory
//	verdict_velocity_evictions_total           counter, reason=expired|capacity
//	verdict_velocity_late_events_total         counter: events too late to record
//	verdict_velocity_future_events_total       counter: event times clamped
//	verdict_velocity_distinct_saturated_total  counter: events on a full distinct set
//
// Values are read from the counters at scrape time, so Add touches no
// metric, and a counter dropped by Retain leaves no series behind. The
// counters restart from zero when a Spec changes.
package velocity
