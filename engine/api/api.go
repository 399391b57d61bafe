// Package api serves the decision API over HTTP: POST /v1/decide for one
// event, POST /v1/events for a batch of events as NDJSON, and the health and
// metrics endpoints an operator needs. It decodes and validates requests,
// calls the engine, and keeps two messages apart: a stable error code and a
// safe message for the client, the detail for the log.
//
// It also serves the user endpoints (users.go): a user's profile, erasure and
// feedback on earlier events.
//
// Metrics (besides the engine's):
//
//	verdict_http_requests_total{handler,code}   requests answered
//	verdict_http_request_errors_total{code}      requests refused, by error code
//	verdict_http_request_duration_seconds{handler} time to answer (histogram)
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/verdictrisk/verdict/engine"
)

// Options configure the API.
type Options struct {
	// MaxEventBytes bounds the body of /v1/decide and each line of
	// /v1/events. Default 64 KiB.
	MaxEventBytes int64
	// MaxBatchBytes bounds the body of /v1/events. Default 16 MiB.
	MaxBatchBytes int64
	// MaxBatchEvents bounds the lines of one /v1/events request. Default
	// 10,000.
	MaxBatchEvents int
	// Registry serves /metrics; nil serves an empty registry.
	Registry *prometheus.Registry
	// Ready reports whether the service can take traffic; nil is always
	// ready.
	Ready func() error
	// OnDecision, if set, is called with every decision made (to publish
	// it, for instance). It must not block for long.
	OnDecision func(*engine.Event, *engine.Decision)
	// AdminToken, when set, is the bearer token the user endpoints
	// (/v1/users/..., /v1/feedback) require. Default none: anyone who can
	// reach the API can read and erase profiles.
	AdminToken string
	Logger     *slog.Logger
}

// DefaultOptions are the API defaults.
var DefaultOptions = Options{MaxEventBytes: 64 << 10, MaxBatchBytes: 16 << 20,
	MaxBatchEvents: 10_000}

// Server is the HTTP decision API.
type Server struct {
	eng  *engine.Engine
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
	bufs sync.Pool
	met  *apiMetrics
}

// New builds the API around eng.
func New(eng *engine.Engine, opts Options) *Server {
	d := DefaultOptions
	if opts.MaxEventBytes <= 0 {
		opts.MaxEventBytes = d.MaxEventBytes
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = d.MaxBatchBytes
	}
	if opts.MaxBatchEvents <= 0 {
		opts.MaxBatchEvents = d.MaxBatchEvents
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{eng: eng, opts: opts, log: opts.Logger.With("component", "api"),
		mux: http.NewServeMux(), met: newAPIMetrics(opts.Registry)}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	s.routes()
	return s
}

// Handle adds a handler to the API's mux (for endpoints other packages own).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the API's handler.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() {
	s.route("/v1/decide", "decide", http.MethodPost, s.decide)
	s.route("/v1/events", "events", http.MethodPost, s.events)
	s.route("/healthz", "healthz", http.MethodGet, s.healthz)
	s.route("/readyz", "readyz", http.MethodGet, s.readyz)
	s.userRoutes()
	metrics := promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{})
	s.route("/metrics", "metrics", http.MethodGet, metrics.ServeHTTP)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, &engine.FieldError{Code: "not_found",
			Message: "no such endpoint; see /v1/decide, /v1/events, /v1/feedback, " +
				"/v1/users/{id}, /healthz, /readyz, /metrics"})
	})
}

// route registers a handler that answers 405 for other methods. GET routes
// also answer HEAD.
func (s *Server) route(path, name, method string, h http.HandlerFunc) {
	timed := s.met.instrument(name, h)
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			s.fail(w, r, http.StatusMethodNotAllowed, &engine.FieldError{
				Code: "method_not_allowed", Message: r.Method + " is not allowed here; use " + method})
			return
		}
		timed(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable,
				map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready",
		"rules_version": s.eng.Rules().Version, "missing": s.eng.Unavailable()})
}

// decide answers POST /v1/decide: one JSON event in, one decision out.
func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	if !s.jsonBody(w, r, "application/json") {
		return
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.putBuf(buf)
	if !s.readBody(w, r, buf, s.opts.MaxEventBytes) {
		return
	}
	var ev engine.Event
	if err := engine.DecodeEvent(buf.Bytes(), &ev); err != nil {
		s.badEvent(w, r, err)
		return
	}
	opts := engine.DecideOptions{Explain: r.URL.Query().Get("explain") == "true"}
	d, err := s.eng.DecideWith(r.Context(), &ev, opts)
	if err != nil {
		s.badEvent(w, r, err)
		return
	}
	if s.opts.OnDecision != nil {
		s.opts.OnDecision(&ev, d)
	}
	buf.Reset()
	out := append(d.AppendJSON(buf.AvailableBuffer()), '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Write(out)
	if cap(out) > buf.Cap() {
		// The answer outgrew the pooled buffer (it is several times the size
		// of the event): keep room for it, so that the next answer built in
		// this buffer does not allocate.
		buf.Write(out)
	}
}

// batchResult is one line of the /v1/events answer.
type batchResult struct {
	Line     int                `json:"line"`
	EventID  string             `json:"event_id,omitempty"`
	Decision *engine.Decision   `json:"decision,omitempty"`
	Error    *engine.FieldError `json:"error,omitempty"`
}

// events answers POST /v1/events: NDJSON events in, processed in order, one
// NDJSON result per non-blank line out. A bad line gets its error and does
// not stop the others.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if !s.jsonBody(w, r, "application/x-ndjson", "application/jsonl", "application/json") {
		return
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.putBuf(buf)
	if !s.readBody(w, r, buf, s.opts.MaxBatchBytes) {
		return
	}
	lines := bytes.Split(buf.Bytes(), []byte("\n"))
	if n := countNonBlank(lines); n > s.opts.MaxBatchEvents {
		s.fail(w, r, http.StatusRequestEntityTooLarge, &engine.FieldError{Code: "too_many_events",
			Message: "a batch holds at most " + strconv.Itoa(s.opts.MaxBatchEvents) +
				" events; this one has " + strconv.Itoa(n)})
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	var out []byte
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		out = s.batchLine(r.Context(), i+1, line).appendJSON(out[:0])
		if _, err := w.Write(out); err != nil {
			s.log.Debug("batch answer write", "err", err)
			return
		}
	}
}

// appendJSON writes the result as one NDJSON line.
func (r batchResult) appendJSON(b []byte) []byte {
	b = append(b, `{"line":`...)
	b = strconv.AppendInt(b, int64(r.Line), 10)
	if r.EventID != "" {
		eid, _ := json.Marshal(r.EventID)
		b = append(append(b, `,"event_id":`...), eid...)
	}
	if r.Decision != nil {
		b = r.Decision.AppendJSON(append(b, `,"decision":`...))
	}
	if r.Error != nil {
		e, _ := json.Marshal(r.Error)
		b = append(append(b, `,"error":`...), e...)
	}
	return append(b, "}\n"...)
}

// CodeEventTooLarge is the error of a batch line longer than
// Options.MaxEventBytes, the limit /v1/decide answers 413 body_too_large
// to and Kafka dead-letters as record_too_large.
const CodeEventTooLarge = "event_too_large"

func (s *Server) batchLine(ctx context.Context, n int, line []byte) batchResult {
	if int64(len(bytes.TrimSpace(line))) > s.opts.MaxEventBytes {
		s.met.errors.WithLabelValues(CodeEventTooLarge).Inc()
		return batchResult{Line: n, Error: &engine.FieldError{Code: CodeEventTooLarge,
			Message: "the event is larger than " + strconv.FormatInt(s.opts.MaxEventBytes, 10) +
				" bytes, the limit of one event"}}
	}
	var ev engine.Event
	err := engine.DecodeEvent(line, &ev)
	var d *engine.Decision
	if err == nil {
		d, err = s.eng.Decide(ctx, &ev)
	}
	if err != nil {
		fe := asFieldError(err)
		s.met.errors.WithLabelValues(fe.Code).Inc()
		return batchResult{Line: n, EventID: ev.ID, Error: fe}
	}
	if s.opts.OnDecision != nil {
		s.opts.OnDecision(&ev, d)
	}
	return batchResult{Line: n, EventID: ev.ID, Decision: d}
}

func countNonBlank(lines [][]byte) int {
	n := 0
	for _, l := range lines {
		if len(bytes.TrimSpace(l)) > 0 {
			n++
		}
	}
	return n
}

// jsonBody checks the request's content type.
func (s *Server) jsonBody(w http.ResponseWriter, r *http.Request, types ...string) bool {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, t := range types {
			if mt == t {
				return true
			}
		}
	}
	s.fail(w, r, http.StatusUnsupportedMediaType, &engine.FieldError{
		Code: "unsupported_media_type", Field: "Content-Type",
		Message: "send the body as " + types[0] + " (got " + strconv.Quote(ct) + ")"})
	return false
}

func (s *Server) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer, limit int64) bool {
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.fail(w, r, http.StatusRequestEntityTooLarge, &engine.FieldError{Code: "body_too_large",
			Message: "the body is larger than " + strconv.FormatInt(limit, 10) + " bytes"})
		return false
	case err != nil:
		s.fail(w, r, http.StatusBadRequest, &engine.FieldError{Code: "body_unreadable",
			Message: "the body could not be read"})
		s.log.Debug("read body", "err", err)
		return false
	}
	return true
}

func (s *Server) putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // do not keep huge batch buffers alive
		b.Reset()
		s.bufs.Put(b)
	}
}

// badEvent answers an event the engine refused: a *FieldError is the
// client's fault (400); a cancelled request gets 499-like silence; anything
// else is ours (500), logged with its detail and answered without it.
func (s *Server) badEvent(w http.ResponseWriter, r *http.Request, err error) {
	var fe *engine.FieldError
	switch {
	case errors.As(err, &fe) && fe.Code == engine.CodeIDReused:
		s.fail(w, r, http.StatusConflict, fe)
	case errors.As(err, &fe):
		s.fail(w, r, http.StatusBadRequest, fe)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		s.met.errors.WithLabelValues("cancelled").Inc()
	default:
		s.log.Error("decide", "err", err)
		s.fail(w, r, http.StatusInternalServerError, &engine.FieldError{Code: "internal",
			Message: "the decision could not be made; see the server log"})
	}
}

func asFieldError(err error) *engine.FieldError {
	var fe *engine.FieldError
	if errors.As(err, &fe) {
		return fe
	}
	return &engine.FieldError{Code: "internal", Message: "the decision could not be made"}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, fe *engine.FieldError) {
	s.met.errors.WithLabelValues(fe.Code).Inc()
	writeJSON(w, status, struct {
		Error *engine.FieldError `json:"error"`
	}{fe})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"response encoding failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// ServerTimeouts are the http.Server timeouts verdictd uses: a slow or
// stalled client cannot hold a connection or a goroutine for long.
var ServerTimeouts = struct {
	ReadHeader, Read, Write, Idle time.Duration
}{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second, Idle: 2 * time.Minute}
