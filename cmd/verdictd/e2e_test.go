package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// daemon is a verdictd process started by a test.
type daemon struct {
	url   string
	cmd   *exec.Cmd
	state string
	log   *bytes.Buffer
	// kafka is the embedded broker's address, with --kafka=embedded.
	kafka string
}

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "verdictd-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "verdictd")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build verdictd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startDaemon runs the real binary on a free port over fixture data.
func startDaemon(t *testing.T, dataDir, stateDir string, extra ...string) *daemon {
	t.Helper()
	args := append([]string{"--listen", "127.0.0.1:0", "--data", dataDir, "--state", stateDir}, extra...)
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, state: stateDir, log: new(bytes.Buffer)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			d.log.WriteString(line + "\n")
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
			if rec.Msg == "embedded Kafka broker started" {
				d.kafka = rec.Addr // before "listening": read after addr is received
			}
		}
	}()
	select {
	case a := <-addr:
		d.url = "http://" + a
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("verdictd did not start:\n%s", d.log)
	}
	t.Cleanup(func() { d.stop(t) })
	return d
}

func (d *daemon) stop(t *testing.T) {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("verdictd exited with %v:\n%s", err, d.log)
		}
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		t.Errorf("verdictd did not stop on SIGTERM:\n%s", d.log)
	}
}

type decision struct {
	Action   string
	Score    int
	Repeated bool
	Reasons  []struct{ Code string }
	Missing  []string
	Signals  struct {
		IP struct {
			Country string
			ASN     int
		}
		Device struct{ New bool }
	}
}

func (d *daemon) decide(t *testing.T, event map[string]any) decision {
	t.Helper()
	body, _ := json.Marshal(event)
	resp, err := http.Post(d.url+"/v1/decide", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("decide %s: %d %s", body, resp.StatusCode, out)
	}
	var dec decision
	if err := json.Unmarshal(out, &dec); err != nil {
		t.Fatal(err)
	}
	return dec
}

const ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 " +
	"(KHTML, like Gecko) Version/18.1 Safari/605.1.15"

// labelled is one event of the test stream with what should happen to it.
type labelled struct {
	event map[string]any
	want  string // "allow", "challenge" (step_up or deny) or "" (not checked)
}

func login(id, user, ip, device, outcome string, at time.Time) map[string]any {
	return map[string]any{"id": id, "type": "login", "outcome": outcome, "ip": ip,
		"time": at.Format(time.RFC3339), "user": map[string]any{"id": user},
		"user_agent": ua, "device": map[string]any{"id": device}}
}

// stream is a small labelled story: regular users at home, a takeover from
// another continent, credential stuffing from one address and a signup
// burst from a hosting network.
func stream(w geotest.FixtureInfo, start time.Time) []labelled {
	var out []labelled
	homes := []string{"Berlin", "London", "New York", "Tokyo"}
	for day := range 3 {
		for i, city := range homes {
			at := start.Add(time.Duration(day)*24*time.Hour + time.Duration(i)*time.Minute)
			user := fmt.Sprint("user", i)
			want := "allow"
			out = append(out, labelled{login(fmt.Sprintf("d%d-%d", day, i), user,
				w.MustPlace(city).Addr4().String(), "dev-"+user, "succeeded", at), want})
		}
	}
	t := start.Add(3 * 24 * time.Hour)
	out = append(out, labelled{login("ato-1", "user0", w.MustPlace("São Paulo").Addr4().String(),
		"attacker-laptop", "succeeded", t), "challenge"})
	stuffer := w.MustPlace("Sputnik").Addr4().String()
	for i := range 15 {
		e := login(fmt.Sprint("cs-", i), fmt.Sprint("victim", i), stuffer, "", "failed",
			t.Add(time.Duration(i)*5*time.Second))
		out = append(out, labelled{e, ""})
	}
	out = append(out, labelled{login("cs-probe", "victim99", stuffer, "", "attempted",
		t.Add(2*time.Minute)), "challenge"})
	hoster := w.MustPlace("DigitalOcean").Addr4().String()
	for i := range 8 {
		e := map[string]any{"id": fmt.Sprint("su-", i), "type": "signup", "ip": hoster,
			"time": t.Add(time.Duration(i) * 30 * time.Second).Format(time.RFC3339),
			"user": map[string]any{"email": fmt.Sprintf("bot%d@example.net", i)}, "user_agent": ua}
		want := ""
		if i >= 5 {
			want = "challenge"
		}
		out = append(out, labelled{e, want})
	}
	// The real user comes back home the next day, on their own device.
	out = append(out, labelled{login("home-again", "user1", w.MustPlace("London").Addr4().String(),
		"dev-user1", "succeeded", t.Add(24*time.Hour)), "allow"})
	return out
}

func TestEndToEnd(t *testing.T) {
	data := t.TempDir()
	world, err := geotest.Fixture(data)
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, data, t.TempDir())
	start := time.Now().Add(-5 * 24 * time.Hour).Truncate(time.Hour)
	for _, l := range stream(world, start) {
		got := d.decide(t, l.event)
		switch {
		case l.want == "allow" && got.Action != "allow":
			t.Errorf("%v: %s %+v, want allow", l.event["id"], got.Action, got.Reasons)
		case l.want == "challenge" && got.Action == "allow":
			t.Errorf("%v: allowed, want step_up or deny (score %d)", l.event["id"], got.Score)
		}
	}
	last := d.decide(t, login("public", "user2", world.MustPlace("New York").Addr4().String(),
		"dev-user2", "succeeded", time.Now()))
	if last.Signals.IP.Country != "US" || last.Signals.IP.ASN == 0 {
		t.Errorf("public address not enriched: %+v", last.Signals.IP)
	}
	if len(last.Missing) > 1 {
		t.Errorf("missing = %v", last.Missing)
	}
}

func TestEndToEndBadInput(t *testing.T) {
	data := t.TempDir()
	if _, err := geotest.Fixture(data); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, data, t.TempDir())
	tests := []struct {
		method, path, ctype, body string
		status                    int
		code                      string
	}{
		{"POST", "/v1/decide", "application/json", `{"type":"login","ip":"1.2.3.4","user_agnet":"x"}`, 400, "unknown_field"},
		{"POST", "/v1/decide", "application/json", `{"type":"login","ip":"1.2.3"}`, 400, "invalid_value"},
		{"POST", "/v1/decide", "application/json", `{"type":"login"}`, 400, "missing_field"},
		{"POST", "/v1/decide", "application/json", `{"type":"login","ip":[1]}`, 400, "invalid_type"},
		{"POST", "/v1/decide", "application/json", `{"type":"login","ip":"1.2.3.4","time":"now"}`, 400, "invalid_value"},
		{"POST", "/v1/decide", "application/json", `{`, 400, "invalid_json"},
		{"POST", "/v1/decide", "text/plain", `{}`, 415, "unsupported_media_type"},
		{"POST", "/v1/decide", "application/json", `{"properties":{"p":"` + strings.Repeat("x", 70000) + `"}}`, 413, "body_too_large"},
		{"GET", "/v1/decide", "", "", 405, "method_not_allowed"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequestWithContext(context.Background(), tc.method, d.url+tc.path,
			strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error struct{ Code string } }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.status || e.Error.Code != tc.code {
			t.Errorf("%s %s %.40q: got %d %s, want %d %s", tc.method, tc.path, tc.body,
				resp.StatusCode, e.Error.Code, tc.status, tc.code)
		}
	}
}

// TestProfilesSurviveRestart: stopping and starting verdictd keeps every
// user's known devices and countries.
func TestProfilesSurviveRestart(t *testing.T) {
	data, state := t.TempDir(), t.TempDir()
	world, err := geotest.Fixture(data)
	if err != nil {
		t.Fatal(err)
	}
	home := world.MustPlace("Tokyo").Addr4().String()
	d := startDaemon(t, data, state)
	d.decide(t, login("r1", "yuki", home, "yuki-phone", "succeeded", time.Now().Add(-time.Hour)))
	d.stop(t)

	d = startDaemon(t, data, state)
	got := d.decide(t, login("r2", "yuki", home, "yuki-phone", "succeeded", time.Now()))
	if got.Signals.Device.New {
		t.Error("device forgotten across a restart")
	}
	other := d.decide(t, login("r3", "yuki", home, "other-phone", "succeeded", time.Now()))
	if !other.Signals.Device.New {
		t.Error("an unseen device is not new after a restart")
	}
}
