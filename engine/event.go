package engine

import (
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/verdictrisk/verdict/signals/email"
)

// Event types. An auth server sends one event per step of a flow; see
// docs/events.md for an example of each.
const (
	TypeLogin          = "login"
	TypeSignup         = "signup"
	TypeChallenge      = "challenge"
	TypePasswordReset  = "password_reset"
	TypePasswordChange = "password_change"
	TypeAccountUpdate  = "account_update"
	TypeLogout         = "logout"
)

// Event outcomes.
const (
	OutcomeAttempted = "attempted"
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
)

var (
	eventTypes = []string{TypeLogin, TypeSignup, TypeChallenge, TypePasswordReset,
		TypePasswordChange, TypeAccountUpdate, TypeLogout}
	outcomes = []string{OutcomeAttempted, OutcomeSucceeded, OutcomeFailed}
)

// Limits on field sizes. Longer values are rejected, not truncated, so that
// nothing the auth server sent is silently changed.
const (
	maxIDLen        = 256
	maxStringLen    = 1024
	maxUserAgentLen = 4096
	maxHeaders      = 64
	maxHeaderName   = 256
	maxForwardedLen = 4096
)

// minTime is the earliest event time and account creation time accepted.
// An earlier one is a client's fault (a zero value, a Unix time of 0, a
// two-digit year) rather than a login, and it would corrupt what profiles
// keep, where times are Unix seconds and 0 means "never".
var minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// defaultFutureSkew is Validate's allowed clock skew (Options.MaxFutureSkew
// of the engine).
const defaultFutureSkew = 5 * time.Minute

// Event is one authentication event as an auth server reports it. The JSON
// form is the same over HTTP and Kafka; DecodeEvent reads it strictly.
type Event struct {
	// ID is the idempotency key. An event sent twice with the same ID
	// within the dedupe window gets the first decision again and is not
	// counted twice. Optional; without it there is no deduplication.
	ID      string `json:"id,omitempty"`
	Type    string `json:"type"`
	Outcome string `json:"outcome,omitempty"`
	// Time is when the event happened (RFC 3339). Optional; the receive
	// time is used when it is absent.
	Time   string `json:"time,omitempty"`
	Tenant string `json:"tenant,omitempty"`
	User   User   `json:"user"`
	// IP is the address the auth server saw the request come from.
	IP string `json:"ip"`
	// ForwardedFor is the raw X-Forwarded-For header, resolved against the
	// configured trusted proxies.
	ForwardedFor string            `json:"forwarded_for,omitempty"`
	UserAgent    string            `json:"user_agent,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	Device       Device            `json:"device"`
	TLS          TLS               `json:"tls"`
	// Properties is a free-form object; rules read it as event.properties.
	Properties map[string]any `json:"properties,omitempty"`

	addr     netip.Addr
	at       time.Time
	received time.Time
}

// User identifies the account the event is about. Any field may be absent on
// a failed login for an unknown account; Login then names it.
type User struct {
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
	// Login is the identifier the person typed when it is not an e-mail
	// address (a user name, a phone number).
	Login     string `json:"login,omitempty"`
	CreatedAt string `json:"created_at,omitempty"`

	created time.Time
	email   email.Address
}

// Device is what the client reported about itself.
type Device struct {
	// ID is a client-side device id or long-lived cookie; when present it
	// alone makes the device fingerprint.
	ID          string `json:"id,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Timezone    string `json:"timezone,omitempty"`
	Screen      string `json:"screen,omitempty"`
	Language    string `json:"language,omitempty"`
}

// TLS carries the client's TLS fingerprint as seen by the edge.
type TLS struct {
	JA4 string `json:"ja4,omitempty"`
	JA3 string `json:"ja3,omitempty"`
}

// Addr returns the parsed IP address (valid after Validate).
func (e *Event) Addr() netip.Addr { return e.addr }

// At returns the event time (valid after Validate).
func (e *Event) At() time.Time { return e.at }

// Received returns the time the engine received the event.
func (e *Event) Received() time.Time { return e.received }

// CreatedAt returns the parsed account creation time, or the zero time.
func (u *User) CreatedTime() time.Time { return u.created }

// SetAddr replaces the event's address; the engine uses it once the client
// address has been resolved through trusted proxies.
func (e *Event) SetAddr(a netip.Addr) { e.addr = a }

// Validate checks every field, parses the IP and times, and fills the
// defaults: outcome "attempted", time = received (also for a time more than
// five minutes ahead of received). It returns the first problem as a
// *FieldError.
func (e *Event) Validate(received time.Time) error {
	return e.validate(received, defaultFutureSkew)
}

// validate is Validate with the engine's allowed clock skew: how far ahead
// of received an event time may be before received replaces it, and how far
// after the event the account's creation time may be.
func (e *Event) validate(received time.Time, skew time.Duration) error {
	e.received = received
	if err := e.validateIdentity(); err != nil {
		return err
	}
	if err := e.validateNetwork(); err != nil {
		return err
	}
	if err := e.validateClient(); err != nil {
		return err
	}
	return e.validateTimes(received, skew)
}

func (e *Event) validateIdentity() error {
	if err := checkLen("id", e.ID, maxIDLen); err != nil {
		return err
	}
	if e.Type == "" {
		return missing("type")
	}
	if !oneOf(e.Type, eventTypes) {
		return invalid("type", "unknown event type %q; expected one of %s",
			clip(e.Type), strings.Join(eventTypes, ", "))
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeAttempted
	} else if !oneOf(e.Outcome, outcomes) {
		return invalid("outcome", "unknown outcome %q; expected one of %s",
			clip(e.Outcome), strings.Join(outcomes, ", "))
	}
	for _, f := range []struct{ name, v string }{
		{"tenant", e.Tenant}, {"user.id", e.User.ID}, {"user.email", e.User.Email},
		{"user.login", e.User.Login},
	} {
		if err := checkLen(f.name, f.v, maxStringLen); err != nil {
			return err
		}
	}
	return e.User.parseEmail()
}

// parseEmail parses and normalises the e-mail address. An address that does
// not parse is refused rather than kept as it came: its domain would have no
// disposable check and its key would differ from the same address written
// right. The message never quotes the address (field errors may be logged).
func (u *User) parseEmail() error {
	u.email = email.Address{}
	if u.Email == "" {
		return nil
	}
	a, err := email.Normalize(u.Email)
	if err != nil {
		return invalid("user.email", "%v; send what the person typed as user.login when "+
			"it is not an e-mail address", err)
	}
	u.email = a
	return nil
}

func (e *Event) validateNetwork() error {
	if e.IP == "" {
		return missing("ip")
	}
	a, err := netip.ParseAddr(e.IP)
	if err != nil || a.Zone() != "" {
		return invalid("ip", "%q is not an IP address", clip(e.IP))
	}
	e.addr = a.Unmap()
	return checkLen("forwarded_for", e.ForwardedFor, maxForwardedLen)
}

func (e *Event) validateClient() error {
	if err := checkLen("user_agent", e.UserAgent, maxUserAgentLen); err != nil {
		return err
	}
	if len(e.Headers) > maxHeaders {
		return &FieldError{Code: CodeTooLong, Field: "headers",
			Message: "more than 64 headers"}
	}
	if err := e.validateHeaders(); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"device.id", e.Device.ID}, {"device.fingerprint", e.Device.Fingerprint},
		{"device.timezone", e.Device.Timezone}, {"device.screen", e.Device.Screen},
		{"device.language", e.Device.Language}, {"tls.ja4", e.TLS.JA4},
		{"tls.ja3", e.TLS.JA3},
	} {
		if err := checkLen(f.name, f.v, maxStringLen); err != nil {
			return err
		}
	}
	return nil
}

// validateHeaders checks the header names and values. Names are
// case-insensitive (Header matches them so), so two that differ only in case
// are one header given twice.
func (e *Event) validateHeaders() error {
	for k, v := range e.Headers {
		if len(k) > maxHeaderName {
			return &FieldError{Code: CodeTooLong, Field: "headers",
				Message: "a header name is longer than " + itoa(maxHeaderName) + " bytes"}
		}
		if len(v) > maxUserAgentLen || !utf8.ValidString(v) {
			return checkLen("headers."+clip(k), v, maxUserAgentLen)
		}
		for k2 := range e.Headers {
			if k < k2 && strings.EqualFold(k, k2) {
				return &FieldError{Code: CodeDuplicateField, Field: "headers." + clip(k2),
					Message: "the header is given twice: names are case-insensitive"}
			}
		}
	}
	return nil
}

func (e *Event) validateTimes(received time.Time, skew time.Duration) error {
	e.at, e.User.created = received, time.Time{}
	if e.Time != "" {
		t, err := parseTime("time", e.Time)
		if err != nil {
			return err
		}
		if t.Sub(received) <= skew {
			e.at = t
		}
	}
	if e.User.CreatedAt != "" {
		t, err := parseTime("user.created_at", e.User.CreatedAt)
		if err != nil {
			return err
		}
		if t.Sub(e.at) > skew {
			return invalid("user.created_at", "%q is after the event's time %s: an account "+
				"cannot log in before it exists", clip(e.User.CreatedAt),
				e.at.UTC().Format(time.RFC3339))
		}
		e.User.created = t
	}
	return nil
}

// parseTime reads an RFC 3339 time no earlier than minTime.
func parseTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, invalid(field, "%q is not an RFC 3339 time such as "+
			"2026-12-03T10:00:00Z", clip(v))
	}
	if t.Before(minTime) {
		return t, invalid(field, "%q is before %s: not a plausible time (a zero or "+
			"default value?)", clip(v), minTime.Format(time.DateOnly))
	}
	return t, nil
}

// Header returns the value of the header with the given lower-case name.
// Header names sent by the auth server are matched case-insensitively.
func (e *Event) Header(name string) string {
	if v, ok := e.Headers[name]; ok {
		return v
	}
	for k, v := range e.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func checkLen(field, v string, max int) error {
	if len(v) > max {
		return &FieldError{Code: CodeTooLong, Field: field,
			Message: "longer than " + itoa(max) + " bytes"}
	}
	if !utf8.ValidString(v) {
		return invalid(field, "not valid UTF-8")
	}
	return nil
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// clip shortens a value quoted back in an error message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}
