package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRefusedEvents: values a break-test found accepted, each refused over
// HTTP with the code and the field it is in.
func TestRefusedEvents(t *testing.T) {
	srv, world := newServer(t)
	ip := world.MustPlace("London").Addr4().String()
	now := time.Now().UTC()
	tests := []struct {
		name, fields, code, field string
	}{
		{"time before 1970", `"time":"1969-12-31T23:59:30Z"`, "invalid_value", "time"},
		{"zero time", `"time":"0001-01-01T00:00:00Z"`, "invalid_value", "time"},
		{"created in the future", `"user":{"id":"u1","created_at":"` +
			now.Add(72*time.Hour).Format(time.RFC3339) + `"}`, "invalid_value", "user.created_at"},
		{"created at the zero time", `"user":{"id":"u1","created_at":"0001-01-01T00:00:00Z"}`,
			"invalid_value", "user.created_at"},
		{"e-mail with a nul", `"user":{"email":"x@mailinator.com\u0000"}`, "invalid_value",
			"user.email"},
		{"e-mail with a port", `"user":{"email":"x@mailinator.com:80"}`, "invalid_value",
			"user.email"},
		{"e-mail with an empty label", `"user":{"email":"x@mailinator..com"}`, "invalid_value",
			"user.email"},
		{"e-mail of an at sign", `"user":{"email":"@"}`, "invalid_value", "user.email"},
		{"header names in two cases", `"headers":{"Accept-Language":"en","accept-language":"fr"}`,
			"duplicate_field", "headers.accept-language"},
		{"long header name", `"headers":{"` + strings.Repeat("x", 300) + `":"y"}`, "too_long",
			"headers"},
		{"number out of range", `"properties":{"x":1e999999}`, "invalid_value", "properties.x"},
		{"number with a leading zero", `"properties":{"x":01}`, "invalid_json", "properties.x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"type":"login","outcome":"succeeded","ip":"` + ip + `",` + tc.fields + `}`
			code, out := post(t, srv.URL+"/v1/decide", "application/json", body)
			var e struct {
				Error struct{ Code, Field, Message string }
			}
			if err := json.Unmarshal(out, &e); err != nil {
				t.Fatalf("%d %s", code, out)
			}
			if code != 400 || e.Error.Code != tc.code || e.Error.Field != tc.field ||
				e.Error.Message == "" {
				t.Errorf("%.200s\n got %d %.300s, want 400 %s on %s", body, code, out, tc.code,
					tc.field)
			}
		})
	}
}

// TestBatchLineOverTheEventLimit: a batch line larger than one event may be
// gets its own error, as /v1/decide answers 413 and Kafka dead-letters it;
// the lines around it are decided.
func TestBatchLineOverTheEventLimit(t *testing.T) {
	srv, world := newServer(t) // MaxEventBytes 4096
	ip := world.MustPlace("London").Addr4().String()
	ok := `{"type":"login","outcome":"failed","ip":"` + ip + `","user":{"id":"u"}}`
	big := `{"id":"big","type":"login","ip":"` + ip + `","properties":{"x":"` +
		strings.Repeat("a", 5000) + `"}}`
	code, out := post(t, srv.URL+"/v1/events", "application/x-ndjson", ok+"\n"+big+"\n"+ok+"\n")
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if code != 200 || len(lines) != 3 {
		t.Fatalf("%d %s", code, out)
	}
	var r struct {
		Line     int
		EventID  string `json:"event_id"`
		Decision any
		Error    *struct{ Code, Field, Message string }
	}
	if err := json.Unmarshal([]byte(lines[1]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Line != 2 || r.Decision != nil || r.Error == nil || r.Error.Code != "event_too_large" ||
		!strings.Contains(r.Error.Message, "4096") {
		t.Errorf("line 2: %s", lines[1])
	}
	for _, l := range []string{lines[0], lines[2]} {
		if !strings.Contains(l, `"decision":`) {
			t.Errorf("a line beside the large one was not decided: %s", l)
		}
	}
}
