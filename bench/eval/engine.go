package eval

import (
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/feeds/refdata"
	"github.com/verdictrisk/verdict/rules"
)

// DataEngine returns an EngineFunc over opened reference data: every call
// builds an engine with fresh in-memory profiles and counters.
//
// TODO: build through the engine builder verdictd and the CLI share once it exists (issue 4).
func DataEngine(d *refdata.Data) EngineFunc {
	return func(set *rules.Set, now func() time.Time) (*engine.Engine, error) {
		opts := engine.Options{Rules: set, Devices: d.Devices, Now: now}
		// Only non-nil sources go into the interfaces, so that a missing
		// one reads as missing rather than as a nil pointer.
		if d.City != nil {
			opts.City = d.City
		}
		if d.ASN != nil {
			opts.ASN = d.ASN
		}
		if d.Disposable != nil {
			opts.Disposable = d.Disposable
		}
		return engine.New(opts)
	}
}
