package rules

// Action returns the action a decision with this score and forced action
// gets under t: the same mapping Evaluate applies, so that a caller who
// recorded a decision's score and forced action (the evaluation's
// trade-off curve) can ask what other thresholds would have decided.
func (t Thresholds) Action(score int, forced Action) Action { return t.action(score, forced) }
