package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/api"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/rules"
)

// learnOne builds a stack on state (in memory when state is ""), teaches
// it one login of user u1 and returns it.
func learnOne(t *testing.T, state string) *setup.Stack {
	t.Helper()
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	st, err := setup.New(t.Context(), setup.Options{Rules: set, DataDir: t.TempDir(),
		StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	raw := `{"id":"e1","type":"login","outcome":"succeeded","ip":"81.2.69.142",` +
		`"user":{"id":"u1","email":"U.One@example.com"},"user_agent":"Mozilla/5.0 (Windows NT ` +
		`10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",` +
		`"time":"` +
		time.Now().Add(-time.Minute).UTC().Format(time.RFC3339) + `"}`
	var ev engine.Event
	if err := engine.DecodeEvent([]byte(raw), &ev); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Decide(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	return st
}

func decodeOut(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	return m
}

// TestProfileOffline works on the state folder of a stopped service.
func TestProfileOffline(t *testing.T) {
	state := t.TempDir()
	st := learnOne(t, state)
	// While the service holds the folder, the command refuses it.
	if code, _, stderr := runCLI("profile", "show", "u1", "--state", state); code != exitFail ||
		!strings.Contains(stderr, "in use by a running verdictd") {
		t.Errorf("show on a held folder: %d %s", code, stderr)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := runCLI("profile", "show", "--state", state, "u1")
	if code != exitOK {
		t.Fatalf("show: %d %s", code, stderr)
	}
	if p := decodeOut(t, out)["profile"].(map[string]any); p["key"] != "u1" || p["logins"] != 1.0 {
		t.Errorf("show: %s", out)
	}
	if !regexp.MustCompile(`"hour_of_week": \[0,0,[0-9,]+\]`).MatchString(out) {
		t.Errorf("the hours of the week are not on one line:\n%s", out)
	}
	code, out, stderr = runCLI("profile", "delete", "u1", "--state", state)
	if code != exitOK {
		t.Fatalf("delete: %d %s", code, stderr)
	}
	if m := decodeOut(t, out); m["profile"] != true || m["lessons"] != 1.0 || m["velocity_entries"] == 0.0 {
		t.Errorf("delete: %s", out)
	}
	if code, _, stderr := runCLI("profile", "show", "u1", "--state", state); code != exitFail ||
		!strings.Contains(stderr, "no profile") {
		t.Errorf("show after delete: %d %s", code, stderr)
	}
	// The velocity snapshot lost the user's entries too: a restarted
	// service has none left under the user's key to erase.
	set, _ := rules.Default()
	st, err := setup.New(t.Context(), setup.Options{Rules: set, DataDir: t.TempDir(),
		StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, _ := st.Erase("", "u1"); res.VelocityEntries != 0 || res.Profile {
		t.Errorf("after an offline delete, a restart still holds %+v", res)
	}
}

// TestProfileOnline talks to a running service's API.
func TestProfileOnline(t *testing.T) {
	st := learnOne(t, "")
	defer st.Close()
	srv := httptest.NewServer(api.New(st.Engine, api.Options{}).Handler())
	defer srv.Close()
	code, out, stderr := runCLI("profile", "show", "u1", "--url", srv.URL)
	if code != exitOK || decodeOut(t, out)["user"] != "u1" {
		t.Fatalf("show: %d %s %s", code, out, stderr)
	}
	code, out, _ = runCLI("profile", "delete", "u1", "--url", srv.URL)
	if m := decodeOut(t, out); code != exitOK || m["cached_decisions"] != 1.0 {
		t.Errorf("delete: %d %s", code, out)
	}
	if code, _, stderr := runCLI("profile", "show", "u1", "--url", srv.URL); code != exitFail ||
		!strings.Contains(stderr, "unknown_user") {
		t.Errorf("show after delete: %d %s", code, stderr)
	}
	if code, _, _ := runCLI("profile", "show"); code != exitUsage {
		t.Errorf("show without a user: %d", code)
	}
	if code, _, _ := runCLI("profile", "frobnicate", "u1"); code != exitUsage {
		t.Errorf("unknown verb: %d", code)
	}
}
