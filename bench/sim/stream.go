package sim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/engine"
)

// DefaultStart is where a stream starts unless Config.Start says otherwise:
// a fixed day in the past, so that event times are never in the engine's
// future and the same seed always gives the same stream.
var DefaultStart = time.Date(2026, time.October, 1, 0, 0, 0, 0, time.UTC)

// Config describes a stream. The zero value is the default sample stream.
type Config struct {
	// Seed selects the run; the same seed and the same world give the same
	// stream. Zero is a valid seed.
	Seed uint64
	// Users is the size of the legitimate population. Default 300.
	Users int
	// Days is the length of the window. Default 21; at most 366.
	Days int
	// Start is when the window starts. Default DefaultStart.
	Start time.Time
	// SignupShare is the share of users who sign up during the window; the
	// others had their account before. Default 0.3; negative means none.
	SignupShare float64
	// Attackers are the campaigns to mix in, each run once. Nil means
	// DefaultAttackers(); an empty, non-nil slice means legitimate traffic
	// only.
	Attackers []Attacker
}

func (c Config) withDefaults() (Config, error) {
	if c.Users == 0 {
		c.Users = 300
	}
	if c.Days == 0 {
		c.Days = 21
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	switch {
	case c.SignupShare == 0:
		c.SignupShare = 0.3
	case c.SignupShare < 0:
		c.SignupShare = 0
	case c.SignupShare > 1:
		return c, fmt.Errorf("signup share %v is above 1", c.SignupShare)
	}
	if c.Attackers == nil {
		c.Attackers = DefaultAttackers()
	}
	if c.Users < 0 {
		return c, fmt.Errorf("users %d is negative", c.Users)
	}
	if c.Days < 0 || c.Days > 366 {
		return c, fmt.Errorf("days %d is not between 1 and 366", c.Days)
	}
	return c, nil
}

// Generate draws the stream of cfg in world w: every user's events, then
// every attacker's campaign. The records are sorted by time (ties keep the
// order they were made in) and each event gets a unique random id.
func Generate(w *World, cfg Config) ([]Record, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("sample stream: %w", err)
	}
	if w == nil || len(w.Cities) == 0 {
		return nil, errors.New("sample stream: the world has no city")
	}
	end := cfg.Start.Add(time.Duration(cfg.Days) * 24 * time.Hour)
	pop := &population{world: w, cfg: cfg, start: cfg.Start, end: end,
		venues: newVenues(newRand(cfg.Seed, worldStream), w, cfg.Users),
		ids:    map[string]bool{}, emails: map[string]bool{}}
	var recs []Record
	users := make([]*User, 0, cfg.Users)
	for i := range cfg.Users {
		u, rs := pop.user(i)
		users = append(users, u)
		recs = append(recs, rs...)
	}
	s := &Scenario{World: w, Users: users, Start: cfg.Start, End: end, emails: pop.emails,
		taken: map[*User]bool{}}
	for i, a := range cfg.Attackers {
		r := newRand(cfg.Seed, attackStream+uint64(i))
		campaign := fmt.Sprintf("%s-%d", a.Name(), i+1)
		recs = append(recs, a.Run(s, r, campaign)...)
	}
	sortRecords(recs)
	assignIDs(recs, cfg.Seed)
	return recs, nil
}

// sortRecords orders records by event time. Times are all written in the
// same layout, in UTC, so comparing the strings compares the instants.
func sortRecords(recs []Record) {
	slices.SortStableFunc(recs, func(a, b Record) int {
		switch {
		case a.Event.Time < b.Event.Time:
			return -1
		case a.Event.Time > b.Event.Time:
			return 1
		}
		return 0
	})
}

func assignIDs(recs []Record, seed uint64) {
	r := newRand(seed, idStream)
	seen := make(map[string]bool, len(recs))
	for i := range recs {
		id := uuid4(r)
		for seen[id] {
			id = uuid4(r)
		}
		seen[id] = true
		recs[i].Event.ID = id
	}
}

// Write writes records as JSON lines: {"label": {...}, "event": {...}}.
func Write(w io.Writer, recs []Record) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return fmt.Errorf("write record %d: %w", i+1, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

// Read reads a labelled stream as Write writes it, one {"label", "event"}
// object a line; blank lines are skipped. Events are decoded as strictly
// as the decision API decodes them, and an error names the line. A line
// without a label is a legitimate, not decisive, event.
func Read(r io.Reader) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var recs []Record
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var raw struct {
			Label *Label          `json:"label"`
			Event json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(line, &raw); err != nil {
			return nil, fmt.Errorf("line %d: not a JSON object with label and event: %w", n, err)
		}
		if len(raw.Event) == 0 {
			return nil, fmt.Errorf(`line %d: no "event" object`, n)
		}
		rec := Record{Label: Label{Kind: KindLegit}}
		if raw.Label != nil {
			rec.Label = *raw.Label
		}
		if err := engine.DecodeEvent(raw.Event, &rec.Event); err != nil {
			return nil, fmt.Errorf("line %d: event: %w", n, err)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", len(recs)+1, err)
	}
	return recs, nil
}
