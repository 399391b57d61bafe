package refdata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/verdictrisk/verdict/feeds/lists"
)

// Kinds of feed, as shown in Status.Kind.
const (
	KindCity    = "city"      // geo.CityDB from MMDB files
	KindASN     = "asn"       // geo.ASNDB from CSV or MMDB
	KindDomains = "domains"   // email.Domains
	KindCIDR    = "cidr_list" // lists.List of prefixes
	KindASNList = "asn_list"  // lists.List of AS numbers
)

// The names of the feeds that are not network lists.
const (
	FeedCity       = "geo_city"
	FeedASN        = "geo_asn"
	FeedDisposable = "disposable_domains"
)

// loaded is what a loader made of a feed's sources.
type loaded struct {
	value   any // *geo.CityDB, *geo.ASNDB, *email.Domains or *lists.List
	entries int
	info    string
	result  lists.Result // junk lines and warnings (lists only)
}

// loader parses a feed's sources.
type loader func(srcs []lists.Source) (loaded, error)

// snapshot is the copy of a feed in use. It is immutable.
type snapshot struct {
	loaded
	version  uint64    // hash of the sources' bytes
	dataTime time.Time // newest modification time of the sources
}

// Feed is one named piece of reference data: its sources, the copy in use
// and how its loads went. Lookups read the copy through an atomic pointer,
// so a reload never blocks them and they never see half a swap.
type Feed struct {
	name, kind, desc string
	role             lists.Role
	srcs             []*source
	load             loader
	refresh, maxAge  time.Duration
	settle, retry    time.Duration
	client           *http.Client
	log              *slog.Logger
	now              func() time.Time

	cur atomic.Pointer[snapshot]
	// staleAt is the Unix time in nanoseconds after which the copy in use
	// is stale (its last success plus MaxAge); 0 never.
	staleAt atomic.Int64
	kick    chan struct{}

	loadMu sync.Mutex // one load at a time; taken before mu
	mu     sync.Mutex // guards st
	st     progress
}

// progress is how the feed's loads went.
type progress struct {
	lastAttempt, lastSuccess time.Time
	lastErr                  error
	lastOK                   bool
	errors                   uint64
}

// Name returns the feed's name.
func (f *Feed) Name() string { return f.name }

// notify asks the feed's loop to reload once its files have settled.
func (f *Feed) notify() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// reload fetches the sources and, when they changed and parse, swaps the new
// copy in. On any error the copy in use stays and the error is recorded.
// force reads every source even when it looks unchanged.
func (f *Feed) reload(ctx context.Context, force bool) error {
	f.loadMu.Lock()
	defer f.loadMu.Unlock()
	start := f.now()
	initial := f.cur.Load() == nil
	got, swapped, err := f.fetchAndLoad(ctx, force, initial)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.lastAttempt = start
	if err != nil {
		f.st.lastErr, f.st.lastOK = err, false
		f.st.errors++
		f.logFailure(err)
		return err
	}
	f.st.lastErr, f.st.lastOK = nil, true
	f.st.lastSuccess = start
	if got.fromCache {
		// The copy is as old as the cached download, and the fetch that
		// failed stays visible until one succeeds.
		f.st.lastSuccess = got.modTime
		f.st.lastErr = got.cacheReason
	}
	if f.maxAge > 0 {
		f.staleAt.Store(f.st.lastSuccess.Add(f.maxAge).UnixNano())
	}
	if swapped {
		f.logLoaded(f.now().Sub(start), got.fromCache)
	}
	return nil
}

// outcome says what fetchAndLoad read, for reload's bookkeeping.
type outcome struct {
	fromCache   bool
	modTime     time.Time
	cacheReason error
}

func (f *Feed) fetchAndLoad(ctx context.Context, force, initial bool) (outcome, bool, error) {
	var out outcome
	got := make([]fetched, len(f.srcs))
	changed := false
	for i, s := range f.srcs {
		r, err := s.fetch(ctx, f.client, force)
		if err != nil && initial && s.url != "" {
			// Boot from the last good download when the URL is down.
			if c, cerr := s.fromCache(); cerr == nil {
				r, out.fromCache, out.modTime = c, true, c.modTime
				out.cacheReason = fmt.Errorf("%w; using the copy downloaded %s",
					err, c.modTime.UTC().Format(time.RFC3339))
				err = nil
			}
		}
		if err != nil {
			return out, false, err
		}
		got[i] = r
		changed = changed || !r.unchanged
	}
	cur := f.cur.Load()
	if !changed && cur != nil {
		return out, false, nil
	}
	for i, s := range f.srcs {
		if got[i].unchanged && got[i].data == nil {
			// A sibling changed: read this unchanged file again.
			r, err := s.fetch(ctx, f.client, true)
			if err != nil {
				return out, false, err
			}
			got[i] = r
		}
	}
	h := xxhash.New()
	blobs := make([]lists.Source, len(got))
	var newest time.Time
	for i, r := range got {
		h.Write(r.data)
		h.Write([]byte{0})
		blobs[i] = lists.Source{Name: f.srcs[i].spec, Data: r.data}
		if r.modTime.After(newest) {
			newest = r.modTime
		}
	}
	version := h.Sum64()
	if cur != nil && cur.version == version {
		f.commit(got)
		return out, false, nil
	}
	l, err := f.load(blobs)
	if err == nil {
		err = checkShrink(cur, l.entries)
	}
	if err != nil {
		// Not committed either: the next attempt reads the sources again
		// and reports the error again.
		return out, false, err
	}
	f.cur.Store(&snapshot{loaded: l, version: version, dataTime: newest})
	f.commit(got)
	return out, true, nil
}

// ErrShrunk is wrapped by a load refused because the new copy has under a
// tenth of the entries of the copy in use, which has at least
// shrinkGuardFloor: an upstream that emptied its list, or a cut download
// that still parses, looks like that. The copy in use stays. A restart
// takes the new copy (there is then no copy to compare with), which is the
// override when the shrink is meant.
var ErrShrunk = errors.New("the new copy has under a tenth of the entries of the copy in use")

// shrinkGuardFloor is the size below which a copy may shrink freely: a
// short list (an office's addresses) legitimately loses most of its lines.
const shrinkGuardFloor = 1000

// checkShrink refuses a copy of n entries in place of cur (see ErrShrunk).
func checkShrink(cur *snapshot, n int) error {
	if cur == nil || cur.entries < shrinkGuardFloor || n*10 >= cur.entries {
		return nil
	}
	return fmt.Errorf("%w (%d, down from %d): kept the copy in use; restart verdictd to take "+
		"the new one if it is right", ErrShrunk, n, cur.entries)
}

func (f *Feed) commit(got []fetched) {
	for i, s := range f.srcs {
		if err := s.commit(got[i]); err != nil {
			f.log.Warn("feed cache not written", "feed", f.name, "err", err)
		}
	}
}

// maxLoggedProblems is how many skipped lines one load logs; the rest are
// counted in the status.
const maxLoggedProblems = 10

func (f *Feed) logLoaded(took time.Duration, fromCache bool) {
	s := f.cur.Load()
	f.log.Info("feed loaded", "feed", f.name, "entries", s.entries, "info", s.info,
		"junk_lines", s.result.Junk, "warnings", s.result.Warnings, "from_cache", fromCache,
		"took_ms", took.Milliseconds())
	for i, p := range s.result.Problems {
		if i == maxLoggedProblems {
			f.log.Warn("feed has more problems; see /v1/feeds", "feed", f.name,
				"problems", s.result.Junk+s.result.Warnings)
			break
		}
		msg := "feed line skipped"
		if p.Warning {
			msg = "feed line warning"
		}
		f.log.Warn(msg, "feed", f.name, "source", redact(p.Source), "line", p.Line, "problem", p.Msg)
	}
}

func (f *Feed) logFailure(err error) {
	attrs := []any{"feed", f.name, "err", err}
	if f.cur.Load() == nil {
		f.log.Warn("feed not loaded; its signals are missing", attrs...)
		return
	}
	if !f.st.lastSuccess.IsZero() {
		attrs = append(attrs, "age_s", int(f.now().Sub(f.st.lastSuccess).Seconds()))
	}
	if errors.Is(err, ErrChanging) {
		f.log.Debug("feed source still changing; retrying", attrs...)
		return
	}
	f.log.Warn("feed load failed; keeping the last good copy", attrs...)
}

// run reloads the feed on its schedule and after file changes, until ctx
// ends. A failed load is retried after Retry, doubling up to Refresh; a file
// caught mid-write is retried once it has settled again.
func (f *Feed) run(ctx context.Context) {
	next := time.NewTimer(f.refresh)
	defer next.Stop()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	backoff := f.retry
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.kick:
			settle.Reset(f.settle)
			continue
		case <-settle.C:
		case <-next.C:
		}
		err := f.reload(ctx, false)
		switch {
		case err == nil:
			backoff = f.retry
			next.Reset(f.refresh)
		case errors.Is(err, ErrChanging):
			next.Reset(f.settle)
		default:
			next.Reset(min(backoff, f.refresh))
			backoff = min(2*backoff, f.refresh)
		}
	}
}

// Status is what /v1/feeds and `verdict feeds` show of one feed.
type Status struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	Role        string   `json:"role,omitempty"`
	Description string   `json:"description,omitempty"`
	Sources     []string `json:"sources"`
	// Loaded is true when a copy is in use.
	Loaded  bool   `json:"loaded"`
	Entries int    `json:"entries"`
	Info    string `json:"info,omitempty"`
	// Updated is the newest modification time of the sources of the copy
	// in use (file time, HTTP Last-Modified or download time).
	Updated time.Time `json:"updated,omitzero"`
	// LastSuccess is when a load last succeeded (or confirmed the copy
	// unchanged); AgeSeconds is the time since, -1 when never.
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	AgeSeconds  float64   `json:"age_seconds"`
	MaxAge      float64   `json:"max_age_seconds,omitempty"`
	Stale       bool      `json:"stale"`
	// LastOK is true when the last attempt succeeded.
	LastOK    bool   `json:"last_ok"`
	LastError string `json:"last_error,omitempty"`
	// Errors counts failed loads since the process started.
	Errors uint64 `json:"errors"`
	// JunkLines and Warnings count the problems of the copy in use;
	// Problems shows the first of them with file and line.
	JunkLines int      `json:"junk_lines"`
	Warnings  int      `json:"warnings"`
	Problems  []string `json:"problems,omitempty"`
}

// maxShownProblems bounds Status.Problems.
const maxShownProblems = 20

// Status reports the feed's state.
func (f *Feed) Status() Status {
	f.mu.Lock()
	st := f.st
	f.mu.Unlock()
	now := f.now()
	s := Status{Name: f.name, Kind: f.kind, Role: string(f.role), Description: f.desc,
		LastSuccess: st.lastSuccess, LastAttempt: st.lastAttempt, LastOK: st.lastOK,
		Errors: st.errors, AgeSeconds: -1, MaxAge: f.maxAge.Seconds()}
	for _, src := range f.srcs {
		s.Sources = append(s.Sources, redact(src.spec))
	}
	if st.lastErr != nil {
		s.LastError = st.lastErr.Error()
	}
	if !st.lastSuccess.IsZero() {
		s.AgeSeconds = now.Sub(st.lastSuccess).Seconds()
	}
	if snap := f.cur.Load(); snap != nil {
		s.Loaded, s.Entries, s.Info, s.Updated = true, snap.entries, snap.info, snap.dataTime
		s.JunkLines, s.Warnings = snap.result.Junk, snap.result.Warnings
		for i, p := range snap.result.Problems {
			if i == maxShownProblems {
				break
			}
			p.Source = redact(p.Source)
			s.Problems = append(s.Problems, p.String())
		}
	}
	s.Stale = f.stale(now)
	return s
}

// stale reports whether the copy in use is older than MaxAge.
func (f *Feed) stale(now time.Time) bool {
	at := f.staleAt.Load()
	return at != 0 && now.UnixNano() > at
}
