package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// httpError is an answer other than 200.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

var jsonType = []string{"application/json"}

// client posts bodies to /v1/decide over a fixed pool of keep-alive
// connections.
type client struct {
	url    string
	http   *http.Client
	bodies *bodies
	seq    atomic.Int64
}

func newClient(base string, conns int, timeout time.Duration, b *bodies) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		DisableCompression: true, IdleConnTimeout: time.Minute}
	return &client{url: strings.TrimSuffix(base, "/") + "/v1/decide",
		http:   &http.Client{Transport: tr, Timeout: timeout},
		bodies: b}
}

// send posts event i. The body is built fresh for each request: the
// transport may still read it after Do returns, so it cannot be reused.
func (c *client) send(ctx context.Context, _, i int) error {
	body := c.bodies.body(i, c.seq.Add(1))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = http.Header{"Content-Type": jsonType}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return &httpError{status: resp.StatusCode, body: strings.TrimSpace(string(msg))}
	}
	// Reading the answer to its end lets the connection be reused.
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// close drops the idle connections.
func (c *client) close() { c.http.CloseIdleConnections() }
