package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/verdictrisk/verdict/feeds/refdata"
)

func init() {
	register("feeds", "show the reference data feeds: source, entries, age, last error", feedsCmd)
}

func feedsCmd(ctx context.Context, args []string, s stdio) int {
	fs := flag.NewFlagSet("feeds", flag.ContinueOnError)
	fs.SetOutput(s.err)
	url := fs.String("url", "", "ask the verdictd at this URL (e.g. http://127.0.0.1:8080)")
	dataDir := fs.String("data", "./data", "without --url: the data folder to load")
	feedsFile := fs.String("feeds", "", "without --url: the feeds configuration (default as verdictd)")
	asJSON := fs.Bool("json", false, "print the status as JSON, as GET /v1/feeds does")
	fs.Usage = func() {
		io.WriteString(s.err, "usage: verdict feeds [--url URL | --data DIR [--feeds FILE]] [--json]\n\n"+
			"With --url, shows the feeds of a running verdictd. Without, loads the feeds as\n"+
			"verdictd would and shows how that went; the exit status is 1 when a feed has no\n"+
			"data or its last load failed.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	var st []refdata.Status
	var err error
	if *url != "" {
		st, err = remoteFeeds(ctx, *url)
	} else {
		st, err = localFeeds(ctx, *dataDir, *feedsFile)
	}
	if err != nil {
		s.errorf("%v", err)
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"feeds": st})
	} else {
		printFeeds(s.out, st)
	}
	for _, f := range st {
		if !f.Loaded || !f.LastOK {
			return exitFail
		}
	}
	return exitOK
}

func remoteFeeds(ctx context.Context, base string) ([]refdata.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimSuffix(base, "/")+"/v1/feeds", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/feeds: HTTP %d", resp.StatusCode)
	}
	var out struct{ Feeds []refdata.Status }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("GET /v1/feeds: %w", err)
	}
	return out.Feeds, nil
}

func localFeeds(ctx context.Context, dataDir, feedsFile string) ([]refdata.Status, error) {
	o := refdata.Options{DataDir: dataDir}
	if feedsFile != "" {
		cfg, err := refdata.LoadConfig(feedsFile)
		if err != nil {
			return nil, err
		}
		o.Config = cfg
	}
	m, err := refdata.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	return m.Status(), nil
}

func printFeeds(w io.Writer, st []refdata.Status) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FEED\tKIND\tROLE\tENTRIES\tAGE\tUPDATED\tSOURCES\tSTATUS")
	for _, f := range st {
		age, updated := "-", "-"
		if f.AgeSeconds >= 0 {
			age = (time.Duration(f.AgeSeconds) * time.Second).String()
		}
		if !f.Updated.IsZero() {
			updated = f.Updated.UTC().Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", f.Name, f.Kind, dash(f.Role),
			f.Entries, age, updated, strings.Join(f.Sources, " "), feedSummary(f))
	}
	tw.Flush()
	for _, f := range st {
		for _, p := range f.Problems {
			fmt.Fprintf(w, "%s: %s\n", f.Name, p)
		}
	}
}

// feedSummary says in a few words how a feed is: ok, stale, or its error.
func feedSummary(f refdata.Status) string {
	var parts []string
	switch {
	case !f.Loaded:
		parts = append(parts, "not loaded")
	case f.Stale:
		parts = append(parts, "stale")
	case !f.LastOK:
		parts = append(parts, "last load failed, last good copy in use")
	default:
		parts = append(parts, "ok")
	}
	if n := f.JunkLines + f.Warnings; n > 0 {
		parts = append(parts, fmt.Sprintf("%d junk, %d warnings", f.JunkLines, f.Warnings))
	}
	if f.LastError != "" {
		parts = append(parts, "last error: "+f.LastError)
	}
	return strings.Join(parts, "; ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
