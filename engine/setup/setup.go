// Package setup builds a ready engine from a rule set and a data folder: the
// one way verdictd, `verdict score`, replay and evaluation assemble the
// reference data feeds (feeds/refdata), the state stores and the engine, so
// that every entry point decides alike.
//
// The smallest use, for a tool that decides a stream and exits:
//
//	st, err := setup.New(ctx, setup.Options{Rules: set, DataDir: "data"})
//	if err != nil { … }
//	defer st.Close()
//	d, err := st.Decide(ctx, &ev)
//
// With StateDir set, profiles persist in StateDir/profiles.db, velocity
// counters are restored from StateDir/velocity.snap and saved there by
// Close, and downloads of URL feeds are kept in StateDir/feeds. With Watch
// set, the feeds reload in the background as their files change.
package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/feeds/refdata"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/network"
	"github.com/verdictrisk/verdict/signals/profile"
	"github.com/verdictrisk/verdict/signals/velocity"
)

// Options say what to build. Only Rules is required.
type Options struct {
	// Rules is the rule set to start with.
	Rules *rules.Set
	// DataDir is the reference data folder. Default "data". A folder
	// without data still builds an engine whose decisions name the
	// missing signals.
	DataDir string
	// FeedsFile is the feeds configuration (docs/feeds.md). "" uses
	// DataDir/feeds.yaml when it exists, else the embedded default.
	FeedsFile string
	// Feeds, if set, are feeds already opened (refdata.Open) to build on
	// instead of opening DataDir: a tool that builds many engines over one
	// data set (an evaluation sweep) loads it once. DataDir, FeedsFile and
	// Watch are then ignored, and Close leaves the feeds open.
	Feeds *refdata.Manager
	// StateDir is where profiles, the velocity snapshot and feed downloads
	// are kept. "" keeps everything in memory: a fresh state per run, as a
	// replay or an evaluation wants.
	StateDir string
	// Watch reloads the feeds in the background, on their schedule and
	// when their files change, until Close. A short-lived tool leaves it
	// false and decides on the data as it was at New.
	Watch bool
	// Proxies are the trusted proxies; nil trusts none.
	Proxies *network.Proxies
	// NetworkV4Bits and NetworkV6Bits size ip.network, the prefix an
	// address is also counted under. Defaults 24 and 64.
	NetworkV4Bits, NetworkV6Bits int
	// Profiles tune the profile store (Horizon, MaxCached, FlushInterval;
	// see profile.Options for their defaults). Path, Logger and Registerer
	// are set by New.
	Profiles profile.Options
	// Logger receives the components' logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives every component's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Tune, if set, may change the engine options before the engine is
	// built (a simulated clock, travel limits, dedupe window).
	Tune func(*engine.Options)
}

// Stack is a built engine with what it was built from. Its methods are the
// engine's; Close releases everything.
type Stack struct {
	*engine.Engine
	// Feeds are the reference data feeds: Status for /v1/feeds, Reload.
	Feeds *refdata.Manager

	opts      Options
	ownsFeeds bool
	profiles  *profile.Store
	velocity  *velocity.Store
}

// VelocitySnapshot is the file in StateDir that holds the counters.
const VelocitySnapshot = "velocity.snap"

// New builds the stack. On error nothing stays open.
func New(ctx context.Context, o Options) (st *Stack, err error) {
	if o.Rules == nil {
		return nil, errors.New("setup: no rule set")
	}
	if o.DataDir == "" {
		o.DataDir = "data"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Stack{opts: o, Feeds: o.Feeds, ownsFeeds: o.Feeds == nil}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.ownsFeeds {
		if err := s.openFeeds(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.openState(); err != nil {
		return nil, err
	}
	eo := Sources(s.Feeds)
	eo.Rules, eo.Profiles, eo.Velocity, eo.Proxies = o.Rules, s.profiles, s.velocity, o.Proxies
	eo.NetworkV4Bits, eo.NetworkV6Bits = o.NetworkV4Bits, o.NetworkV6Bits
	eo.Logger, eo.Registerer = o.Logger, o.Registerer
	if o.Tune != nil {
		o.Tune(&eo)
	}
	if s.Engine, err = engine.New(eo); err != nil {
		return nil, err
	}
	if o.Watch && s.ownsFeeds {
		s.Feeds.Start(context.WithoutCancel(ctx))
	}
	return s, nil
}

// Sources returns engine options holding the signal sources of m and
// nothing else, for callers that make engines with state of their own:
// rule tests and replay make fresh, in-memory engines per test or per rule
// set over one set of feeds.
func Sources(m *refdata.Manager) engine.Options {
	return engine.Options{City: m.City(), ASN: m.ASN(), Disposable: m.Disposable(),
		Lists: m.Lists(), Devices: m.Devices()}
}

func (s *Stack) openFeeds(ctx context.Context) error {
	ro := refdata.Options{DataDir: s.opts.DataDir, Logger: s.opts.Logger}
	if s.opts.FeedsFile != "" {
		cfg, err := refdata.LoadConfig(s.opts.FeedsFile)
		if err != nil {
			return err
		}
		ro.Config = cfg
	}
	if s.opts.StateDir != "" {
		ro.CacheDir = filepath.Join(s.opts.StateDir, refdata.CacheDir)
	}
	m, err := refdata.Open(ctx, ro)
	if err != nil {
		return fmt.Errorf("reference data %s: %w", s.opts.DataDir, err)
	}
	s.Feeds = m
	if s.opts.Registerer != nil {
		if err := s.opts.Registerer.Register(m.Collector()); err != nil {
			return fmt.Errorf("feed metrics: %w", err)
		}
	}
	return nil
}

// openState opens the profile store and restores the counters.
func (s *Stack) openState() error {
	o := s.opts
	po := o.Profiles
	po.Logger, po.Registerer = o.Logger, o.Registerer
	if o.StateDir != "" {
		if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
			return fmt.Errorf("state folder: %w", err)
		}
		po.Path = filepath.Join(o.StateDir, "profiles.db")
	}
	p, err := profile.Open(po)
	if err != nil {
		return err
	}
	s.profiles = p
	s.velocity = velocity.NewStore(velocity.Options{Logger: o.Logger, Registerer: o.Registerer})
	if o.StateDir == "" {
		return nil
	}
	found, err := s.velocity.RestoreFile(filepath.Join(o.StateDir, VelocitySnapshot))
	switch {
	case errors.Is(err, velocity.ErrCorrupt):
		// A damaged snapshot costs the counters, not the service; Restore
		// leaves the store empty on error.
		o.Logger.Error("velocity snapshot not restored; counters start empty", "err", err)
	case err != nil:
		return err
	case found:
		o.Logger.Info("velocity counters restored", "file", VelocitySnapshot)
	}
	return nil
}

// Close stops the feeds, saves the counters (with a StateDir) and closes the
// stores. It is safe to call on a partly built Stack.
func (s *Stack) Close() error {
	var errs []error
	if s.Feeds != nil && s.ownsFeeds {
		errs = append(errs, s.Feeds.Close())
	}
	if s.velocity != nil && s.Engine != nil {
		errs = append(errs, s.SaveVelocity())
	}
	if s.Engine != nil {
		errs = append(errs, s.Engine.Close())
	}
	if s.profiles != nil {
		errs = append(errs, s.profiles.Close())
	}
	return errors.Join(errs...)
}

// SaveVelocity writes the counters to StateDir's snapshot (nothing without
// a StateDir), whole or not at all: a crash mid-write leaves the previous
// snapshot. verdictd calls it periodically besides Close.
func (s *Stack) SaveVelocity() error {
	if s.opts.StateDir == "" {
		return nil
	}
	return s.velocity.SaveFile(filepath.Join(s.opts.StateDir, VelocitySnapshot))
}
