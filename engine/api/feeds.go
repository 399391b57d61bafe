package api

import (
	"net/http"

	"github.com/verdictrisk/verdict/feeds/refdata"
)

// FeedStatus reports the reference data feeds; *refdata.Manager implements
// it.
type FeedStatus interface {
	Status() []refdata.Status
}

// ServeFeeds adds GET /v1/feeds: every feed's sources, entry count, age,
// last success and last error, as {"feeds": [...]} (see refdata.Status).
// It reveals no addresses; sources are shown with URL secrets removed.
func (s *Server) ServeFeeds(f FeedStatus) {
	s.route("/v1/feeds", "feeds", http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"feeds": f.Status()})
	})
}
