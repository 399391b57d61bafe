package replay_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/verdictrisk/verdict/bench/sim"
	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/feeds/refdata"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/rules/replay"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

// stream is the default labelled sample stream in the geotest world, with
// the engine options over the same fixture data.
type stream struct {
	data []byte
	n    int
	opts engine.Options
}

var (
	streamOnce sync.Once
	shared     stream
	streamErr  error
	closeFeeds = func() {}
)

func sampleStream(t testing.TB) stream {
	t.Helper()
	streamOnce.Do(func() {
		dir, err := tempDir()
		if err != nil {
			streamErr = err
			return
		}
		if _, err = geotest.Fixture(dir); err != nil {
			streamErr = err
			return
		}
		w, err := sim.BuildWorld(dir, sim.WorldOptions{})
		if err != nil {
			streamErr = err
			return
		}
		recs, err := sim.Generate(w, sim.Config{Seed: 7})
		if err != nil {
			streamErr = err
			return
		}
		var buf bytes.Buffer
		if streamErr = sim.Write(&buf, recs); streamErr != nil {
			return
		}
		feeds, err := refdata.Open(context.Background(), refdata.Options{DataDir: dir})
		if err != nil {
			streamErr = err
			return
		}
		closeFeeds = func() { feeds.Close() }
		shared = stream{data: buf.Bytes(), n: len(recs), opts: setup.Sources(feeds)}
	})
	if streamErr != nil {
		t.Fatal(streamErr)
	}
	return shared
}

// defaultWith is the default pack with old replaced by new in the rule file
// that holds it.
func defaultWith(t testing.TB, old, new string) *rules.Set {
	t.Helper()
	names, err := fs.Glob(rules.DefaultFS(), "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pack, replaced := fstest.MapFS{}, false
	for _, n := range names {
		src, err := fs.ReadFile(rules.DefaultFS(), n)
		if err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(string(src), old, new, 1)
		replaced = replaced || changed != string(src)
		pack[n] = &fstest.MapFile{Data: []byte(changed)}
	}
	if !replaced {
		t.Fatalf("%q is not in the default pack", old)
	}
	set, err := rules.Load(pack, ".")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func mustDefault(t testing.TB) *rules.Set {
	t.Helper()
	s, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSameRulesChangeNothing: the two engines are deterministic and
// independent, so the same rules make the same decisions.
func TestSameRulesChangeNothing(t *testing.T) {
	st := sampleStream(t)
	rep, err := replay.Run(context.Background(), replay.NewJSONL(bytes.NewReader(st.data), 0),
		replay.Options{Baseline: mustDefault(t), Candidate: mustDefault(t), Engine: st.opts})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != st.n || rep.Decided != st.n || rep.Changed != 0 || rep.ScoreOnly != 0 {
		t.Fatalf("records %d decided %d changed %d score-only %d, want %d, %d, 0, 0",
			rep.Records, rep.Decided, rep.Changed, rep.ScoreOnly, st.n, st.n)
	}
	if rep.Baseline.Actions != rep.Candidate.Actions || !rep.Labelled {
		t.Errorf("actions %v vs %v", rep.Baseline.Actions, rep.Candidate.Actions)
	}
	if st := rep.Baseline.Attacks[sim.AttackCredentialStuffing]; st == nil || st.Caught() == 0 {
		t.Errorf("the default rules catch no stuffing in the sample: %+v", st)
	}
}

// TestStricterStuffingRule: a candidate that calls stuffing earlier denies
// more stuffing attempts, and the report and --out say which rule did it.
func TestStricterStuffingRule(t *testing.T) {
	st := sampleStream(t)
	cand := defaultWith(t, "velocity.users_per_ip >= 8 && velocity.failed_logins_per_ip >= 8",
		"velocity.users_per_ip >= 3 && velocity.failed_logins_per_ip >= 3")
	var out bytes.Buffer
	var progress []int
	rep, err := replay.Run(context.Background(),
		replay.NewJSONL(bytes.NewReader(st.data), int64(len(st.data))),
		replay.Options{Baseline: mustDefault(t), Candidate: cand, Engine: st.opts, Out: &out,
			Progress: func(done, total int64, n int) {
				if total != int64(len(st.data)) {
					t.Errorf("progress total %d, want %d", total, len(st.data))
				}
				progress = append(progress, n)
			}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changed == 0 || rep.RulesAdded["credential-stuffing-ip"] != rep.Changed ||
		len(rep.RulesRemoved) != 0 {
		t.Fatalf("changed %d, rules added %v, removed %v", rep.Changed, rep.RulesAdded, rep.RulesRemoved)
	}
	b, c := rep.Baseline.Attacks[sim.AttackCredentialStuffing], rep.Candidate.Attacks[sim.AttackCredentialStuffing]
	if c.Deny <= b.Deny {
		t.Errorf("stuffing denied: baseline %d, candidate %d", b.Deny, c.Deny)
	}
	if rep.Candidate.Actions[rules.Deny]-rep.Baseline.Actions[rules.Deny] !=
		rep.Transitions[[2]rules.Action{rules.Allow, rules.Deny}]+
			rep.Transitions[[2]rules.Action{rules.StepUp, rules.Deny}] {
		t.Errorf("transitions %v do not add up to the deny counts", rep.Transitions)
	}
	lines := 0
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines++
		var ch struct {
			Pos       string
			EventID   string `json:"event_id"`
			Baseline  struct{ Action string }
			Candidate struct {
				Action  string
				Reasons []struct{ Rule string }
			}
			Event map[string]any
		}
		if err := json.Unmarshal(sc.Bytes(), &ch); err != nil {
			t.Fatalf("--out line %d: %v", lines, err)
		}
		if ch.Baseline.Action == ch.Candidate.Action || ch.Event["id"] != ch.EventID ||
			!strings.HasPrefix(ch.Pos, "line ") {
			t.Errorf("--out line %d: %s", lines, sc.Bytes())
		}
	}
	if lines != rep.Changed {
		t.Errorf("--out has %d lines, %d decisions changed", lines, rep.Changed)
	}
	if len(progress) == 0 || progress[len(progress)-1] != st.n {
		t.Errorf("progress calls %v, want the last at %d", progress, st.n)
	}
	var text bytes.Buffer
	rep.WriteText(&text, "sample")
	for _, want := range []string{"Changed decisions: ", "-> deny", "+credential-stuffing-ip",
		"+credential_stuffing", "credential_stuffing", "legitimate"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, &text)
		}
	}
}

// TestBareEventsAndBadLines: lines may be bare events; a line that is not an
// event is counted and quoted, and the others are still replayed.
func TestBareEventsAndBadLines(t *testing.T) {
	in := strings.Join([]string{
		`{"type":"login","ip":"10.1.1.1","user":{"id":"a"},"time":"2026-11-02T10:00:00Z"}`,
		`{"label":{"kind":"attack","attack":"x","decisive":true},"event":{"type":"login","ip":"10.1.1.1","user":{"id":"b"}}}`,
		``,
		`{"type":"login","ip":"10.1.1.1","user_agnet":"x"}`,
		`not json`,
		`{"label":{"kind":"legit"}}`,
		`{"type":"login","ip":"10.1.1.1","time":"yesterday"}`,
		`{"type":"logon","ip":"10.1.1.1"}`,
	}, "\n")
	rep, err := replay.Run(context.Background(), replay.NewJSONL(strings.NewReader(in), 0),
		replay.Options{Baseline: mustDefault(t), Candidate: mustDefault(t)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 7 || rep.Decided != 2 || rep.Invalid != 5 || !rep.Labelled {
		t.Fatalf("records %d decided %d invalid %d", rep.Records, rep.Decided, rep.Invalid)
	}
	got := strings.Join(rep.InvalidShown, "\n")
	for _, want := range []string{"line 4: user_agnet: unknown field", "line 5: not a JSON object",
		`line 6: a labelled record without "event"`, "line 7: time:", "line 8: type: unknown event type"} {
		if !strings.Contains(got, want) {
			t.Errorf("invalid records lack %q:\n%s", want, got)
		}
	}
}

// TestChallenges: with Options.Challenges each side answers its step-ups
// of labelled logins, so a customer's new device, once proved, is known at
// the next login; without, it is stepped up again.
func TestChallenges(t *testing.T) {
	st := sampleStream(t)
	line := func(n int, ip, dev string) string {
		return `{"label":{"kind":"legit","decisive":true},"event":{"id":"c` + strconv.Itoa(n) +
			`","type":"login","outcome":"succeeded","ip":"` + ip + `","time":"2026-11-02T1` +
			strconv.Itoa(n) + `:00:00Z","user":{"id":"u-ch"},"user_agent":"Mozilla/5.0 ` +
			`(Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 ` +
			`Safari/537.36","device":{"id":"` + dev + `","timezone":"Europe/Berlin","screen":"1920x1080"}}}`
	}
	in := strings.Join([]string{line(0, "93.192.0.7", "laptop"), line(1, "93.192.9.7", "phone"),
		line(2, "93.192.9.7", "phone")}, "\n")
	for _, tc := range []struct {
		challenges bool
		stepUps    int
	}{{false, 2}, {true, 1}} {
		rep, err := replay.Run(context.Background(), replay.NewJSONL(strings.NewReader(in), 0),
			replay.Options{Baseline: mustDefault(t), Candidate: mustDefault(t), Engine: st.opts,
				Challenges: tc.challenges})
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Baseline.Legit.StepUp; got != tc.stepUps {
			t.Errorf("challenges %v: %d step-ups, want %d", tc.challenges, got, tc.stepUps)
		}
	}
}

func BenchmarkReplay(b *testing.B) {
	st := sampleStream(b)
	base, cand := mustDefault(b), defaultWith(b, ">= 8 && velocity.failed_logins_per_ip >= 8",
		">= 4 && velocity.failed_logins_per_ip >= 4")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := replay.Run(context.Background(), replay.NewJSONL(bytes.NewReader(st.data), 0),
			replay.Options{Baseline: base, Candidate: cand, Engine: st.opts}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.n*b.N)/b.Elapsed().Seconds(), "events/s")
}
