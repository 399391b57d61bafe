package api

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type apiMetrics struct {
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newAPIMetrics(reg prometheus.Registerer) *apiMetrics {
	m := &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_http_requests_total",
			Help: "HTTP requests answered, by handler and status code.",
		}, []string{"handler", "code"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_http_request_errors_total",
			Help: "Requests or batch lines refused, by error code.",
		}, []string{"code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "verdict_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by handler.",
			Buckets: []float64{5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 0.05, 0.25, 1},
		}, []string{"handler"}),
	}
	reg.MustRegister(m.requests, m.errors, m.duration)
	return m
}

// instrument counts and times the requests of one handler. Its metric
// children are resolved once, and the writer that records the status comes
// from a pool, so a request costs neither a label lookup nor an allocation:
// this runs on every decision.
func (m *apiMetrics) instrument(name string, h http.HandlerFunc) http.HandlerFunc {
	dur := m.duration.WithLabelValues(name)
	codes := &codeCounters{vec: m.requests, handler: name}
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := statusWriters.Get().(*statusWriter)
		sw.ResponseWriter, sw.code = w, 0
		h(sw, r)
		dur.Observe(time.Since(start).Seconds())
		codes.get(sw.status()).Inc()
		sw.ResponseWriter = nil
		statusWriters.Put(sw)
	}
}

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the connection's own writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is the answered status; a handler that wrote nothing answered 200.
func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// codeCounters are one handler's request counters by status code, each
// resolved from the vector the first time its code is answered.
type codeCounters struct {
	vec     *prometheus.CounterVec
	handler string
	byCode  [600]atomic.Pointer[prometheus.Counter]
}

func (c *codeCounters) get(code int) prometheus.Counter {
	if code < 0 || code >= len(c.byCode) {
		return c.vec.WithLabelValues(c.handler, strconv.Itoa(code))
	}
	if p := c.byCode[code].Load(); p != nil {
		return *p
	}
	// Two first requests may both resolve it: they get the same child.
	ctr := c.vec.WithLabelValues(c.handler, strconv.Itoa(code))
	c.byCode[code].Store(&ctr)
	return ctr
}
