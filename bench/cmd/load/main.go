// Command load is the HTTP load generator of `make bench`: it sends
// decision requests to a running verdictd and reports the decisions per
// second it achieved and the latency distribution.
//
//	load -url http://127.0.0.1:8080 -rate 5000 -duration 10s -connections 8 [-in FILE] [-data DIR]
//	load -dump FILE [-in FILE] [-data DIR]
//
// With -rate N (also written N/s) it runs an open loop: requests are due at
// a fixed rate whatever the server does, and latency counts from the due
// time, so a server that falls behind shows its queueing delay. With -rate
// 0 every connection sends back to back: the most the server answers.
//
// The events come from -in (a labelled stream from `sample`, or plain
// events, one a line), else from a realistic mix generated with package
// sim. Every request gets a fresh event id, so the engine decides each one
// instead of answering from its dedupe memory. It exits non-zero when any
// request failed.
//
// -dump writes the request bodies, one a line without their id, and sends
// nothing: bench/wrk/decide.lua sends them with wrk, a load generator that
// costs the machine less per request than Go's HTTP client does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/bench/internal/cli"
)

func main() { cli.Main("load", run) }

type config struct {
	url         string
	rate        rateFlag
	duration    time.Duration
	connections int
	in, data    string
	timeout     time.Duration
	dump        string
}

// rateFlag is requests per second; "5000" and "5000/s" are the same.
type rateFlag float64

func (r *rateFlag) String() string { return strconv.FormatFloat(float64(*r), 'f', -1, 64) }

func (r *rateFlag) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
	if err != nil || v < 0 || v > 1e7 {
		return fmt.Errorf("%q is not a rate such as 5000 or 5000/s (0 for full speed)", s)
	}
	*r = rateFlag(v)
	return nil
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of verdictd")
	fs.Var(&c.rate, "rate",
		"requests per second, open loop (5000 or 5000/s); 0 sends as fast as the connections allow")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&c.connections, "connections", 8, "HTTP connections (requests in flight at most)")
	fs.StringVar(&c.in, "in", "", "events to send, JSON lines (default: a generated mix)")
	fs.StringVar(&c.data, "data", "",
		"reference data folder for the generated mix (default: the built-in test fixture)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "time limit of one request")
	fs.StringVar(&c.dump, "dump", "", "write the request bodies to this file, one a line without id, and send nothing")
	if err := cli.Parse(fs, args, stderr); err != nil {
		return c, err
	}
	switch {
	case c.duration <= 0:
		return c, errors.New("-duration must be positive")
	case c.connections < 1:
		return c, errors.New("-connections must be at least 1")
	case c.in != "" && c.data != "":
		return c, errors.New("-in and -data exclude each other")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var b *bodies
	if c.in != "" {
		b, err = readBodies(c.in)
	} else {
		b, err = generateBodies(c.data)
	}
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	if c.dump != "" {
		if err := b.dump(c.dump); err != nil {
			return fmt.Errorf("-dump: %w", err)
		}
		fmt.Fprintf(stdout, "load: %d request bodies (%s) -> %s\n", len(b.events), b.source, c.dump)
		return nil
	}
	s := loadTest(ctx, c, b)
	report(stdout, c, b, s)
	if n := s.httpErrors + s.transportErrors; n > 0 {
		return fmt.Errorf("%d requests failed", n)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	return nil
}

func loadTest(ctx context.Context, c config, b *bodies) *stats {
	cl := newClient(c.url, c.connections, c.timeout, b)
	defer cl.close()
	if c.rate == 0 {
		return closedLoop(ctx, c.duration, c.connections, cl.send)
	}
	// The grace period lets the requests queued at the end of the
	// schedule finish, up to one request timeout.
	return openLoop(ctx, float64(c.rate), c.duration, c.connections, c.timeout, cl.send)
}

func report(w io.Writer, c config, b *bodies, s *stats) {
	mode := "full speed (closed loop)"
	latFrom := "round trip"
	if c.rate > 0 {
		mode = fmt.Sprintf("open loop at %s/s", c.rate.String())
		latFrom = "from the scheduled send time"
	}
	fmt.Fprintf(w, "load: %s for %s over %d connections to %s; %d distinct events (%s)\n",
		mode, c.duration, c.connections, c.url, len(b.events), b.source)
	fmt.Fprintf(w, "  sent %d: ok %d, errors %d (http %d, transport %d)", s.ok+s.httpErrors+
		s.transportErrors, s.ok, s.httpErrors+s.transportErrors, s.httpErrors, s.transportErrors)
	if c.rate > 0 {
		fmt.Fprintf(w, ", not sent in time %d", s.unsent)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  decisions/s %.0f\n", float64(s.ok)/max(s.elapsed.Seconds(), 1e-9))
	fmt.Fprintf(w, "  latency (%s): p50 %s  p90 %s  p99 %s  max %s\n", latFrom,
		ms(quantile(s.lat, 0.5)), ms(quantile(s.lat, 0.9)), ms(quantile(s.lat, 0.99)),
		ms(quantile(s.lat, 1)))
	for _, e := range s.firstErrors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}

// ms formats a latency in milliseconds with three significant decimals.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + "ms"
}
