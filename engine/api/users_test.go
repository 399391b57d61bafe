package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func do(t *testing.T, method, url, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode, out, resp.Header
}

func errCode(out map[string]any) any {
	e, _ := out["error"].(map[string]any)
	return e["code"]
}

func TestUserEndpoints(t *testing.T) {
	srv, world := newServer(t)
	ev := `{"id":"e1","type":"login","outcome":"succeeded","ip":"` +
		world.MustPlace("Berlin").Addr4().String() + `","user":{"id":"u/1"},` +
		`"time":"` + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339) + `"}`
	if code, body := post(t, srv.URL+"/v1/decide", "application/json", ev); code != 200 {
		t.Fatalf("decide: %d %s", code, body)
	}
	tests := []struct {
		method, path, body string
		code               int
		errCode            string
	}{
		{"GET", "/v1/users/u%2F1/profile", "", 200, ""},
		{"GET", "/v1/users/nobody/profile", "", 404, "unknown_user"},
		{"GET", "/v1/users/u%2F1", "", 405, "method_not_allowed"},
		{"GET", "/v1/users/" + strings.Repeat("x", 1100) + "/profile", "", 400, "too_long"},
		{"POST", "/v1/feedback", `{"event_id":"e1","label":"legit"}`, 200, ""},
		{"POST", "/v1/feedback", `{"event_id":"e1","label":"legit","extra":1}`, 400, "unknown_field"},
		{"POST", "/v1/feedback", `{"event_id":"e1","label":7}`, 400, "invalid_type"},
		{"POST", "/v1/feedback", `{"label":"fraud"}`, 400, "missing_field"},
		{"POST", "/v1/feedback", `{"event_id":"e1"`, 400, "invalid_json"},
		{"DELETE", "/v1/users/u%2F1", "", 200, ""},
		{"POST", "/v1/feedback", `{"event_id":"e1","label":"fraud"}`, 404, "unknown_event"},
	}
	for _, tc := range tests {
		code, out, hdr := do(t, tc.method, srv.URL+tc.path, tc.body)
		if code != tc.code || (tc.errCode != "" && errCode(out) != tc.errCode) {
			t.Errorf("%s %.40s %s: %d %v, want %d %s", tc.method, tc.path, tc.body, code, out,
				tc.code, tc.errCode)
		}
		switch {
		case code == 405 && hdr.Get("Allow") != "DELETE":
			t.Errorf("405 without Allow: DELETE: %v", hdr)
		case tc.path == "/v1/users/u%2F1/profile" && out["user"] != "u/1":
			t.Errorf("profile of u/1: %v", out)
		case tc.method == "DELETE" && out["profile"] != true:
			t.Errorf("erase: %v", out)
		}
	}
	// Feedback needs a JSON body.
	if code, _ := post(t, srv.URL+"/v1/feedback", "text/plain", `{}`); code != 415 {
		t.Errorf("feedback as text/plain: %d", code)
	}
}

// TestFeedbackFields: a feedback body without a label, or with an event id
// longer than any event's, is refused naming the field; labelling an event
// fraud twice is answered as a repeat and does not extend risky_until.
func TestFeedbackFields(t *testing.T) {
	srv, world := newServer(t)
	ev := `{"id":"f1","type":"login","outcome":"succeeded","ip":"` +
		world.MustPlace("Berlin").Addr4().String() + `","user":{"id":"u2"},"user_agent":` +
		`"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ` +
		`Chrome/131.0.0.0 Safari/537.36","device":{"id":"d2"}}`
	if code, body := post(t, srv.URL+"/v1/decide", "application/json", ev); code != 200 {
		t.Fatalf("decide: %d %s", code, body)
	}
	for _, tc := range []struct{ body, code, field string }{
		{`{"event_id":"f1"}`, "missing_field", "label"},
		{`{"event_id":"` + strings.Repeat("e", 300) + `","label":"fraud"}`, "too_long", "event_id"},
	} {
		code, out, _ := do(t, "POST", srv.URL+"/v1/feedback", tc.body)
		e, _ := out["error"].(map[string]any)
		if code != 400 || e["code"] != tc.code || e["field"] != tc.field {
			t.Errorf("%.60s: %d %v, want 400 %s on %s", tc.body, code, out, tc.code, tc.field)
		}
	}
	label := `{"event_id":"f1","label":"fraud"}`
	_, first, _ := do(t, "POST", srv.URL+"/v1/feedback", label)
	code, again, _ := do(t, "POST", srv.URL+"/v1/feedback", label)
	if code != 200 || first["result"] != "unlearned" || again["result"] != "nothing_learnt" ||
		again["repeated"] != true {
		t.Fatalf("fraud twice: %v then %d %v", first, code, again)
	}
	until1, _ := time.Parse(time.RFC3339Nano, first["risky_until"].(string))
	until2, err := time.Parse(time.RFC3339Nano, fmt.Sprint(again["risky_until"]))
	if err != nil || until2.After(until1) {
		t.Errorf("a repeated fraud label moved risky_until from %v to %v", until1, again["risky_until"])
	}
}

// TestUserNamedByAnAddressOverHTTP: a user known by e-mail alone is read
// and erased by the address as a person writes it, not only in the
// normalised form the engine keys them by.
func TestUserNamedByAnAddressOverHTTP(t *testing.T) {
	srv, world := newServer(t)
	ev := `{"id":"a1","type":"login","outcome":"succeeded","ip":"` +
		world.MustPlace("Berlin").Addr4().String() + `","user":{"email":"alice@example.com"}}`
	if code, body := post(t, srv.URL+"/v1/decide", "application/json", ev); code != 200 {
		t.Fatalf("decide: %d %s", code, body)
	}
	code, out, _ := do(t, "GET", srv.URL+"/v1/users/ALICE@EXAMPLE.COM/profile", "")
	p, _ := out["profile"].(map[string]any)
	if code != 200 || out["user"] != "ALICE@EXAMPLE.COM" || p["key"] != "alice@example.com" {
		t.Errorf("profile by address: %d %v", code, out)
	}
	code, out, _ = do(t, "DELETE", srv.URL+"/v1/users/ALICE@EXAMPLE.COM", "")
	if code != 200 || out["profile"] != true || out["lessons"] != 1.0 ||
		out["cached_decisions"] != 1.0 {
		t.Errorf("erase by address: %d %v", code, out)
	}
	if code, _, _ := do(t, "GET", srv.URL+"/v1/users/alice@example.com/profile", ""); code != 404 {
		t.Errorf("profile after erasure: %d", code)
	}
}
