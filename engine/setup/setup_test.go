package setup_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/feeds/refdata"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

func decide(t *testing.T, st *setup.Stack, body string) *engine.Decision {
	t.Helper()
	var ev engine.Event
	if err := engine.DecodeEvent([]byte(body), &ev); err != nil {
		t.Fatal(err)
	}
	d, err := st.Decide(t.Context(), &ev)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestStateDir: counters saved by Close come back in the next Stack, and
// profiles persist in the state folder.
func TestStateDir(t *testing.T) {
	data, state := t.TempDir(), t.TempDir()
	world, err := geotest.Fixture(data)
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	ip := world.MustPlace("Berlin").Addr4().String()
	failed := `{"type":"login","outcome":"failed","ip":"` + ip + `","user":{"id":"ann"},"time":"` +
		time.Now().Format(time.RFC3339) + `"}`
	st, err := setup.New(t.Context(), setup.Options{Rules: set, DataDir: data, StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	decide(t, st, failed)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"profiles.db", setup.VelocitySnapshot} {
		if _, err := os.Stat(filepath.Join(state, f)); err != nil {
			t.Errorf("state file %s: %v", f, err)
		}
	}
	st, err = setup.New(t.Context(), setup.Options{Rules: set, DataDir: data, StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := decide(t, st, failed).Velocity()["failed_logins_per_ip"]; got != 2 {
		t.Errorf("failed_logins_per_ip after a restart = %d, want 2", got)
	}
}

// TestSharedFeeds: stacks built on one set of feeds see its data and leave
// it open when they close.
func TestSharedFeeds(t *testing.T) {
	data := t.TempDir()
	world, err := geotest.Fixture(data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := refdata.Open(t.Context(), refdata.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	body := `{"type":"login","ip":"` + world.MustPlace("DigitalOcean").Addr4().String() + `"}`
	for range 2 {
		st, err := setup.New(t.Context(), setup.Options{Rules: set, Feeds: m,
			DataDir: "/nonexistent"})
		if err != nil {
			t.Fatal(err)
		}
		if d := decide(t, st, body); !d.Signals.IP.Hosting || d.Signals.IP.ASN != 14061 {
			t.Errorf("shared feeds not used: %+v", d.Signals.IP)
		}
		st.Close()
	}
	if st := m.Feed("datacenter").Status(); !st.Loaded {
		t.Error("a stack closed feeds it did not open")
	}
}

func TestNoRules(t *testing.T) {
	if _, err := setup.New(t.Context(), setup.Options{}); err == nil {
		t.Error("New without rules succeeded")
	}
}
