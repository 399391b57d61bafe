package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/verdictrisk/verdict/engine/api"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/rules/reload"
)

// reloadConfig is the command line of rule reloading. The admin token is
// --admin-token-file (state.go), shared with the user endpoints.
type reloadConfig struct {
	shadowDir string
	watch     bool
}

func (c *reloadConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.shadowDir, "shadow-rules", "",
		"folder of a candidate rule set to run in shadow beside the live one (default: none)")
	fs.BoolVar(&c.watch, "watch-rules", true,
		"reload the rule files when they change (SIGHUP and the admin API always reload)")
}

// reloads are the rule set managers of a running verdictd.
type reloads struct {
	live, shadow *reload.Manager
	wg           sync.WaitGroup
}

// startRules loads the live rule set (and the shadow set, if any) for the
// engine to start with: the configured files, or the last good set kept in
// the state folder when they are broken.
func (s *service) startRules() (*rules.Set, *rules.Set, error) {
	s.reloads = &reloads{}
	live := reload.Options{Set: "live", Registerer: s.registry, Logger: s.log,
		Load: func() (*rules.Set, error) { return loadRules(s.cfg.rulesDir) }}
	if s.cfg.rulesDir != "" {
		live.LastGood = filepath.Join(s.cfg.stateDir, "rules.last-good.json")
	}
	live.Apply = func(set *rules.Set) { s.stack.Engine.SetRules(set) }
	s.reloads.live = reload.New(live)
	set, err := s.reloads.live.Start()
	if err != nil {
		return nil, nil, err
	}
	if s.cfg.reload.shadowDir == "" {
		return set, nil, nil
	}
	dir := s.cfg.reload.shadowDir
	s.reloads.shadow = reload.New(reload.Options{Set: "shadow", Registerer: s.registry,
		Logger: s.log, LastGood: filepath.Join(s.cfg.stateDir, "rules-shadow.last-good.json"),
		Load:  func() (*rules.Set, error) { return loadRules(dir) },
		Apply: func(set *rules.Set) { s.stack.Engine.SetShadowRules(set) }})
	shadow, err := s.reloads.shadow.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("--shadow-rules: %w", err)
	}
	return set, shadow, nil
}

// bootRules is the set the engine is built with: the last good set of the
// previous run when there is one, so that the counters restored from its
// snapshot are then kept or reset by attachRules according to their
// definitions in the set that runs now.
func (s *service) bootRules(set *rules.Set) *rules.Set {
	if prev := s.reloads.live.Previous(); prev != nil {
		return prev
	}
	return set
}

// attachRules switches the engine to the configured set and opens the admin
// endpoints, which need token (without one they answer 403: a rule reload
// is never open to whoever can reach the port).
func (s *service) attachRules(set, shadow *rules.Set, token string) {
	if s.stack.Engine.Rules() != set {
		s.stack.Engine.SetRules(set)
	}
	if shadow != nil {
		s.stack.Engine.SetShadowRules(shadow)
		s.log.Info("shadow rules loaded", "version", shadow.Version, "rules", len(shadow.Rules),
			"source", rulesSource(s.reloads.shadow, s.cfg.reload.shadowDir))
	}
	if token == "" {
		s.log.Info("admin API off; start with --admin-token-file or VERDICT_ADMIN_TOKEN to enable it")
	}
	s.api.EnableAdmin(api.Admin{Token: token, Reload: s.reloadAll, Status: s.rulesStatus})
}

// rulesSource says where the set m runs came from, for the start log: the
// configured folder dir (the embedded pack without one), or the last good
// copy in the state folder when dir did not load.
func rulesSource(m *reload.Manager, dir string) string {
	switch st := m.Status(); {
	case st.Source == reload.SourceLastGood:
		return st.LastGood
	case dir == "":
		return "embedded default pack"
	}
	return dir
}

// reloadAll reloads the live and the shadow set.
func (s *service) reloadAll(trigger string) (any, bool) {
	reps := []reload.Report{s.reloads.live.Reload(trigger)}
	if s.reloads.shadow != nil {
		reps = append(reps, s.reloads.shadow.Reload(trigger))
	}
	ok := true
	for _, r := range reps {
		ok = ok && r.Result != reload.Failed
	}
	return reps, ok
}

func (s *service) rulesStatus() any {
	st := []reload.Status{s.reloads.live.Status()}
	if s.reloads.shadow != nil {
		st = append(st, s.reloads.shadow.Status())
	}
	return map[string]any{"rule_sets": st}
}

// watchRules reloads on SIGHUP and, unless --watch-rules=false, when the
// rule files change, until ctx ends or the function it returns is called;
// that function waits for the reload goroutines to finish.
func (s *service) watchRules(parent context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(parent)
	stop = func() {
		cancel()
		s.reloads.wg.Wait()
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	s.reloads.wg.Go(func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				s.reloadAll("SIGHUP")
			}
		}
	})
	if !s.cfg.reload.watch {
		return stop
	}
	watch := func(m *reload.Manager, dir string) {
		if m == nil || dir == "" {
			return
		}
		s.reloads.wg.Go(func() {
			if err := m.Watch(ctx, dir, 0); err != nil {
				s.log.Error("rule files are not watched; reload with SIGHUP", "err", err)
			}
		})
	}
	watch(s.reloads.live, s.cfg.rulesDir)
	watch(s.reloads.shadow, s.cfg.reload.shadowDir)
	return stop
}
