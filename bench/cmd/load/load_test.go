package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/verdictrisk/verdict/bench/internal/benchtest"
	"github.com/verdictrisk/verdict/engine"
)

// TestOpenLoopCountsQueueing runs the open loop against a server that
// answers in 10ms on one connection. At 50/s it keeps up and latency is the
// service time; at 200/s it can serve only half, and latency must grow by
// the time each request waited, as measured from its due time.
func TestOpenLoopCountsQueueing(t *testing.T) {
	slow := func(ctx context.Context, _, _ int) error {
		time.Sleep(10 * time.Millisecond)
		return nil
	}
	tests := []struct {
		name     string
		rate     float64
		p50, max time.Duration
	}{
		// Request i is due at i*20ms and answered 10ms later.
		{"under capacity", 50, 10 * time.Millisecond, 10 * time.Millisecond},
		// Request i is due at i*5ms and answered at (i+1)*10ms: it waited
		// 10ms+i*5ms. Nearest-rank p50 of 200 requests is i=99.
		{"over capacity", 200, 505 * time.Millisecond, 1005 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := openLoop(context.Background(), tc.rate, time.Second, 1, 5*time.Second, slow)
				want := int(tc.rate)
				if s.ok != want || s.unsent != 0 {
					t.Fatalf("ok %d, unsent %d; want %d sent", s.ok, s.unsent, want)
				}
				if p50, mx := quantile(s.lat, 0.5), quantile(s.lat, 1); p50 != tc.p50 || mx != tc.max {
					t.Errorf("p50 %s, max %s; want %s and %s", p50, mx, tc.p50, tc.max)
				}
			})
		})
	}
}

// TestOpenLoopGrace checks that requests still queued when the grace
// period ends are counted as unsent, not silently dropped.
func TestOpenLoopGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := func(ctx context.Context, _, _ int) error {
			select {
			case <-time.After(100 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		s := openLoop(context.Background(), 100, time.Second, 2, 0, slow)
		total := s.ok + s.httpErrors + s.transportErrors + s.unsent
		if total != 100 || s.unsent == 0 {
			t.Errorf("ok %d, errors %d, unsent %d; want 100 in all with some unsent", s.ok,
				s.transportErrors, s.unsent)
		}
	})
}

// TestClosedLoop checks that the closed loop keeps every worker busy for
// the duration, measures the round trip and tells answers from successes.
func TestClosedLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		send := func(ctx context.Context, _, i int) error {
			time.Sleep(2 * time.Millisecond)
			if i%10 == 9 {
				return &httpError{status: 400, body: "bad"}
			}
			return nil
		}
		s := closedLoop(context.Background(), 100*time.Millisecond, 2, send)
		// Two workers, 2ms a request, 100ms: about 100 requests.
		if n := s.ok + s.httpErrors; n < 96 || n > 104 || s.httpErrors == 0 || s.transportErrors != 0 {
			t.Errorf("ok %d, http errors %d, transport errors %d; want about 100, some http errors",
				s.ok, s.httpErrors, s.transportErrors)
		}
		if lo, hi := quantile(s.lat, 0), quantile(s.lat, 1); lo != 2*time.Millisecond ||
			hi != 2*time.Millisecond {
			t.Errorf("latency from %s to %s, want 2ms", lo, hi)
		}
		if len(s.firstErrors) == 0 || !strings.Contains(s.firstErrors[0], "HTTP 400") {
			t.Errorf("first errors %q", s.firstErrors)
		}
	})
}

func writeEvents(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadAgainstServer runs both modes against the real engine and API
// over a loopback socket, with events from a file and from the generator.
func TestLoadAgainstServer(t *testing.T) {
	url, _ := benchtest.Server(t)
	in := writeEvents(t,
		`{"label":{"kind":"legit","decisive":true},"event":{"id":"x","type":"login",`+
			`"outcome":"succeeded","time":"2026-10-01T10:00:00Z","ip":"93.192.0.7",`+
			`"user":{"id":"u1"}}}`,
		`{"type":"signup","ip":"86.128.0.9","user":{"email":"a@example.com"}}`)
	tests := []struct {
		name string
		args []string
	}{
		{"open loop from file", []string{"-rate", "200/s", "-in", in}},
		{"closed loop generated", []string{"-rate", "0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			args := []string{"-url", url, "-duration", "300ms", "-connections", "2"}
			args = append(args, tc.args...)
			if err := run(context.Background(), args, &out, &out); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			for _, want := range []string{"errors 0", "decisions/s", "p99"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("report lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestLoadReportsErrors(t *testing.T) {
	url, _ := benchtest.Server(t)
	// An event the API refuses: its tenant is longer than the schema allows.
	in := writeEvents(t, `{"type":"login","ip":"93.192.0.7","tenant":"`+strings.Repeat("t", 2000)+`"}`)
	var out bytes.Buffer
	args := []string{"-url", url, "-duration", "100ms", "-rate", "50", "-in", in}
	err := run(context.Background(), args, &out, &out)
	if err == nil || !strings.Contains(out.String(), "HTTP 400") {
		t.Errorf("run = %v, want an error and the answer quoted:\n%s", err, out.String())
	}
}

// TestBodies checks that each request carries a fresh id and no event time,
// and still decodes as an engine event.
func TestBodies(t *testing.T) {
	events, err := readEvents(strings.NewReader(
		`{"id":"fixed","type":"login","time":"2026-10-01T10:00:00Z","ip":"93.192.0.7"}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := newBodies(events, "test")
	seen := map[string]bool{}
	for n := range int64(3) {
		var ev engine.Event
		body := b.body(0, n)
		if err := engine.DecodeEvent(body, &ev); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		if ev.Time != "" || ev.ID == "fixed" || seen[ev.ID] {
			t.Errorf("body %d has time %q and id %q", n, ev.Time, ev.ID)
		}
		seen[ev.ID] = true
	}
	if !json.Valid(b.body(0, 99)) {
		t.Error("body is not valid JSON")
	}
}

func TestReadEventsErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"bad json", "{\"type\":\"login\",\"ip\":\"1.2.3.4\"}\n{nope\n", "line 2"},
		{"unknown field", `{"event":{"type":"login","ip":"1.2.3.4","usr":{}}}`, "line 1: usr"},
		{"empty", "\n", "no event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readEvents(strings.NewReader(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	bad := [][]string{{"-rate", "fast"}, {"-rate", "-5"}, {"-duration", "0s"},
		{"-connections", "0"}, {"-in", "a", "-data", "b"}, {"extra"}}
	for _, args := range bad {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) succeeded", args)
		}
	}
	c, err := parseFlags([]string{"-rate", "5000/s"}, &bytes.Buffer{})
	if err != nil || c.rate != 5000 {
		t.Errorf("-rate 5000/s gives %v, %v", c.rate, err)
	}
}

// BenchmarkBody measures what the client spends building one request body.
func BenchmarkBody(b *testing.B) {
	events, err := readEvents(strings.NewReader(`{"type":"login","outcome":"succeeded",` +
		`"ip":"93.192.0.7","user":{"id":"u1","email":"a@example.com"},` +
		`"user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0"}`))
	if err != nil {
		b.Fatal(err)
	}
	bs := newBodies(events, "bench")
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		n++
		_ = bs.body(0, n)
	}
}

// TestDump checks the bodies written for wrk: one event a line, valid once
// bench/wrk/decide.lua puts an id in front, and without id or time.
func TestDump(t *testing.T) {
	events, err := readEvents(strings.NewReader(
		`{"id":"a","type":"login","time":"2026-10-01T10:00:00Z","ip":"93.192.0.7"}` + "\n" +
			`{"id":"b","type":"signup","ip":"2001:db8::1","user":{"email":"x@example.com"}}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bodies.jsonl")
	if err := newBodies(events, "test").dump(path); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), text)
	}
	for i, line := range lines {
		var ev engine.Event
		body := `{"id":"w-` + string(rune('0'+i)) + `",` + line[1:]
		if err := engine.DecodeEvent([]byte(body), &ev); err != nil {
			t.Fatalf("line %d %s: %v", i+1, line, err)
		}
		if ev.Time != "" || strings.Contains(line, `"id":"a"`) || strings.Contains(line, `"id":"b"`) {
			t.Errorf("line %d keeps its id or time: %s", i+1, line)
		}
	}
}
