package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/verdictrisk/verdict/feeds/refdata"
)

func init() {
	register("data", "check the reference data folder: verdict data check [--data DIR]", dataCmd)
}

func dataCmd(ctx context.Context, args []string, s stdio) int {
	if len(args) == 0 || args[0] != "check" {
		s.errorf("usage: verdict data check [--data DIR]")
		return exitUsage
	}
	fs := flag.NewFlagSet("data check", flag.ContinueOnError)
	fs.SetOutput(s.err)
	dir := fs.String("data", "./data", "folder of reference data")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	m, err := refdata.Check(ctx, *dir)
	if m != nil {
		defer m.Close()
	}
	if err != nil {
		s.errorf("data %s: %v", *dir, err)
		return exitFail
	}
	if db := m.City().DB(); db != nil {
		fmt.Fprintf(s.out, "geo: %s\n", db.Info())
	}
	if db := m.ASN().DB(); db != nil {
		fmt.Fprintf(s.out, "asn: %s (%d ranges)\n", db.Info(), db.Len())
	}
	for _, st := range m.Status()[2:] {
		fmt.Fprintf(s.out, "%s: %s\n", st.Name, feedSummary(st))
	}
	for _, miss := range m.Missing() {
		fmt.Fprintf(s.out, "missing: %s\n", miss)
	}
	fmt.Fprintf(s.out, "reference data in %s: ok (8.8.8.8 resolves to US, AS15169)\n", *dir)
	return exitOK
}
