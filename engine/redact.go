package engine

import (
	"cmp"
	"slices"
	"strings"
)

// redacted stands for a value of the event in a logged message.
const redacted = "<redacted>"

// redactEvent returns msg with every value the event carried that could
// identify a person — its addresses, ids, e-mail, login name, header and
// property strings — replaced by redacted. A rule's run-time error quotes
// the values it failed on ("invalid operation: int(alice@example.com)"):
// the log keeps the error's shape and position, never the person's data.
// The caller of an explained decision sees the full error: it sent the
// values.
func redactEvent(msg string, ev *Event, keys ...string) string {
	values := append([]string{ev.User.ID, ev.User.Email, ev.User.Login, ev.IP, ev.ForwardedFor,
		ev.Device.ID, ev.Device.Fingerprint, ev.UserAgent}, keys...)
	if ev.addr.IsValid() {
		values = append(values, ev.addr.String())
	}
	for _, v := range ev.Headers {
		values = append(values, v)
	}
	values = appendStrings(values, ev.Properties)
	// Longest first, so that a value containing another is replaced whole.
	slices.SortFunc(values, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, v := range values {
		if len(strings.TrimSpace(v)) >= 2 {
			msg = strings.ReplaceAll(msg, v, redacted)
		}
	}
	return msg
}

// appendStrings appends the strings found anywhere in v, a value decoded
// from JSON.
func appendStrings(out []string, v any) []string {
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case map[string]any:
		for _, e := range x {
			out = appendStrings(out, e)
		}
	case []any:
		for _, e := range x {
			out = appendStrings(out, e)
		}
	}
	return out
}
