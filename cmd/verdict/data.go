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
	if err := refdata.Check(*dir); err != nil {
		s.errorf("data %s: %v", *dir, err)
		return exitFail
	}
	d, err := refdata.Open(*dir, nil)
	if err != nil {
		s.errorf("data %s: %v", *dir, err)
		return exitFail
	}
	defer d.Close()
	if d.City != nil {
		fmt.Fprintf(s.out, "geo: %s\n", d.City.Info())
	}
	if d.ASN != nil {
		fmt.Fprintf(s.out, "asn: %s (%d ranges)\n", d.ASN.Info(), d.ASN.Len())
	}
	for _, m := range d.Missing {
		fmt.Fprintf(s.out, "missing: %s\n", m)
	}
	fmt.Fprintf(s.out, "reference data in %s: ok (8.8.8.8 resolves to US, AS15169)\n", *dir)
	return exitOK
}
