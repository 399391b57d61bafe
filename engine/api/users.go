package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/signals/profile"
)

// The user endpoints. They read and change what the engine keeps of a user,
// so they answer only callers with Options.AdminToken when one is set; a
// deployment without a token must keep them off untrusted networks.
//
//	GET    /v1/users/{id}/profile[?tenant=T]   the user's profile
//	DELETE /v1/users/{id}[?tenant=T]           erase everything kept of the user
//	POST   /v1/feedback                        {"event_id", "label", "tenant"}
//
// {id} is the user key as a decision's signals.user.key shows it.
func (s *Server) userRoutes() {
	s.route("/v1/users/{id}/profile", "user_profile", http.MethodGet, s.admin(s.userProfile))
	s.route("/v1/users/{id}", "user_erase", http.MethodDelete, s.admin(s.userErase))
	s.route("/v1/feedback", "feedback", http.MethodPost, s.admin(s.feedback))
}

// admin checks the bearer token, when one is configured.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	want := sha256.Sum256([]byte(s.opts.AdminToken))
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.AdminToken != "" && !tokenMatches(r, want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="verdict"`)
			s.fail(w, r, http.StatusUnauthorized, &engine.FieldError{Code: "unauthorized",
				Message: "this endpoint needs the admin token: Authorization: Bearer <token>"})
			return
		}
		h(w, r)
	}
}

// profileView is the answer of GET /v1/users/{id}/profile.
type profileView struct {
	User    string           `json:"user"`
	Tenant  string           `json:"tenant,omitempty"`
	Profile *profile.Profile `json:"profile"`
	// RiskyUntil is set while the user's logins carry extra risk.
	RiskyUntil *time.Time `json:"risky_until,omitempty"`
}

func (s *Server) userProfile(w http.ResponseWriter, r *http.Request) {
	user, tenant, ok := s.userParams(w, r)
	if !ok {
		return
	}
	p, err := s.eng.Profile(tenant, user)
	switch {
	case err != nil:
		s.internal(w, r, "read profile", err)
		return
	case p == nil:
		s.fail(w, r, http.StatusNotFound, &engine.FieldError{Code: "unknown_user",
			Message: "no profile is kept for this user"})
		return
	}
	// Keys are stored with their tenant; show them without it. The key is
	// the user's as given or, for an e-mail address, its normal form.
	p.Key = strings.TrimPrefix(p.Key, tenant+"\x00")
	for i, k := range p.Lessons {
		p.Lessons[i] = strings.TrimPrefix(k, tenant+"\x00")
	}
	v := profileView{User: user, Tenant: tenant, Profile: p}
	if p.RiskyAt(time.Now()) {
		t := time.Unix(p.RiskUntil, 0).UTC()
		v.RiskyUntil = &t
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) userErase(w http.ResponseWriter, r *http.Request) {
	user, tenant, ok := s.userParams(w, r)
	if !ok {
		return
	}
	res, err := s.eng.Erase(tenant, user)
	if err != nil {
		s.internal(w, r, "erase user", err)
		return
	}
	s.log.Info("user erased", "profile", res.Profile, "lessons", res.Lessons,
		"velocity_entries", res.VelocityEntries)
	writeJSON(w, http.StatusOK, res)
}

// userParams reads {id} and ?tenant=.
func (s *Server) userParams(w http.ResponseWriter, r *http.Request) (user, tenant string, ok bool) {
	user, tenant = r.PathValue("id"), r.URL.Query().Get("tenant")
	for _, f := range []struct{ name, v string }{{"id", user}, {"tenant", tenant}} {
		if len(f.v) > 1024 {
			s.fail(w, r, http.StatusBadRequest, &engine.FieldError{Code: engine.CodeTooLong,
				Field: f.name, Message: "longer than 1024 bytes"})
			return "", "", false
		}
	}
	if user == "" {
		s.fail(w, r, http.StatusBadRequest, &engine.FieldError{Code: engine.CodeMissingField,
			Field: "id", Message: "the user key is missing from the path"})
		return "", "", false
	}
	return user, tenant, true
}

// feedbackRequest is the body of POST /v1/feedback.
type feedbackRequest struct {
	EventID string `json:"event_id"`
	Label   string `json:"label"`
	Tenant  string `json:"tenant"`
}

func (s *Server) feedback(w http.ResponseWriter, r *http.Request) {
	if !s.jsonBody(w, r, "application/json") {
		return
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.putBuf(buf)
	if !s.readBody(w, r, buf, s.opts.MaxEventBytes) {
		return
	}
	var req feedbackRequest
	var fe *engine.FieldError
	if err := engine.DecodeJSON(buf.Bytes(), &req); errors.As(err, &fe) {
		s.fail(w, r, http.StatusBadRequest, fe)
		return
	}
	res, err := s.eng.Feedback(req.Tenant, req.EventID, req.Label)
	switch {
	case errors.As(err, &fe):
		s.fail(w, r, http.StatusBadRequest, fe)
	case errors.Is(err, engine.ErrUnknownEvent):
		s.fail(w, r, http.StatusNotFound, &engine.FieldError{Code: "unknown_event",
			Field: "event_id", Message: "no lesson is kept for this event: it was not a " +
				"successful login, signup or challenge, is older than the user's last 16 " +
				"such events, or was erased"})
	case err != nil:
		s.internal(w, r, "feedback", err)
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// internal answers a failure of ours: the detail goes to the log only.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error(what, "err", err)
	s.fail(w, r, http.StatusInternalServerError, &engine.FieldError{Code: "internal",
		Message: what + " failed; see the server log"})
}

// tokenMatches compares the request's bearer token with the token whose
// SHA-256 is want, in constant time: comparing hashes keeps the time
// independent of the token's length as well as its content.
func tokenMatches(r *http.Request, want [sha256.Size]byte) bool {
	got, ok := bearerToken(r)
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1 && ok
}

// bearerToken returns the credentials of an Authorization header of the
// Bearer scheme. Auth schemes are case-insensitive (RFC 9110, section
// 11.1): "bearer" and "BEARER" are Bearer too.
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}
