package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/verdictrisk/verdict/bench/sim"
)

// item is one event of the stream.
type item struct {
	line  int
	label sim.Label
	// labelled is false for a line without a label: a plain event stream
	// can be replayed too, it just has no per-label summary.
	labelled bool
	body     []byte // the event, exactly as in the file
	key      string // the user the event is about, for ordering
	// challengeable is true for a succeeded login or a signup: when the
	// server steps it up, the auth server asks for a second factor.
	challengeable bool
}

// result is what the server answered for one item.
type result struct {
	status int // 0: not sent
	rtt    time.Duration
	body   []byte // the answer, kept for errors only
	d      decision
	// challenged is true when a challenge result was reported after a
	// step-up (challenge.go).
	challenged bool
}

// decision is the part of the engine's decision the summary reads.
type decision struct {
	Action  string `json:"action"`
	Reasons []struct {
		Code string `json:"code"`
	} `json:"reasons"`
	TookUS   float64 `json:"took_us"`
	Repeated bool    `json:"repeated"`
}

// maxLine bounds one line of the stream; an event is far smaller.
const maxLine = 1 << 20

// readStream reads a labelled stream: one JSON object a line with an
// "event" object and, usually, a "label". Blank lines are skipped.
func readStream(r io.Reader) ([]item, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var items []item
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		it, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		it.line = n
		items = append(items, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read stream: %w", err)
	}
	if len(items) == 0 {
		return nil, errors.New("the stream holds no event")
	}
	return items, nil
}

func parseLine(line []byte) (item, error) {
	var rec struct {
		Label *sim.Label      `json:"label"`
		Event json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(line, &rec); err != nil {
		return item{}, fmt.Errorf("not a JSON object with label and event: %w", err)
	}
	if len(rec.Event) == 0 || rec.Event[0] != '{' {
		return item{}, errors.New(`no "event" object`)
	}
	var who struct {
		Type    string                            `json:"type"`
		Outcome string                            `json:"outcome"`
		User    struct{ ID, Email, Login string } `json:"user"`
		IP      string                            `json:"ip"`
	}
	// A malformed event is still sent: the server's answer to it is part
	// of what a replay shows.
	_ = json.Unmarshal(rec.Event, &who)
	it := item{body: rec.Event, labelled: rec.Label != nil,
		challengeable: who.Type == "signup" || who.Type == "login" && who.Outcome == "succeeded"}
	if rec.Label != nil {
		it.label = *rec.Label
	}
	switch {
	case who.User.ID != "":
		it.key = who.User.ID
	case who.User.Email != "":
		it.key = strings.ToLower(who.User.Email)
	case who.User.Login != "":
		it.key = strings.ToLower(who.User.Login)
	default:
		it.key = who.IP
	}
	return it, nil
}

// sender posts events to one server.
type sender struct {
	url    string
	client *http.Client
}

func newSender(base string, conns int, timeout time.Duration) *sender {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		DisableCompression: true, IdleConnTimeout: 30 * time.Second}
	return &sender{url: base + "/v1/decide", client: &http.Client{Transport: tr, Timeout: timeout}}
}

// send posts one event. Only a transport failure is an error; any HTTP
// answer is a result.
func (s *sender) send(ctx context.Context, body []byte) (result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, fmt.Errorf("read answer: %w", err)
	}
	res := result{status: resp.StatusCode, rtt: time.Since(start)}
	if resp.StatusCode != http.StatusOK {
		res.body = answer
		return res, nil
	}
	if err := json.Unmarshal(answer, &res.d); err != nil {
		return result{}, fmt.Errorf("decode decision: %w", err)
	}
	return res, nil
}

// replay sends every item and returns the summary. Items go to workers by
// a fixed hash of the user key, in stream order, so one user's events are
// answered in order. The hand-off is unbuffered: an item waits until its
// worker is free, so at most concurrency items are in flight and events of
// different users overtake each other by fewer places than that. A deeper
// queue would let one worker fall hours of event time behind the others,
// and the engine's velocity counters drop events that arrive later than
// their window. The first transport error stops the replay and is returned
// with the summary of what was answered. A stepped-up labelled login or
// signup is followed by its challenge result (answerChallenge), on the same
// worker, so the user's next event sees what the challenge taught.
func replay(parent context.Context, c config, items []item) (*summary, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	s := newSender(c.url, c.concurrency, c.timeout)
	results := make([]result, len(items))
	queues := make([]chan int, c.concurrency)
	var (
		wg      sync.WaitGroup
		once    sync.Once
		sendErr error
	)
	for w := range queues {
		queues[w] = make(chan int)
		wg.Go(func() {
			for i := range queues[w] {
				if ctx.Err() != nil {
					continue // drain without sending
				}
				res, err := s.send(ctx, items[i].body)
				if err == nil {
					res.challenged, err = s.answerChallenge(ctx, &items[i], &res)
				}
				if err != nil {
					once.Do(func() { sendErr = fmt.Errorf("line %d: %w", items[i].line, err) })
					cancel()
					continue
				}
				results[i] = res
			}
		})
	}
	start := time.Now()
	for i := range items {
		if ctx.Err() != nil {
			break
		}
		queues[xxhash.Sum64String(items[i].key)%uint64(len(queues))] <- i
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	sum := summarize(items, results, time.Since(start), c)
	if sendErr == nil && parent.Err() != nil {
		sendErr = fmt.Errorf("interrupted: %w", parent.Err())
	}
	return sum, sendErr
}
