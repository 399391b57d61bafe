package api

import (
	"crypto/sha256"
	"net/http"

	"github.com/verdictrisk/verdict/engine"
)

// Admin configures the authenticated admin endpoints:
//
//	POST /v1/admin/reload   reload the rule files now; 200 with what was
//	                        loaded, or 422 rules_invalid with every error
//	                        (the running set stays)
//	GET  /v1/admin/rules    the running rule sets and their last load
//
// Callers send the token as "Authorization: Bearer <token>"; a missing or
// wrong token gets 401 unauthorized. The rule errors and versions these
// endpoints show are for operators and analysts, so they are never on an
// unauthenticated path.
type Admin struct {
	// Token is the bearer token. Empty disables the endpoints: they answer
	// 403 admin_disabled, so that an admin API is never open by accident.
	Token string
	// Reload reloads the rule sets and reports what happened; ok is false
	// when a set was rejected.
	Reload func(trigger string) (report any, ok bool)
	// Status reports the rule sets.
	Status func() any
}

// EnableAdmin adds the admin endpoints.
func (s *Server) EnableAdmin(a Admin) {
	want := sha256.Sum256([]byte(a.Token))
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if a.Token == "" {
				s.fail(w, r, http.StatusForbidden, &engine.FieldError{Code: "admin_disabled",
					Message: "the admin API is off: start verdictd with --admin-token-file " +
						"or VERDICT_ADMIN_TOKEN"})
				return
			}
			if !tokenMatches(r, want) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="verdict admin"`)
				s.fail(w, r, http.StatusUnauthorized, &engine.FieldError{Code: "unauthorized",
					Message: "send the admin token as Authorization: Bearer <token>"})
				return
			}
			h(w, r)
		}
	}
	s.route("/v1/admin/reload", "admin_reload", http.MethodPost, auth(func(w http.ResponseWriter,
		r *http.Request) {
		rep, ok := a.Reload("admin API")
		if !ok {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
				"error": &engine.FieldError{Code: "rules_invalid",
					Message: "the rule files do not load; the running rule set stays"},
				"reload": rep})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"reload": rep})
	}))
	s.route("/v1/admin/rules", "admin_rules", http.MethodGet, auth(func(w http.ResponseWriter,
		r *http.Request) {
		writeJSON(w, http.StatusOK, a.Status())
	}))
}
