package main

import (
	"log/slog"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/feeds/refdata"
)

// dataOptions opens the reference data in dir and returns the engine options
// that use it, and a function that closes it.
//
// TODO: use the engine builder shared with verdictd once it lands (issue 4).
func dataOptions(dir string) (engine.Options, func(), error) {
	data, err := refdata.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return engine.Options{}, nil, err
	}
	opts := engine.Options{Devices: data.Devices}
	if data.City != nil {
		opts.City = data.City
	}
	if data.ASN != nil {
		opts.ASN = data.ASN
	}
	if data.Disposable != nil {
		opts.Disposable = data.Disposable
	}
	return opts, func() { data.Close() }, nil
}
