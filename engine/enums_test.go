package engine

import (
	"slices"
	"testing"

	"github.com/verdictrisk/verdict/rules"
)

// TestRuleLintKnowsTheEventValues: the linter warns about comparisons with
// event types and outcomes the engine does not accept; its lists must be the
// engine's.
func TestRuleLintKnowsTheEventValues(t *testing.T) {
	if !slices.Equal(rules.Enums["event.type"], eventTypes) {
		t.Errorf("rules.Enums[event.type] = %v, engine accepts %v", rules.Enums["event.type"], eventTypes)
	}
	if !slices.Equal(rules.Enums["event.outcome"], outcomes) {
		t.Errorf("rules.Enums[event.outcome] = %v, engine accepts %v", rules.Enums["event.outcome"], outcomes)
	}
}
