package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/verdictrisk/verdict/bench/sim"
)

// challengeDelay is how long after a step-up its challenge is answered.
const challengeDelay = 30 * time.Second

// answerChallenge plays the auth server after a step-up: when the server
// stepped up a labelled successful login or signup, it reports the second
// factor's result as a challenge event 30 seconds later — passed by the
// legitimate user, failed by the attacker — as verdict eval does, so that
// the demo's profiles learn what production ones would. It reports whether
// it sent one.
func (s *sender) answerChallenge(ctx context.Context, it *item, res *result) (bool, error) {
	if res.status != 200 || res.d.Action != "step_up" || !it.labelled || !it.challengeable ||
		res.d.Repeated {
		return false, nil
	}
	body, err := challengeFor(it.body, it.label.Kind == sim.KindLegit)
	if err != nil {
		return false, fmt.Errorf("challenge: %w", err)
	}
	ans, err := s.send(ctx, body)
	if err != nil {
		return false, fmt.Errorf("challenge: %w", err)
	}
	if ans.status != 200 {
		return false, fmt.Errorf("challenge: HTTP %d: %s", ans.status, ans.body)
	}
	return true, nil
}

// challengeFor turns an event into its challenge result: same user,
// device and address, type challenge, the outcome, an id of its own, and
// a time challengeDelay later.
func challengeFor(event []byte, passed bool) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, err
	}
	ev["type"], ev["outcome"] = "challenge", "failed"
	if passed {
		ev["outcome"] = "succeeded"
	}
	if id, ok := ev["id"].(string); ok && id != "" {
		ev["id"] = id + "-challenge"
	}
	if ts, ok := ev["time"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			ev["time"] = t.Add(challengeDelay).Format(time.RFC3339Nano)
		}
	}
	return json.Marshal(ev)
}
