package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkDecideHTTP measures one /v1/decide request through the handler
// (decode, decide, encode), without the network.
func BenchmarkDecideHTTP(b *testing.B) {
	srv, world := newServerB(b)
	body := []byte(`{"type":"login","outcome":"succeeded","ip":"` +
		world.MustPlace("Berlin").Addr4().String() + `","user":{"id":"u1","email":"a.b@gmail.com"},` +
		`"user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ` +
		`Chrome/131.0.0.0 Safari/537.36","device":{"id":"d1"},"headers":{"accept-language":"de-DE"}}`)
	h := srv.Config.Handler
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/decide", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
