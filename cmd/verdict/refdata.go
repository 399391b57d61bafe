package main

import (
	"context"
	"log/slog"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/feeds/refdata"
)

// dataOptions opens the reference data in dir and returns engine options
// with its signal sources (for rule tests and replay, whose engines keep
// state of their own), and a function that closes it.
func dataOptions(ctx context.Context, dir string) (engine.Options, func(), error) {
	m, err := refdata.Open(ctx, refdata.Options{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return engine.Options{}, nil, err
	}
	return setup.Sources(m), func() { m.Close() }, nil
}
