package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// call sends a request to the daemon and decodes the JSON answer.
func (d *daemon) call(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// field reads a dotted path ("signals.device.new") of a decoded answer.
func field(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[k]
	}
	return v
}

func (d *daemon) kill(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	d.cmd.Wait()
}

// TestKill9LosesAtMostASecond: profiles (and the RBA tables beside them) are
// on disk a second after a change, counters at the next periodic snapshot,
// so a kill -9 after that loses none of them.
func TestKill9LosesAtMostASecond(t *testing.T) {
	data, state := t.TempDir(), t.TempDir()
	world, err := geotest.Fixture(data)
	if err != nil {
		t.Fatal(err)
	}
	home, away := world.MustPlace("Tokyo").Addr4().String(), world.MustPlace("Sydney").Addr4().String()
	now := time.Now().Add(-time.Hour)
	d := startDaemon(t, data, state, "--snapshot-interval", "300ms")
	for i := range 3 {
		d.decide(t, login(fmt.Sprint("k", i), "kim", home, "kim-phone", "succeeded",
			now.Add(time.Duration(i)*time.Minute)))
	}
	for i := range 4 {
		d.decide(t, login(fmt.Sprint("kf", i), "kim", away, "", "failed", now.Add(5*time.Minute)))
	}
	_, before := d.call(t, "POST", "/v1/decide", "", login("k-probe", "kim", home, "kim-phone",
		"attempted", now.Add(6*time.Minute)))
	time.Sleep(1500 * time.Millisecond)
	d.kill(t)

	d = startDaemon(t, data, state, "--snapshot-interval", "300ms")
	_, after := d.call(t, "POST", "/v1/decide", "", login("k-probe2", "kim", home, "kim-phone",
		"attempted", now.Add(6*time.Minute)))
	for _, p := range []string{"signals.device.new", "signals.user.logins", "signals.rba.score"} {
		if field(before, p) != field(after, p) {
			t.Errorf("%s: %v before the kill, %v after", p, field(before, p), field(after, p))
		}
	}
	if field(after, "signals.user.logins") != 3.0 || field(after, "signals.device.new") != false {
		t.Errorf("profile lost: %v", field(after, "signals.user"))
	}
	if got := field(after, "signals.velocity.failed_logins_per_user"); got != 4.0 {
		t.Errorf("failed_logins_per_user after the kill = %v, want 4", got)
	}

	// A clean stop saves what came since the last snapshot.
	d.decide(t, login("kf9", "kim", away, "", "failed", now.Add(7*time.Minute)))
	d.stop(t)
	d = startDaemon(t, data, state, "--snapshot-interval", "0")
	_, clean := d.call(t, "POST", "/v1/decide", "", login("k-probe3", "kim", home, "kim-phone",
		"attempted", now.Add(8*time.Minute)))
	if got := field(clean, "signals.velocity.failed_logins_per_user"); got != 5.0 {
		t.Errorf("failed_logins_per_user after a clean restart = %v, want 5", got)
	}
}

// TestTakeoverStoryAcrossRestarts is the story, with a restart
// between every step: a returning user at home is allowed; an attacker with
// the password from a new country on a new device is not; the user passes a
// challenge on a new laptop, which is then known.
func TestTakeoverStoryAcrossRestarts(t *testing.T) {
	data, state := t.TempDir(), t.TempDir()
	world, err := geotest.Fixture(data)
	if err != nil {
		t.Fatal(err)
	}
	home := world.MustPlace("Berlin").Addr4().String()
	start := time.Now().Add(-10 * 24 * time.Hour)
	steps := []struct {
		event map[string]any
		check func(map[string]any) string
	}{
		{login("s1", "lea", home, "lea-phone", "succeeded", start), nil},
		{login("s2", "lea", home, "lea-phone", "succeeded", start.Add(24*time.Hour)), nil},
		{login("s3", "lea", home, "lea-phone", "succeeded", start.Add(48*time.Hour)),
			wantAction("allow")},
		{login("s4", "lea", world.MustPlace("São Paulo").Addr4().String(), "intruder", "succeeded",
			start.Add(72*time.Hour)), wantAction("step_up", "deny")},
		{login("s5", "lea", home, "lea-laptop", "succeeded", start.Add(96*time.Hour)),
			wantSignal("signals.device.new", true)},
		{map[string]any{"id": "s6", "type": "challenge", "outcome": "succeeded", "ip": home,
			"time": start.Add(96*time.Hour + time.Minute).Format(time.RFC3339),
			"user": map[string]any{"id": "lea"}, "user_agent": ua,
			"device": map[string]any{"id": "lea-laptop"}}, nil},
		{login("s7", "lea", home, "lea-laptop", "succeeded", start.Add(120*time.Hour)),
			func(m map[string]any) string {
				if s := wantSignal("signals.device.new", false)(m); s != "" {
					return s
				}
				return wantAction("allow")(m)
			}},
	}
	for _, st := range steps {
		d := startDaemon(t, data, state)
		_, got := d.call(t, "POST", "/v1/decide", "", st.event)
		d.stop(t)
		if st.check != nil {
			if msg := st.check(got); msg != "" {
				t.Errorf("%v: %s (reasons %v)", st.event["id"], msg, got["reasons"])
			}
		}
	}
}

func wantAction(actions ...string) func(map[string]any) string {
	return func(m map[string]any) string {
		for _, a := range actions {
			if m["action"] == a {
				return ""
			}
		}
		return fmt.Sprintf("action %v, want %v", m["action"], actions)
	}
}

func wantSignal(path string, want any) func(map[string]any) string {
	return func(m map[string]any) string {
		if got := field(m, path); got != want {
			return fmt.Sprintf("%s = %v, want %v", path, got, want)
		}
		return ""
	}
}

func TestUserEndpoints(t *testing.T) {
	data, state := t.TempDir(), t.TempDir()
	world, err := geotest.Fixture(data)
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	const token = "s3cret-admin-token-for-tests"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, data, state, "--admin-token-file", tokenFile)
	home := world.MustPlace("London").Addr4().String()
	now := time.Now().Add(-time.Hour)
	for i := range 2 {
		ev := login(fmt.Sprint("m", i), "max", home, "max-pc", "succeeded", now.Add(time.Duration(i)*time.Minute))
		ev["tenant"] = "shop"
		d.decide(t, ev)
	}

	if code, out := d.call(t, "GET", "/v1/users/max/profile?tenant=shop", "", nil); code != 401 {
		t.Errorf("profile without the token: %d %v", code, out)
	}
	code, out := d.call(t, "GET", "/v1/users/max/profile?tenant=shop", token, nil)
	if code != 200 || field(out, "profile.logins") != 2.0 || field(out, "profile.key") != "max" {
		t.Fatalf("profile: %d %v", code, out)
	}
	if code, _ := d.call(t, "GET", "/v1/users/max/profile", token, nil); code != 404 {
		t.Errorf("profile in another tenant: %d", code)
	}

	for _, tc := range []struct {
		body any
		code int
		err  string
	}{
		{map[string]any{"event_id": "m1", "label": "fraud", "tenant": "shop"}, 200, ""},
		{map[string]any{"event_id": "m1", "label": "spam", "tenant": "shop"}, 400, "invalid_value"},
		{map[string]any{"event_id": "zz", "label": "fraud", "tenant": "shop"}, 404, "unknown_event"},
		{map[string]any{"event": "m1", "label": "fraud"}, 400, "unknown_field"},
	} {
		code, out := d.call(t, "POST", "/v1/feedback", token, tc.body)
		if code != tc.code || (tc.err != "" && field(out, "error.code") != tc.err) {
			t.Errorf("feedback %v: %d %v, want %d %s", tc.body, code, out, tc.code, tc.err)
		}
		if code == 200 && out["result"] != "unlearned" {
			t.Errorf("fraud feedback: %v", out)
		}
	}

	code, out = d.call(t, "DELETE", "/v1/users/max?tenant=shop", token, nil)
	if code != 200 || out["profile"] != true || out["lessons"] != 2.0 || out["cached_decisions"] != 2.0 {
		t.Fatalf("erase: %d %v", code, out)
	}
	if code, _ := d.call(t, "GET", "/v1/users/max/profile?tenant=shop", token, nil); code != 404 {
		t.Errorf("profile after erasure: %d", code)
	}
	// Erased on disk too: a restart does not bring it back.
	d.stop(t)
	d = startDaemon(t, data, state, "--admin-token-file", tokenFile)
	if code, _ := d.call(t, "GET", "/v1/users/max/profile?tenant=shop", token, nil); code != 404 {
		t.Errorf("profile after erasure and restart: %d", code)
	}
}
