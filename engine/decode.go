package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// Error codes of a rejected event. They are stable: clients and dead-letter
// consumers may switch on them.
const (
	CodeInvalidJSON  = "invalid_json"
	CodeUnknownField = "unknown_field"
	CodeInvalidType  = "invalid_type"
	CodeMissingField = "missing_field"
	CodeInvalidValue = "invalid_value"
	CodeTooLong      = "too_long"
)

// FieldError is a problem with one field of an event. Field is the dotted
// path of the field ("user.email"), empty when the problem is the document
// itself.
type FieldError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Code + ": " + e.Message
	}
	return e.Field + ": " + e.Message
}

func missing(field string) error {
	return &FieldError{Code: CodeMissingField, Field: field, Message: "required field is missing"}
}

func invalid(field, format string, args ...any) error {
	return &FieldError{Code: CodeInvalidValue, Field: field, Message: fmt.Sprintf(format, args...)}
}

func itoa(n int) string { return strconv.Itoa(n) }

// DecodeEvent reads exactly one JSON event from data. Unknown fields outside
// "properties" and "headers" are errors, as are wrong JSON types and
// trailing data; each error is a *FieldError naming the field. The event is
// not validated; call Validate.
func DecodeEvent(data []byte, ev *Event) error {
	*ev = Event{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(ev)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return &FieldError{Code: CodeInvalidJSON, Message: "trailing data after the event object"}
		}
		return nil
	}
	*ev = Event{}
	return explain(data, err)
}

// explain turns a decoding error into a *FieldError. encoding/json reports
// unknown fields without a typed error, so the document is walked against the
// event's schema to name the field.
func explain(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &FieldError{Code: CodeInvalidJSON, Message: "empty or truncated JSON document"}
	case errors.As(err, &syn):
		return &FieldError{Code: CodeInvalidJSON,
			Message: fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn)}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return &FieldError{Code: CodeInvalidType,
				Message: "the event must be a JSON object, not " + typ.Value}
		}
		return &FieldError{Code: CodeInvalidType, Field: field,
			Message: fmt.Sprintf("expected %s, got %s", jsonKind(typ.Type.Kind().String()), typ.Value)}
	}
	var doc any
	if json.Unmarshal(data, &doc) == nil {
		if fe := findUnknown(doc, eventSchema, ""); fe != nil {
			return fe
		}
	}
	return &FieldError{Code: CodeInvalidJSON, Message: err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	case "bool":
		return "true or false"
	}
	return "a number"
}

// schema describes the fields of an object: a nested schema, or nil for a
// leaf (or a free-form object whose keys are not checked).
type schema map[string]schema

var eventSchema = schema{
	"id": nil, "type": nil, "outcome": nil, "time": nil, "tenant": nil,
	"user":          {"id": nil, "email": nil, "login": nil, "created_at": nil},
	"ip":            nil,
	"forwarded_for": nil, "user_agent": nil, "headers": nil,
	"device": {"id": nil, "fingerprint": nil, "timezone": nil, "screen": nil,
		"language": nil},
	"tls":        {"ja4": nil, "ja3": nil},
	"properties": nil,
}

func findUnknown(doc any, s schema, prefix string) *FieldError {
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sub, known := s[k]
		if !known {
			return &FieldError{Code: CodeUnknownField, Field: prefix + clip(k),
				Message: "unknown field" + suggest(k, s)}
		}
		if sub != nil {
			if fe := findUnknown(obj[k], sub, prefix+k+"."); fe != nil {
				return fe
			}
		}
	}
	return nil
}

// suggest names the known field closest to a misspelt one.
func suggest(k string, s schema) string {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	sort.Strings(names)
	best, bestD := "", 3
	for _, name := range names {
		if d := editDistance(k, name); d < bestD {
			best, bestD = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and swaps of neighbouring letters cost one each.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
