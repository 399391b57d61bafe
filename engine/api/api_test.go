package api_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdictrisk/verdict/engine/api"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

func newServer(t *testing.T) (*httptest.Server, geotest.FixtureInfo) { return newServerB(t) }

func newServerB(t testing.TB) (*httptest.Server, geotest.FixtureInfo) {
	t.Helper()
	dir := t.TempDir()
	world, err := geotest.Fixture(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	st, err := setup.New(t.Context(), setup.Options{Rules: set, DataDir: dir, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(st.Engine, api.Options{Registry: reg, MaxEventBytes: 4096, MaxBatchEvents: 5})
	a.ServeFeeds(st.Feeds)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); st.Close() })
	return srv, world
}

func post(t *testing.T, url, ctype, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestDecide(t *testing.T) {
	srv, world := newServer(t)
	ip := world.MustPlace("New York").Addr4().String()
	code, body := post(t, srv.URL+"/v1/decide", "application/json",
		`{"id":"e1","type":"login","outcome":"succeeded","ip":"`+ip+`","user":{"id":"u1"},`+
			`"user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 `+
			`(KHTML, like Gecko) Version/18.1 Safari/605.1.15"}`)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var d struct {
		DecisionID string `json:"decision_id"`
		EventID    string `json:"event_id"`
		Action     string
		Missing    []string
		Signals    struct {
			IP struct {
				Country string
				ASN     int
			}
		}
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Action != "allow" || d.EventID != "e1" || d.DecisionID == "" ||
		d.Signals.IP.Country != "US" || d.Signals.IP.ASN != 7922 {
		t.Errorf("decision: %s", body)
	}
	// The same id on another event is a conflict, not the first answer.
	code, body = post(t, srv.URL+"/v1/decide", "application/json",
		`{"id":"e1","type":"signup","ip":"`+ip+`","user":{"email":"x@example.com"}}`)
	if code != http.StatusConflict || !strings.Contains(string(body), `"code":"id_reused"`) {
		t.Errorf("reused id: %d %s", code, body)
	}
}

func TestExplain(t *testing.T) {
	srv, _ := newServer(t)
	_, body := post(t, srv.URL+"/v1/decide?explain=true", "application/json",
		`{"type":"login","ip":"10.0.0.1","user":{"id":"u1"}}`)
	var d struct{ Explain []struct{ Rule string } }
	if err := json.Unmarshal(body, &d); err != nil || len(d.Explain) < 5 {
		t.Fatalf("explain: %v %s", err, body)
	}
}

func TestBadInput(t *testing.T) {
	srv, _ := newServer(t)
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		code, field                     string
	}{
		{"unknown field", "POST", "/v1/decide", "application/json",
			`{"type":"login","ip":"1.2.3.4","user_agnet":"x"}`, 400, "unknown_field", "user_agnet"},
		{"bad ip", "POST", "/v1/decide", "application/json", `{"type":"login","ip":"nope"}`,
			400, "invalid_value", "ip"},
		{"missing ip", "POST", "/v1/decide", "application/json", `{"type":"login"}`,
			400, "missing_field", "ip"},
		{"wrong type", "POST", "/v1/decide", "application/json", `{"type":"login","ip":true}`,
			400, "invalid_type", "ip"},
		{"unknown type", "POST", "/v1/decide", "application/json", `{"type":"logon","ip":"1.2.3.4"}`,
			400, "invalid_value", "type"},
		{"bad time", "POST", "/v1/decide", "application/json",
			`{"type":"login","ip":"1.2.3.4","time":"soon"}`, 400, "invalid_value", "time"},
		{"malformed json", "POST", "/v1/decide", "application/json", `{"type":`, 400, "invalid_json", "type"},
		{"form body", "POST", "/v1/decide", "application/x-www-form-urlencoded", `type=login`,
			415, "unsupported_media_type", "Content-Type"},
		{"too large", "POST", "/v1/decide", "application/json",
			`{"type":"login","ip":"1.2.3.4","properties":{"x":"` + strings.Repeat("a", 5000) + `"}}`,
			413, "body_too_large", ""},
		{"get decide", "GET", "/v1/decide", "", "", 405, "method_not_allowed", ""},
		{"post health", "POST", "/healthz", "application/json", "{}", 405, "method_not_allowed", ""},
		{"unknown path", "GET", "/v2/nothing", "", "", 404, "not_found", ""},
		{"batch too many", "POST", "/v1/events", "application/x-ndjson", strings.Repeat("{}\n", 6),
			413, "too_many_events", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Code, Field, Message string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("body is not a JSON error: %v", err)
			}
			if resp.StatusCode != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
				t.Errorf("got %d %s/%q (%s), want %d %s/%q", resp.StatusCode, e.Error.Code,
					e.Error.Field, e.Error.Message, tc.status, tc.code, tc.field)
			}
			if e.Error.Message == "" {
				t.Error("error without a message")
			}
			if tc.status == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow header")
			}
		})
	}
}

func TestBatchKeepsGoingPastBadLines(t *testing.T) {
	srv, world := newServer(t)
	ip := world.MustPlace("London").Addr4().String()
	body := `{"id":"a","type":"login","outcome":"failed","ip":"` + ip + `","user":{"id":"u"}}` + "\n" +
		`{"id":"b","type":"login","ip":"999.1.1.1"}` + "\n\n" +
		`not json` + "\n" +
		`{"id":"c","type":"challenge","outcome":"succeeded","ip":"` + ip + `","user":{"id":"u"}}` + "\n"
	code, out := post(t, srv.URL+"/v1/events", "application/x-ndjson", body)
	if code != 200 {
		t.Fatalf("status %d: %s", code, out)
	}
	type result struct {
		Line     int
		EventID  string `json:"event_id"`
		Decision *struct{ Action string }
		Error    *struct{ Code, Field string }
	}
	var got []result
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, r)
	}
	if len(got) != 4 {
		t.Fatalf("got %d results: %s", len(got), out)
	}
	if got[0].Decision == nil || got[0].Line != 1 || got[0].EventID != "a" {
		t.Errorf("line 1: %+v", got[0])
	}
	if got[1].Error == nil || got[1].Error.Field != "ip" || got[1].Line != 2 {
		t.Errorf("line 2: %+v", got[1])
	}
	if got[2].Error == nil || got[2].Error.Code != "invalid_json" || got[2].Line != 4 {
		t.Errorf("line 4: %+v", got[2])
	}
	if got[3].Decision == nil || got[3].Line != 5 {
		t.Errorf("line 5: %+v", got[3])
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	srv, _ := newServer(t)
	post(t, srv.URL+"/v1/decide", "application/json",
		`{"type":"login","ip":"10.0.0.1","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}`)
	post(t, srv.URL+"/v1/decide", "application/json",
		`{"type":"login","ip":"10.0.0.1","user_agent":"curl/8.5.0"}`)
	post(t, srv.URL+"/v1/decide", "application/json", `{"type":"login"}`)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, err, resp)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`verdict_decisions_total{action="allow"} 1`,
		`verdict_decision_duration_seconds_bucket`,
		`verdict_http_request_errors_total{code="missing_field"} 1`,
		`verdict_decisions_total{action="step_up"} 1`,
		`verdict_reason_hits_total{code="automated_client"} 1`,
		`verdict_http_requests_total{code="200",handler="decide"} 2`,
		`verdict_http_requests_total{code="400",handler="decide"} 1`,
		`verdict_http_requests_total{code="200",handler="healthz"} 1`,
		`verdict_http_request_duration_seconds_count{handler="decide"} 3`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
