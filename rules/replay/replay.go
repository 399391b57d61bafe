// Package replay runs a recorded stream of events through two rule sets side
// by side, a baseline and a candidate, and reports what the candidate would
// change: actions by set, the changed decisions by rule and reason, step-up
// and deny rates, and, for labelled streams, the attacks each set caught and
// the legitimate users it disturbed. `verdict replay` is its command line.
//
// Each set runs in its own engine with its own in-memory state (counters,
// profiles, dedupe memory), so that each evolves from the same events as it
// would have in production; the engines' clocks follow the events' times, so
// windows and expiries are those of the stream, not of today. The two run
// concurrently, each on its own goroutine, while a third decodes the stream.
package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/device"
	"github.com/verdictrisk/verdict/signals/velocity"
)

// Options configure a replay.
type Options struct {
	Baseline, Candidate *rules.Set
	// Engine is the template of both engines: its signal sources (City,
	// ASN, Devices, Disposable, Proxies) are shared; rules, state and clock
	// are each engine's own. The zero value has no reference data.
	Engine engine.Options
	// Out, if set, receives each changed decision as a JSON line.
	Out io.Writer
	// Progress, if set, is called about five times a second with the
	// source's progress and the records done.
	Progress func(done, total int64, records int)
	// Challenges makes each side answer its own step-ups of labelled
	// successful logins and signups as the auth server would: a challenge
	// passed by the customer, failed by the attacker, 30 seconds later (as
	// verdict eval does). A simulated stream carries no challenge events;
	// without them a customer's new device is never learnt and is stepped
	// up again at every login. Leave it off for a recorded production
	// stream, which holds the real challenge results.
	Challenges bool
}

// challengeDelay is how long after a step-up its simulated challenge is
// answered.
const challengeDelay = 30 * time.Second

// batchSize is how many records travel together between the goroutines:
// large enough that channel hand-offs cost nothing per event, small enough
// that the two engines stay close in the stream.
const batchSize = 256

// Outcome is what one set decided for one record.
type Outcome struct {
	Action  rules.Action    `json:"action"`
	Score   int             `json:"score"`
	Reasons []engine.Reason `json:"reasons"`
	err     error           // the engine refused the event
}

type batch struct {
	recs     []*Record
	base     []Outcome
	cand     []Outcome
	finished sync.WaitGroup
}

// Run replays src and returns the report. It stops at the end of the
// stream, on a stream error, or when ctx ends (the report then covers what
// was replayed, and the error says why it stopped).
func Run(ctx context.Context, src Source, opts Options) (*Report, error) {
	if opts.Baseline == nil || opts.Candidate == nil {
		return nil, fmt.Errorf("replay: a baseline and a candidate rule set are required")
	}
	if opts.Engine.Devices == nil {
		p, err := device.NewParser(device.Options{})
		if err != nil {
			return nil, fmt.Errorf("user-agent parser: %w", err)
		}
		opts.Engine.Devices = p
	}
	base, err := newSide(opts.Engine, opts.Baseline)
	if err != nil {
		return nil, err
	}
	defer base.eng.Close()
	cand, err := newSide(opts.Engine, opts.Candidate)
	if err != nil {
		return nil, err
	}
	defer cand.eng.Close()

	start := time.Now()
	rep := newReport(opts.Baseline, opts.Candidate)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	toBase, toCand := make(chan *batch, 4), make(chan *batch, 4)
	toCollect := make(chan *batch, 8)
	var wg sync.WaitGroup
	base.challenges, cand.challenges = opts.Challenges, opts.Challenges
	wg.Go(func() { base.run(ctx, toBase, func(b *batch) []Outcome { return b.base }) })
	wg.Go(func() { cand.run(ctx, toCand, func(b *batch) []Outcome { return b.cand }) })
	var readErr error
	wg.Go(func() {
		readErr = read(ctx, src, base.eng, toBase, toCand, toCollect)
	})
	outErr := collect(toCollect, rep, opts, src)
	cancel()
	wg.Wait()
	rep.Elapsed = time.Since(start)
	switch {
	case readErr != nil:
		return rep, readErr
	case outErr != nil:
		return rep, fmt.Errorf("write changed decisions: %w", outErr)
	}
	return rep, nil
}

// side is one rule set's engine and its clock.
type side struct {
	eng        *engine.Engine
	clock      atomic.Int64
	challenges bool
}

func newSide(tmpl engine.Options, set *rules.Set) (*side, error) {
	s := &side{}
	now := func() time.Time { return time.Unix(0, s.clock.Load()).UTC() }
	o := tmpl
	o.Rules, o.ShadowRules, o.Now, o.Registerer = set, nil, now, nil
	o.Profiles = nil // in memory
	o.Logger = slog.New(slog.DiscardHandler)
	o.Velocity = velocity.NewStore(velocity.Options{Clock: now, Logger: o.Logger})
	eng, err := engine.New(o)
	if err != nil {
		return nil, err
	}
	s.eng = eng
	return s, nil
}

// run decides every record of every batch in order.
func (s *side) run(ctx context.Context, in <-chan *batch, out func(*batch) []Outcome) {
	for b := range in {
		res := out(b)
		for i, rec := range b.recs {
			if rec.Err != nil || ctx.Err() != nil {
				continue
			}
			// The clock follows the stream; an event without a time
			// happens when the one before it did.
			if at := rec.At.UnixNano(); !rec.At.IsZero() && at > s.clock.Load() {
				s.clock.Store(at)
			}
			ev := rec.Event // each engine validates its own copy
			d, err := s.eng.DecideWith(ctx, &ev, engine.DecideOptions{Enriched: rec.enriched})
			if err != nil {
				res[i] = Outcome{err: err}
				continue
			}
			res[i] = Outcome{Action: d.Action, Score: d.Score, Reasons: d.Reasons}
			if s.challenges && d.Action == rules.StepUp && !d.Repeated {
				s.challenge(ctx, rec, &ev)
			}
		}
		b.finished.Done()
	}
}

// challenge reports the second factor's result after the step-up of a
// labelled successful login or signup (Options.Challenges). The clock
// moves to the challenge's time, which the next event's time overtakes.
func (s *side) challenge(ctx context.Context, rec *Record, ev *engine.Event) {
	login := ev.Type == engine.TypeLogin && ev.Outcome == engine.OutcomeSucceeded
	if rec.Label == nil || (!login && ev.Type != engine.TypeSignup) {
		return
	}
	ch := rec.Event
	ch.Type, ch.Outcome = engine.TypeChallenge, engine.OutcomeSucceeded
	if rec.Label.Kind == "attack" {
		ch.Outcome = engine.OutcomeFailed
	}
	if ch.ID != "" {
		ch.ID += "-challenge"
	}
	if !rec.At.IsZero() {
		at := rec.At.Add(challengeDelay)
		ch.Time = at.UTC().Format(time.RFC3339Nano)
		if at.UnixNano() > s.clock.Load() {
			s.clock.Store(at.UnixNano())
		}
	}
	// A challenge the engine refuses changes nothing the report counts.
	_, _ = s.eng.Decide(ctx, &ch)
}

// read decodes the stream into batches, computes each event's stateless
// signals once for both sides (with enricher, whose reference data both
// share), and hands each batch to both engines and, in order, to the
// collector.
func read(ctx context.Context, src Source, enricher *engine.Engine,
	toBase, toCand, toCollect chan<- *batch) error {
	defer close(toBase)
	defer close(toCand)
	defer close(toCollect)
	b := newBatch()
	// A batch goes to both engines before the collector, so that the
	// collector only ever waits for batches both engines have; a batch
	// left behind by a cancellation is waited for by no one.
	flush := func() bool {
		if len(b.recs) == 0 {
			return true
		}
		b.base, b.cand = make([]Outcome, len(b.recs)), make([]Outcome, len(b.recs))
		b.finished.Add(2)
		for _, ch := range []chan<- *batch{toBase, toCand, toCollect} {
			select {
			case ch <- b:
			case <-ctx.Done():
				return false
			}
		}
		b = newBatch()
		return true
	}
	for {
		rec, err := src.Next()
		if err == io.EOF {
			flush()
			return nil
		}
		if err != nil {
			flush()
			return err
		}
		if rec.Err == nil && !rec.At.IsZero() {
			// As of its own time, which is what each side's clock reads
			// when it decides it (an event without a time takes the
			// side's clock, so the sides enrich it themselves); an event
			// the engines would refuse is left to them to report.
			rec.enriched, _ = enricher.Enrich(rec.Event, rec.At)
		}
		b.recs = append(b.recs, rec)
		if len(b.recs) == batchSize && !flush() {
			return ctx.Err()
		}
	}
}

func newBatch() *batch { return &batch{recs: make([]*Record, 0, batchSize)} }

// collect compares the two Outcomes of every record, in stream order.
func collect(in <-chan *batch, rep *Report, opts Options, src Source) error {
	var outErr error
	var enc *json.Encoder
	if opts.Out != nil {
		enc = json.NewEncoder(opts.Out)
	}
	last := time.Now()
	for b := range in {
		b.finished.Wait()
		for i, rec := range b.recs {
			changed := rep.add(rec, &b.base[i], &b.cand[i])
			if changed && enc != nil && outErr == nil {
				outErr = enc.Encode(changeOf(rec, &b.base[i], &b.cand[i]))
			}
		}
		if opts.Progress != nil && time.Since(last) > 200*time.Millisecond {
			done, total := src.Progress()
			opts.Progress(done, total, rep.Records)
			last = time.Now()
		}
	}
	if opts.Progress != nil {
		done, total := src.Progress()
		opts.Progress(done, total, rep.Records)
	}
	return outErr
}

// Change is one line of the --out file: an event whose action differs.
type Change struct {
	Pos       string          `json:"pos"`
	EventID   string          `json:"event_id,omitempty"`
	Label     *Label          `json:"label,omitempty"`
	Baseline  Outcome         `json:"baseline"`
	Candidate Outcome         `json:"candidate"`
	Event     json.RawMessage `json:"event"`
}

func changeOf(rec *Record, base, cand *Outcome) Change {
	return Change{Pos: rec.Pos, EventID: rec.Event.ID, Label: rec.Label, Baseline: *base,
		Candidate: *cand, Event: rec.Raw}
}
