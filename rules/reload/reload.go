// Package reload keeps a running service's rule set current: on a trigger
// (a file change, SIGHUP, the admin endpoint) it compiles the configured
// rule files beside the running set and, only if they compile, hands the new
// set to the engine, which swaps it in atomically. A broken set is rejected
// with its errors logged and reported, and the old set keeps running. The
// last good set is kept on disk, and used at start when the configured files
// are broken, so that a bad edit cannot keep the service from starting.
//
// Metrics (label set: "live", or "shadow" for a shadow rule set):
//
//	verdict_rules_last_reload_successful{set}              1 if the last load worked
//	verdict_rules_last_reload_success_timestamp_seconds{set}  when a load last worked
//	verdict_rules_reloads_total{set,result}                loads by result: applied,
//	                                                      unchanged, failed
//	verdict_rules_info{set,version}                        1 for the running version
package reload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdictrisk/verdict/rules"
)

// Options configure a Manager.
type Options struct {
	// Set names the rule set in metrics and logs: "live" (the default) or
	// "shadow".
	Set string
	// Load compiles the configured rule files: rules.LoadDir of the folder,
	// the same loader verdict check uses. Required.
	Load func() (*rules.Set, error)
	// Apply makes a newly loaded set the running one (engine.SetRules).
	// Required.
	Apply func(*rules.Set)
	// LastGood is the file that keeps the last good set; empty keeps none
	// (the embedded pack needs none).
	LastGood   string
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Manager loads, checks and applies rule sets. It is safe for concurrent
// use; loads are serialised.
type Manager struct {
	opts Options
	log  *slog.Logger
	met  *metrics

	mu      sync.Mutex // serialises loads; guards the fields below
	running *rules.Set
	prev    *rules.Set
	status  Status
}

// Status is what the last load did and what runs.
type Status struct {
	Set string `json:"set"`
	// Version is the running set's version.
	Version string `json:"version"`
	// Source says where the running set came from: SourceFiles, or
	// SourceLastGood when the configured files were broken at start.
	Source string `json:"source"`
	// LastGood is the file the running set was read from when Source is
	// SourceLastGood.
	LastGood string `json:"last_good,omitempty"`
	// LastAttempt and LastSuccess are when a load was last tried and last
	// worked; each is absent until then (LastSuccess stays absent while the
	// set read at start from the last good file runs).
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastError holds every problem of the last load, when it failed.
	LastError []string `json:"last_error,omitempty"`
	// Warnings are the lint warnings of the running set.
	Warnings []string `json:"warnings,omitempty"`
}

// Report is the outcome of one load.
type Report struct {
	Set     string `json:"set"`
	Trigger string `json:"trigger"`
	// Result is "applied", "unchanged" or "failed".
	Result   string   `json:"result"`
	Version  string   `json:"version"`
	Previous string   `json:"previous_version,omitempty"`
	Errors   []string `json:"errors,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Err      error    `json:"-"`
}

// Sources of the running set (Status.Source).
const (
	// SourceFiles: the configured rule files.
	SourceFiles = "files"
	// SourceLastGood: the last good set kept on disk, because the
	// configured files did not load at start.
	SourceLastGood = "last good set"
)

// TriggerFiles is the trigger of a reload after a file change.
const TriggerFiles = "file change"

// Results of a load.
const (
	Applied   = "applied"
	Unchanged = "unchanged"
	Failed    = "failed"
)

// New returns a Manager; call Start before anything else.
func New(o Options) *Manager {
	if o.Set == "" {
		o.Set = "live"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger.With("component", "rules", "set", o.Set)
	return &Manager{opts: o, log: log, met: newMetrics(o.Registerer, o.Set),
		status: Status{Set: o.Set}}
}

// Start loads the configured set and returns it, to build the engine with.
// When the configured files do not load, it logs why and returns the last
// good set from disk instead; only when there is none does it fail. Apply is
// not called.
func (m *Manager) Start() (*rules.Set, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now()
	m.status.LastAttempt = now
	m.prev = m.readLastGood()
	set, err := m.opts.Load()
	if err == nil {
		m.succeeded(set, now, SourceFiles)
		m.met.result(Applied)
		return set, nil
	}
	m.failed(err)
	if m.prev == nil {
		return nil, err
	}
	m.log.Error("the configured rules do not load; starting with the last good set",
		"version", m.prev.Version, "last_good", m.opts.LastGood, "err", err)
	m.running = m.prev
	m.status.Version, m.status.Source = m.prev.Version, SourceLastGood
	m.status.LastGood = m.opts.LastGood
	m.met.running(m.prev.Version)
	return m.prev, nil
}

// Previous returns the last good set that was on disk at Start, if any. The
// service builds its engine with it first, then applies the set Start
// returned, so that velocity counters restored from a snapshot taken under
// the previous set are kept or dropped by their definitions.
func (m *Manager) Previous() *rules.Set {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.prev
}

// Reload loads the configured files and applies them if they compile and
// differ from the running set. trigger says why ("file change", "SIGHUP",
// "admin API") for the log.
func (m *Manager) Reload(trigger string) Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now()
	m.status.LastAttempt = now
	rep := Report{Set: m.opts.Set, Trigger: trigger}
	if m.running != nil {
		rep.Previous = m.running.Version
	}
	set, err := m.opts.Load()
	if err != nil {
		rep.Result, rep.Version, rep.Err, rep.Errors = Failed, rep.Previous, err, lines(err)
		m.failed(err)
		m.met.result(Failed)
		m.log.Error("rules reload failed; the running set stays", "trigger", trigger,
			"version", rep.Previous, "err", err)
		return rep
	}
	rep.Version, rep.Warnings = set.Version, warnings(set)
	if m.running != nil && set.Version == m.running.Version && m.status.Source == SourceFiles {
		rep.Result = Unchanged
		recovered := m.status.LastError != nil
		m.status.LastError = nil
		m.status.LastSuccess = now
		m.met.success(now)
		m.met.result(Unchanged)
		// A file change that changes nothing (an editor's swap file) is
		// not worth a line; a reload someone asked for is, and so is the
		// end of a failure (the broken file was taken out again).
		lvl, msg := slog.LevelInfo, "rules unchanged"
		switch {
		case recovered:
			msg = "rules load again; the running set was kept and is unchanged"
		case trigger == TriggerFiles:
			lvl = slog.LevelDebug
		}
		m.log.Log(context.Background(), lvl, msg, "trigger", trigger, "version", set.Version)
		return rep
	}
	m.opts.Apply(set)
	m.succeeded(set, now, SourceFiles)
	m.met.result(Applied)
	rep.Result = Applied
	m.log.Info("rules reloaded", "trigger", trigger, "version", set.Version,
		"previous_version", rep.Previous, "rules", len(set.Rules), "counters", len(set.Counters),
		"lists", len(set.Lists), "warnings", len(set.Warnings))
	for _, w := range set.Warnings {
		m.log.Warn("rule lint", "warning", w.Error())
	}
	return rep
}

// Status returns what the last load did and what runs.
func (m *Manager) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Running returns the running set.
func (m *Manager) Running() *rules.Set {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running
}

// succeeded records set as running and keeps it on disk; mu is held.
func (m *Manager) succeeded(set *rules.Set, now time.Time, source string) {
	if m.running != nil && m.running != set {
		m.met.forget(m.running.Version)
	}
	m.running = set
	m.status.Version, m.status.Source, m.status.LastGood = set.Version, source, ""
	m.status.LastSuccess, m.status.LastError = now, nil
	m.status.Warnings = warnings(set)
	m.met.success(now)
	m.met.running(set.Version)
	if err := m.writeLastGood(set); err != nil {
		// The service runs on; only a start with broken files is affected.
		m.log.Error("the last good rule set could not be saved", "file", m.opts.LastGood, "err", err)
	}
}

func (m *Manager) failed(err error) {
	m.status.LastError = lines(err)
	m.met.failure()
}

func lines(err error) []string {
	var errs rules.Errors
	if errors.As(err, &errs) {
		out := make([]string, len(errs))
		for i, e := range errs {
			out[i] = e.Error()
		}
		return out
	}
	return []string{err.Error()}
}

func warnings(s *rules.Set) []string {
	out := make([]string, len(s.Warnings))
	for i, w := range s.Warnings {
		out[i] = w.Error()
	}
	return out
}

// savedSet is the file format of the last good set.
type savedSet struct {
	Version string        `json:"version"`
	SavedAt time.Time     `json:"saved_at"`
	Bundle  *rules.Bundle `json:"bundle"`
}

// writeLastGood writes set's files beside the last good file and renames
// it over, so that a crash leaves the previous file whole.
func (m *Manager) writeLastGood(set *rules.Set) error {
	if m.opts.LastGood == "" || set.Bundle() == nil {
		return nil
	}
	b, err := json.Marshal(savedSet{Version: set.Version, SavedAt: m.opts.Now().UTC(),
		Bundle: set.Bundle()})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(m.opts.LastGood), 0o700); err != nil {
		return err
	}
	tmp := m.opts.LastGood + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, m.opts.LastGood)
}

// readLastGood compiles the last good set, or returns nil (logging why when
// a file is there but unusable).
func (m *Manager) readLastGood() *rules.Set {
	if m.opts.LastGood == "" {
		return nil
	}
	b, err := os.ReadFile(m.opts.LastGood)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var saved savedSet
	if err == nil {
		err = json.Unmarshal(b, &saved)
	}
	var set *rules.Set
	if err == nil && saved.Bundle == nil {
		err = errors.New("no rule files in it")
	}
	if err == nil {
		set, err = rules.CompileBundle(saved.Bundle)
	}
	if err != nil {
		m.log.Warn("the last good rule set on disk is not usable", "file", m.opts.LastGood,
			"err", fmt.Errorf("%w", err))
		return nil
	}
	return set
}

type metrics struct {
	set         string
	ok          prometheus.Gauge
	lastSuccess prometheus.Gauge
	reloads     *prometheus.CounterVec
	info        *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, set string) *metrics {
	l := prometheus.Labels{"set": set}
	m := &metrics{set: set,
		ok: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "verdict_rules_last_reload_successful",
			Help:        "Whether the last load of the rule files worked (1) or was rejected (0).",
			ConstLabels: l,
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "verdict_rules_last_reload_success_timestamp_seconds",
			Help:        "When the rule files last loaded successfully, in Unix seconds.",
			ConstLabels: l,
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "verdict_rules_reloads_total",
			Help:        "Loads of the rule files, by result: applied, unchanged or failed.",
			ConstLabels: l,
		}, []string{"result"}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name:        "verdict_rules_info",
			Help:        "The version of the rule set running: 1 for the running version.",
			ConstLabels: l,
		}, []string{"version"}),
	}
	if reg != nil {
		reg.MustRegister(m.ok, m.lastSuccess, m.reloads, m.info)
	}
	return m
}

func (m *metrics) success(now time.Time) {
	m.ok.Set(1)
	m.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
}

func (m *metrics) failure()               { m.ok.Set(0) }
func (m *metrics) result(r string)        { m.reloads.WithLabelValues(r).Inc() }
func (m *metrics) running(version string) { m.info.WithLabelValues(version).Set(1) }
func (m *metrics) forget(version string)  { m.info.DeleteLabelValues(version) }
