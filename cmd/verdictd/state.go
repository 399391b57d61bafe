package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stateConfig holds the flags about what verdictd keeps of users.
type stateConfig struct {
	horizon        time.Duration
	snapshotEvery  time.Duration
	sweepEvery     time.Duration
	adminTokenFile string
}

func addStateFlags(fs *flag.FlagSet, c *stateConfig) {
	c.horizon = 180 * 24 * time.Hour
	fs.Func("profile-horizon", "how long an unused device, place or browser stays in a "+
		"profile, and a user not seen at all keeps a profile (default 180d)", func(v string) error {
		d, err := parseDays(v)
		if err == nil && d < time.Hour {
			err = fmt.Errorf("%s is less than an hour", v)
		}
		c.horizon = d
		return err
	})
	fs.DurationVar(&c.snapshotEvery, "snapshot-interval", time.Minute,
		"how often velocity counters are saved besides at shutdown: what a crash "+
			"(kill -9) can lose of them; 0 saves them only at shutdown")
	c.sweepEvery = 24 * time.Hour
	fs.StringVar(&c.adminTokenFile, "admin-token-file", "",
		"file holding the bearer token that /v1/users/..., /v1/feedback and /v1/admin/... require;\n"+
			"VERDICT_ADMIN_TOKEN also sets it (default: none: the user endpoints are open, so keep\n"+
			"the API on a trusted network, and the rule admin endpoints are off)")
}

// parseDays reads a duration that may also be given in days ("180d").
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("%q is not a number of days", v)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// adminToken reads the token file, if any, else VERDICT_ADMIN_TOKEN (the
// variable verdict profile reads too).
func (c stateConfig) adminToken() (string, error) {
	if c.adminTokenFile == "" {
		return strings.TrimSpace(os.Getenv("VERDICT_ADMIN_TOKEN")), nil
	}
	b, err := os.ReadFile(c.adminTokenFile)
	if err != nil {
		return "", fmt.Errorf("--admin-token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 {
		return "", fmt.Errorf("--admin-token-file: the token must have at least 16 characters")
	}
	return tok, nil
}

// keepState saves the velocity counters every snapshotEvery and erases
// profiles past the horizon every sweepEvery (and once at start), until ctx
// ends. The returned wait blocks until it has stopped.
func (s *service) keepState(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	cfg := s.cfg.state
	wg.Go(func() {
		s.sweep()
		snap := tickerOrNil(cfg.snapshotEvery)
		sweep := time.NewTicker(cfg.sweepEvery)
		defer sweep.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-snap:
				if err := s.stack.SaveVelocity(); err != nil {
					s.log.Error("velocity snapshot", "err", err)
				}
			case <-sweep.C:
				s.sweep()
			}
		}
	})
	return wg.Wait
}

func (s *service) sweep() {
	n, err := s.stack.SweepProfiles(time.Now())
	switch {
	case err != nil:
		s.log.Error("profile sweep", "err", err)
	case n > 0:
		s.log.Info("profiles past the horizon erased", "profiles", n)
	}
}

// tickerOrNil ticks every d, or never for d <= 0.
func tickerOrNil(d time.Duration) <-chan time.Time {
	if d <= 0 {
		return nil
	}
	return time.NewTicker(d).C
}
