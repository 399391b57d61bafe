package reload

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/verdictrisk/verdict/rules"
)

const good = "rules:\n  - {name: tor, when: ip.tor, score: 60}\n"

type fixture struct {
	dir, state string
	reg        *prometheus.Registry
	mu         sync.Mutex
	applied    []string
	m          *Manager
}

func newFixture(t *testing.T, files ...string) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), state: filepath.Join(t.TempDir(), "rules.last-good.json")}
	for i := 0; i+1 < len(files); i += 2 {
		f.write(t, files[i], files[i+1])
	}
	f.m = f.manager()
	return f
}

// manager returns a new Manager over the fixture's files, with its own
// registry, as a restarted service would have.
func (f *fixture) manager() *Manager {
	f.reg = prometheus.NewRegistry()
	return New(Options{Load: func() (*rules.Set, error) { return rules.LoadDir(f.dir) },
		Apply: func(s *rules.Set) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.applied = append(f.applied, s.Version)
		}, LastGood: f.state, Registerer: f.reg})
}

func (f *fixture) write(t *testing.T, name, data string) {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) appliedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.applied)
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestReloadKeepsTheOldSetOnError(t *testing.T) {
	f := newFixture(t, "r.yaml", good)
	set, err := f.m.Start()
	if err != nil {
		t.Fatal(err)
	}
	if gauge(t, f.reg, "verdict_rules_last_reload_successful") != 1 {
		t.Error("start not reported successful")
	}
	if rep := f.m.Reload("test"); rep.Result != Unchanged || f.appliedCount() != 0 {
		t.Errorf("reload of the same files: %+v", rep)
	}

	f.write(t, "r.yaml", "rules:\n  - {name: tor, when: ip.torr, score: 60}\n")
	rep := f.m.Reload("test")
	if rep.Result != Failed || rep.Version != set.Version || f.appliedCount() != 0 ||
		!strings.Contains(rep.Errors[0], `r.yaml:2:26: rule "tor": unknown signal ip.torr`) {
		t.Fatalf("broken reload: %+v", rep)
	}
	st := f.m.Status()
	if st.Version != set.Version || len(st.LastError) != 1 || f.m.Running() != set {
		t.Errorf("status after a failure: %+v", st)
	}
	if gauge(t, f.reg, "verdict_rules_last_reload_successful") != 0 {
		t.Error("failure not reported")
	}
	before := gauge(t, f.reg, "verdict_rules_last_reload_success_timestamp_seconds")

	f.write(t, "r.yaml", "rules:\n  - {name: tor, when: ip.tor, score: 70}\n")
	rep = f.m.Reload("test")
	if rep.Result != Applied || rep.Previous != set.Version || f.appliedCount() != 1 ||
		f.m.Running().Version != rep.Version {
		t.Fatalf("fixed reload: %+v", rep)
	}
	if gauge(t, f.reg, "verdict_rules_last_reload_successful") != 1 ||
		gauge(t, f.reg, "verdict_rules_last_reload_success_timestamp_seconds") < before {
		t.Error("success not reported")
	}
	if n := testutil.CollectAndCount(f.reg, "verdict_rules_info"); n != 1 {
		t.Errorf("verdict_rules_info has %d series, want only the running version", n)
	}
	if v := testutil.ToFloat64(f.m.met.reloads.WithLabelValues(Failed)); v != 1 {
		t.Errorf("failed reloads = %v", v)
	}
}

// TestStartFromTheLastGoodSet: broken files at start boot the last good set;
// without one, start fails with every error.
func TestStartFromTheLastGoodSet(t *testing.T) {
	f := newFixture(t, "r.yaml", good, "lists/vip.txt", "alice\n",
		"l.yaml", "lists:\n  - {name: vip, kind: string, file: lists/vip.txt}\n"+
			"rules:\n  - {name: vip, when: 'in_list(\"vip\", user.key)', action: allow}\n")
	set, err := f.m.Start()
	if err != nil {
		t.Fatal(err)
	}
	f.write(t, "r.yaml", "rules: [")
	os.Remove(filepath.Join(f.dir, "lists/vip.txt"))
	m2 := f.manager()
	got, err := m2.Start()
	if err != nil {
		t.Fatalf("start with broken files and a last good set: %v", err)
	}
	if got.Version != set.Version || !got.Lists["vip"].Contains("alice") {
		t.Errorf("booted %s, want the last good %s", got.Version, set.Version)
	}
	st := m2.Status()
	if st.Source != SourceLastGood || st.LastGood != f.state || len(st.LastError) == 0 ||
		!st.LastSuccess.IsZero() {
		t.Errorf("status = %+v", st)
	}
	// No load has worked in this run: the status shows no success time
	// rather than the zero time.
	if b, _ := json.Marshal(st); strings.Contains(string(b), "last_success") ||
		!strings.Contains(string(b), "last_attempt") {
		t.Errorf("status as JSON: %s", b)
	}
	if m2.Previous() == nil || m2.Previous().Version != set.Version {
		t.Error("Previous is not the last good set")
	}

	// Fixing the files applies them even if they equal the last good set.
	f.write(t, "r.yaml", good)
	f.write(t, "lists/vip.txt", "alice\n")
	if rep := m2.Reload("test"); rep.Result != Applied || rep.Version != set.Version {
		t.Errorf("reload after the fix: %+v", rep)
	}

	os.Remove(f.state)
	f.write(t, "r.yaml", "rules: [")
	if _, err := f.manager().Start(); err == nil || !strings.Contains(err.Error(), "r.yaml:1") {
		t.Errorf("start with broken files and no last good set: %v", err)
	}
	os.WriteFile(f.state, []byte("{not json"), 0o600)
	if _, err := f.manager().Start(); err == nil {
		t.Error("a damaged last good file was used")
	}
}

// TestWatchReloadsOnChange: a changed rule file or list file is applied by
// itself; a broken one is not.
func TestWatchReloadsOnChange(t *testing.T) {
	f := newFixture(t, "r.yaml", good, "lists/nets.txt", "10.0.0.0/8\n",
		"l.yaml", "lists:\n  - {name: nets, kind: cidr, file: lists/nets.txt}\n"+
			"rules:\n  - {name: office, when: 'in_list(\"nets\", ip.address)', action: allow}\n")
	if _, err := f.m.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.m.Watch(ctx, f.dir, 50*time.Millisecond) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(100 * time.Millisecond) // let the watcher start
	f.write(t, "r.yaml", "rules:\n  - {name: tor, when: ip.tor, score: 65}\n")
	waitFor("a rule file change", func() bool { return f.appliedCount() == 1 })
	f.write(t, "lists/nets.txt", "10.0.0.0/8\n192.168.0.0/16\n")
	waitFor("a list file change", func() bool { return f.appliedCount() == 2 })
	if !f.m.Running().Lists["nets"].Contains("192.168.1.1") {
		t.Error("the new list is not running")
	}
	f.write(t, "new.yaml", "rules:\n  - {name: broken, when: nope, score: 1}\n")
	waitFor("the broken file to be seen", func() bool { return len(f.m.Status().LastError) > 0 })
	if f.appliedCount() != 2 {
		t.Error("a broken set was applied")
	}
	os.Remove(filepath.Join(f.dir, "new.yaml"))
	waitFor("the broken file's removal", func() bool { return len(f.m.Status().LastError) == 0 })
}

// TestRecoveryIsLogged: taking a broken file out again brings back the set
// that was running; the log says so, rather than leaving the failure as
// its last word.
func TestRecoveryIsLogged(t *testing.T) {
	f := newFixture(t, "r.yaml", good)
	var log strings.Builder
	f.m.opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
	f.m.log = f.m.opts.Logger
	if _, err := f.m.Start(); err != nil {
		t.Fatal(err)
	}
	f.write(t, "broken.yaml", "rules: [")
	if rep := f.m.Reload(TriggerFiles); rep.Result != Failed {
		t.Fatalf("broken file: %+v", rep)
	}
	if err := os.Remove(filepath.Join(f.dir, "broken.yaml")); err != nil {
		t.Fatal(err)
	}
	if rep := f.m.Reload(TriggerFiles); rep.Result != Unchanged {
		t.Fatalf("after removing it: %+v", rep)
	}
	if !strings.Contains(log.String(), "rules load again") {
		t.Errorf("the recovery is not logged:\n%s", log.String())
	}
	if gauge(t, f.reg, "verdict_rules_last_reload_successful") != 1 {
		t.Error("recovery not reported in the metric")
	}
}
