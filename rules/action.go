package rules

import (
	"encoding/json"
	"fmt"
)

// Action is what a decision tells the auth server to do.
type Action uint8

// The actions, weakest first. None means a rule forces no action.
const (
	None Action = iota
	Allow
	StepUp
	Deny
)

var actionNames = [...]string{None: "", Allow: "allow", StepUp: "step_up", Deny: "deny"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", a)
}

// ParseAction reads "allow", "step_up" or "deny".
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if n != "" && n == s {
			return Action(i), nil
		}
	}
	return None, fmt.Errorf("%q is not allow, step_up or deny", s)
}

// MarshalJSON writes the action's name.
func (a Action) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON reads an action's name.
func (a *Action) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseAction(s)
	*a = v
	return err
}
