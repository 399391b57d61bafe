package eval

import (
	"context"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/engine/setup"
	"github.com/verdictrisk/verdict/feeds/refdata"
	"github.com/verdictrisk/verdict/rules"
)

// DataEngine returns an EngineFunc over opened reference data: every call
// builds an engine with fresh in-memory profiles and counters through
// engine/setup, as verdictd does, sharing the feeds of m.
func DataEngine(m *refdata.Manager) EngineFunc {
	return func(set *rules.Set, now func() time.Time) (*engine.Engine, error) {
		st, err := setup.New(context.Background(), setup.Options{Rules: set, Feeds: m,
			Tune: func(o *engine.Options) { o.Now = now }})
		if err != nil {
			return nil, err
		}
		return st.Engine, nil
	}
}
