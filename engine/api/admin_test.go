package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/api"
	"github.com/verdictrisk/verdict/rules"
)

func adminServer(t *testing.T, token string, ok bool) *httptest.Server {
	t.Helper()
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Rules: set})
	if err != nil {
		t.Fatal(err)
	}
	s := api.New(eng, api.Options{AdminToken: token})
	s.EnableAdmin(api.Admin{Token: token,
		Reload: func(trigger string) (any, bool) { return map[string]string{"trigger": trigger}, ok },
		Status: func() any { return map[string]string{"version": set.Version} }})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); eng.Close() })
	return srv
}

func TestAdminEndpoints(t *testing.T) {
	tests := []struct {
		name, token, method, path, auth string
		reloadOK                        bool
		status                          int
		body                            string
	}{
		{"disabled", "", "POST", "/v1/admin/reload", "Bearer x", true, 403, "admin_disabled"},
		{"no token", "tok-123", "POST", "/v1/admin/reload", "", true, 401, "unauthorized"},
		{"wrong token", "tok-123", "POST", "/v1/admin/reload", "Bearer tok-1234", true, 401, "unauthorized"},
		{"not bearer", "tok-123", "POST", "/v1/admin/reload", "Basic tok-123", true, 401, "unauthorized"},
		{"reload", "tok-123", "POST", "/v1/admin/reload", "Bearer tok-123", true, 200, `"trigger":"admin API"`},
		{"rejected", "tok-123", "POST", "/v1/admin/reload", "Bearer tok-123", false, 422, "rules_invalid"},
		{"status", "tok-123", "GET", "/v1/admin/rules", "Bearer tok-123", true, 200, `"version"`},
		{"wrong method", "tok-123", "GET", "/v1/admin/reload", "Bearer tok-123", true, 405, "method_not_allowed"},
		// Auth schemes are case-insensitive; the token is not.
		{"lower-case scheme", "tok-123", "GET", "/v1/admin/rules", "bearer tok-123", true, 200, `"version"`},
		{"upper-case scheme", "tok-123", "POST", "/v1/admin/reload", "BEARER tok-123", true, 200, `"trigger"`},
		{"token in another case", "tok-123", "GET", "/v1/admin/rules", "Bearer TOK-123", true, 401, "unauthorized"},
		{"no space", "tok-123", "GET", "/v1/admin/rules", "Bearertok-123", true, 401, "unauthorized"},
		{"user endpoint", "tok-123", "GET", "/v1/users/u1/profile", "bearer tok-123", true, 404, "unknown_user"},
		{"user endpoint without token", "tok-123", "GET", "/v1/users/u1/profile", "", true, 401, "unauthorized"},
		{"user endpoint, wrong token", "tok-123", "GET", "/v1/users/u1/profile", "bearer tok-12", true, 401, "unauthorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := adminServer(t, tc.token, tc.reloadOK)
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
				t.Errorf("%d %s, want %d with %q", resp.StatusCode, b, tc.status, tc.body)
			}
		})
	}
}
