package engine_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals"
)

// reference encodes a decision with encoding/json, the way AppendJSON
// promises to.
func reference(t *testing.T, d *engine.Decision) map[string]any {
	t.Helper()
	type plain engine.Decision
	b, err := json.Marshal(struct {
		*plain
		Signals struct {
			*signals.Set
			Velocity map[string]int `json:"velocity"`
		} `json:"signals"`
	}{(*plain)(d), struct {
		*signals.Set
		Velocity map[string]int `json:"velocity"`
	}{&d.Signals, d.Velocity()}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	f := newFixture(t)
	d := f.decide(t, ev{user: "u1", ip: f.ip("São Paulo"), outcome: "succeeded", id: `weird "id" <&>`})
	d.Signals.IP.Lists = []string{"tor", "x\u2028y"}
	d.Signals.Device.Browser = "bad\xffutf8\n\ttab"
	d.Signals.Travel.Km = 1e-9
	d.Signals.RBA.Score = 3.5e22
	d.Shadow = []engine.Reason{{Code: "c", Rule: "r", Score: 5, Action: rules.Deny}}
	d.Reasons = []engine.Reason{{Code: "a", Rule: "b", Score: 1, Message: "m"}}
	d.Explain = []engine.RuleResult{{Rule: "b", Matched: true, TookNS: 40,
		Reads: map[string]any{"ip.country": "BR", "velocity.x": 3}}}
	d.ShadowSet = &engine.ShadowSetResult{RulesVersion: "v2", Action: rules.StepUp, Score: 55,
		Reasons: []engine.Reason{{Code: "n", Rule: "new", Score: 55}}}
	d.Time = time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	got := map[string]any{}
	out := d.AppendJSON(nil)
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("AppendJSON wrote invalid JSON: %v\n%s", err, out)
	}
	want := reference(t, d)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AppendJSON differs from encoding/json (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(out), `\u003c&`) && !strings.Contains(string(out), `\u003c\u0026`) {
		t.Errorf("< and & are not escaped: %s", out)
	}
	// A repeat carries no signals: they are not kept.
	d.Repeated = true
	got = map[string]any{}
	if err := json.Unmarshal(d.AppendJSON(nil), &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["signals"]; ok || got["repeated"] != true || got["action"] != "allow" {
		t.Errorf("a repeated decision's JSON: %v", got)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	f := newFixture(b)
	d := f.decide(b, ev{user: "u1", ip: f.ip("Berlin"), outcome: "succeeded"})
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = d.AppendJSON(buf[:0])
	}
}
