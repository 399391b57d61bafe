package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/profile"
)

// TestKeepState runs verdictd's state loop on fake time: counters are saved
// every snapshot interval, and a user not seen for the horizon is erased by
// the daily sweep while a user seen since keeps their profile.
func TestKeepState(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		const horizon = 48 * time.Hour
		set, err := rules.Default()
		if err != nil {
			t.Fatal(err)
		}
		// Profiles are flushed hourly here: a second's ticker over three
		// days of fake time would only cost real time.
		st, err := setup.New(t.Context(), setup.Options{Rules: set, DataDir: dir, StateDir: dir,
			Profiles: profile.Options{Horizon: horizon, FlushInterval: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		eng := st.Engine
		s := &service{log: slog.New(slog.DiscardHandler), stack: st,
			cfg: config{stateDir: dir, state: stateConfig{horizon: horizon,
				snapshotEvery: time.Hour, sweepEvery: 24 * time.Hour}}}
		decide := func(user string) {
			t.Helper()
			raw, _ := json.Marshal(map[string]any{"type": "login", "outcome": "succeeded",
				"ip": "81.2.69.142", "user": map[string]any{"id": user},
				"time": time.Now().Format(time.RFC3339)})
			var ev engine.Event
			if err := engine.DecodeEvent(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if _, err := eng.Decide(context.Background(), &ev); err != nil {
				t.Fatal(err)
			}
		}
		decide("gone")
		decide("stays")
		ctx, cancel := context.WithCancel(context.Background())
		wait := s.keepState(ctx)
		defer func() { cancel(); wait(); st.Close() }()

		snap := filepath.Join(dir, setup.VelocitySnapshot)
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if _, err := os.Stat(snap); err == nil {
			t.Fatal("counters saved before the interval")
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if _, err := os.Stat(snap); err != nil {
			t.Fatalf("counters not saved after the interval: %v", err)
		}

		time.Sleep(46 * time.Hour)
		decide("stays")
		time.Sleep(26 * time.Hour) // the sweep at 72h: "gone" was last seen 72h ago
		synctest.Wait()
		if p, _ := eng.Profile("", "gone"); p != nil {
			t.Error("a user unseen for longer than the horizon kept a profile")
		}
		if p, _ := eng.Profile("", "stays"); p == nil {
			t.Error("a user seen within the horizon lost their profile")
		}
	})
}
