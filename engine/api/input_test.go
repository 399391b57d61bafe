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
				t.Errorf("%s\n got %d %s, want 400 %s on %s", strings.TrimSpace(body), code, out,
					tc.code, tc.field)
			}
		})
	}
}
