// Command replay sends a labelled event stream (see package sim) to a
// running verdictd, one POST /v1/decide per event with the label stripped,
// and prints what the engine decided: decisions by action, the most common
// reasons, latency, and per label how many attack events were stopped and
// how many legitimate ones were bothered.
//
//	replay -url http://127.0.0.1:8080 -in state/sample.jsonl [-concurrency 4]
//
// Events of one user are sent in order by one worker; workers own users by
// a hash of the user key, so concurrency never reorders a user's events. It
// exits non-zero when a request cannot be sent or the server answers 5xx;
// 4xx answers are counted and the first few shown.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/bench/internal/cli"
)

func main() { cli.Main("replay", run) }

type config struct {
	url         string
	in          string
	concurrency int
	timeout     time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of verdictd")
	fs.StringVar(&c.in, "in", "",
		"labelled stream to send, JSON lines (required; - for standard input)")
	fs.IntVar(&c.concurrency, "concurrency", 4,
		"requests in flight; each user's events stay in order whatever the value")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "time limit of one request")
	if err := cli.Parse(fs, args, stderr); err != nil {
		return c, err
	}
	switch {
	case c.in == "":
		return c, errors.New("-in is required")
	case c.concurrency < 1:
		return c, errors.New("-concurrency must be at least 1")
	}
	c.url = strings.TrimSuffix(c.url, "/")
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	items, err := readFile(c.in)
	if err != nil {
		return err
	}
	sum, err := replay(ctx, c, items)
	sum.print(stdout)
	if err != nil {
		return err
	}
	if sum.serverErrors > 0 {
		return fmt.Errorf("the server answered %d requests with 5xx", sum.serverErrors)
	}
	return nil
}

func readFile(path string) ([]item, error) {
	if path == "-" {
		return readStream(os.Stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	items, err := readStream(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return items, nil
}
