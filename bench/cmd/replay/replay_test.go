package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/bench/internal/benchtest"
	"github.com/verdictrisk/verdict/bench/sim"
)

// writeStream writes a small labelled stream of the fixture world that
// ends a day ago, so that no event is in the engine's future.
func writeStream(t *testing.T, dataDir string) (string, []sim.Record) {
	t.Helper()
	w, err := sim.BuildWorld(dataDir, sim.WorldOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -6)
	recs, err := sim.Generate(w, sim.Config{Seed: 3, Users: 40, Days: 5, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := sim.Write(&buf, recs); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stream.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, recs
}

func TestReplay(t *testing.T) {
	url, info := benchtest.Server(t)
	path, recs := writeStream(t, info.Dir)
	var out, errOut bytes.Buffer
	args := []string{"-url", url, "-in", path, "-concurrency", "3"}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s%s", err, out.String(), errOut.String())
	}
	items, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := replay(context.Background(), config{url: url, in: path, concurrency: 3,
		timeout: 5 * time.Second}, items)
	if err != nil {
		t.Fatal(err)
	}
	// The second replay of the same events is answered from the dedupe
	// memory, which the summary must say.
	if sum.decided != len(recs) || sum.repeats != len(recs) || sum.rejected+sum.notSent != 0 {
		t.Errorf("second replay: decided %d, repeats %d, rejected %d, not sent %d; want %d repeats",
			sum.decided, sum.repeats, sum.rejected, sum.notSent, len(recs))
	}
	var legit, stuffing int
	for _, r := range recs {
		switch {
		case r.Label.Decisive && r.Label.Kind == sim.KindLegit:
			legit++
		case r.Label.Decisive && r.Label.Attack == sim.AttackCredentialStuffing:
			stuffing++
		}
	}
	if sum.legit.events != legit {
		t.Errorf("legit decisive events %d, the stream has %d", sum.legit.events, legit)
	}
	cs := sum.attacks[sim.AttackCredentialStuffing]
	if cs == nil || cs.events != stuffing || cs.deny == 0 {
		t.Errorf("credential stuffing tally %+v, want %d events with some denied", cs, stuffing)
	}
	for _, want := range []string{"decided " + strconv.Itoa(len(recs)), "Top reason codes",
		"credential_stuffing", "Legitimate events", "round trip"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestReplayRejected(t *testing.T) {
	url, _ := benchtest.Server(t)
	good := `{"label":{"kind":"legit","decisive":true},"event":{"type":"login","ip":"93.192.0.7",` +
		`"user":{"id":"u1"}}}`
	bad := `{"label":{"kind":"legit","decisive":true},"event":{"type":"login","ip":"93.192.0.7",` +
		`"usr":{"id":"u1"}}}`
	plain := `{"event":{"type":"signup","ip":"93.192.0.8","user":{"email":"a@example.com"}}}`
	path := filepath.Join(t.TempDir(), "s.jsonl")
	if err := os.WriteFile(path, []byte(good+"\n\n"+bad+"\n"+plain+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-url", url, "-in", path}, &out, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{"decided 2, rejected (4xx) 1", "line 3: HTTP 400",
		"unknown_field"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestReplayTransportError(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close() // nothing listens there any more
	path := filepath.Join(t.TempDir(), "s.jsonl")
	ev := `{"event":{"type":"login","ip":"93.192.0.7","user":{"id":"u1"}}}` + "\n"
	if err := os.WriteFile(path, []byte(strings.Repeat(ev, 20)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"-url", url, "-in", path}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("error = %v, want a transport error naming line 1", err)
	}
	if !strings.Contains(out.String(), "not sent 20") {
		t.Errorf("summary does not count the unsent events:\n%s", out.String())
	}
}

func TestReadStreamErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"not json", "{\"event\":{}}\nnope\n", "line 2: not a JSON object"},
		{"no event", `{"label":{"kind":"legit"}}`, `line 1: no "event" object`},
		{"event not object", `{"event":"login"}`, `line 1: no "event" object`},
		{"empty", "\n\n", "no event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readStream(strings.NewReader(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"-in", "x", "-concurrency", "0"}, {"-in", "x", "extra"}} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) succeeded", args)
		}
	}
}

// TestReplayAnswersChallenges: a stepped-up login is followed by its
// challenge, so the device the customer proved is known at their next
// login; the summary counts the challenges.
func TestReplayAnswersChallenges(t *testing.T) {
	url, _ := benchtest.Server(t)
	at := time.Now().UTC().Add(-48 * time.Hour)
	line := func(n int, ip, dev string) string {
		return `{"label":{"kind":"legit","decisive":true},"event":{"id":"ch-` + strconv.Itoa(n) +
			`","type":"login","outcome":"succeeded","ip":"` + ip + `","time":"` +
			at.Add(time.Duration(n)*time.Hour).Format(time.RFC3339) + `","user":{"id":"u-ch"},` +
			`"user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, ` +
			`like Gecko) Chrome/142.0.0.0 Safari/537.36",` +
			`"device":{"id":"` + dev + `","timezone":"Europe/Berlin","screen":"1920x1080"}}}`
	}
	stream := strings.Join([]string{line(0, "93.192.0.7", "laptop"), line(1, "93.192.9.7", "phone"),
		line(2, "93.192.9.7", "phone")}, "\n")
	path := filepath.Join(t.TempDir(), "s.jsonl")
	if err := os.WriteFile(path, []byte(stream+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	items, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := replay(context.Background(), config{url: url, in: path, concurrency: 1,
		timeout: 5 * time.Second}, items)
	if err != nil {
		t.Fatal(err)
	}
	if sum.challenges != 1 || sum.legit.stepUp != 1 || sum.legit.allow != 2 {
		t.Errorf("challenges %d, legit %+v; want one step-up, its challenge, then the phone known",
			sum.challenges, sum.legit)
	}
}
