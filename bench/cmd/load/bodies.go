package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/verdictrisk/verdict/bench/sim"
	"github.com/verdictrisk/verdict/engine"
)

// bodies are the events a run sends, encoded once before it starts.
// Each is an event's JSON without its id and time: the id is added per
// request, so that the engine never answers from its dedupe memory, and the
// time is left out, so that the engine uses its receive time and the
// counters see traffic at the rate it is sent.
type bodies struct {
	events [][]byte
	// prefix starts every body: `{"id":"<run>-`; a run tag keeps ids of
	// different runs apart on a long-running server.
	prefix []byte
	source string
}

func newBodies(events [][]byte, source string) *bodies {
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	return &bodies{events: events, prefix: []byte(`{"id":"load-` + tag + `-`), source: source}
}

// body returns the request body of the n-th request, which sends event i.
func (b *bodies) body(i int, n int64) []byte {
	ev := b.events[i%len(b.events)]
	out := make([]byte, 0, len(b.prefix)+24+len(ev))
	out = append(out, b.prefix...)
	out = strconv.AppendInt(out, n, 10)
	out = append(out, `",`...)
	return append(out, ev[1:]...) // ev starts with '{'
}

// dump writes the body templates to path, one a line: JSON objects
// without id and time, for a load generator that adds its own ids.
func (b *bodies) dump(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, ev := range b.events {
		w.Write(ev)
		w.WriteByte('\n')
	}
	return errors.Join(w.Flush(), f.Close())
}

// encode turns an event into a body template.
func encode(ev *engine.Event) ([]byte, error) {
	ev.ID, ev.Time = "", ""
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != '{' || b[1] == '}' {
		return nil, errors.New("the event encodes to an empty object")
	}
	return b, nil
}

// readBodies reads events from a stream file: labelled records as package
// sim writes them, or plain events, one a line. Each event must be valid.
func readBodies(path string) (*bodies, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	events, err := readEvents(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return newBodies(events, path), nil
}

func readEvents(r io.Reader) ([][]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out [][]byte
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec struct {
			Event json.RawMessage `json:"event"`
		}
		raw := line
		if json.Unmarshal(line, &rec) == nil && len(rec.Event) > 0 {
			raw = rec.Event
		}
		var ev engine.Event
		if err := engine.DecodeEvent(raw, &ev); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		b, err := encode(&ev)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, b)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no event")
	}
	return out, nil
}

// generatedMix is the size of the mix made when no stream is given: a
// population big enough that users, devices and addresses repeat about as
// often as in a real service's few minutes of traffic.
var generatedMix = sim.Config{Seed: 1, Users: 2000, Days: 7}

// generateBodies makes a realistic mix with package sim: from the real data
// in dataDir when it is given, else in the fixture world (a few real
// networks of six cities).
func generateBodies(dataDir string) (*bodies, error) {
	w, err := sim.BuildFixtureWorld(sim.WorldOptions{})
	source := "generated mix, fixture world"
	if dataDir != "" {
		w, err = sim.BuildWorld(dataDir, sim.WorldOptions{})
		source = "generated mix, world of " + dataDir
	}
	if err != nil {
		return nil, err
	}
	recs, err := sim.Generate(w, generatedMix)
	if err != nil {
		return nil, err
	}
	events := make([][]byte, len(recs))
	for i := range recs {
		if events[i], err = encode(&recs[i].Event); err != nil {
			return nil, fmt.Errorf("generated event %d: %w", i+1, err)
		}
	}
	return newBodies(events, source), nil
}
