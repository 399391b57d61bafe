package refdata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Errors a source fetch wraps; callers tell them apart with errors.Is.
var (
	// ErrNotFound: the file does not exist (or the URL answered 404/410).
	ErrNotFound = errors.New("source not found")
	// ErrChanging: the file changed while it was being read; it is read
	// again once it has settled.
	ErrChanging = errors.New("file changed while it was read")
	// ErrTooLarge: the source is larger than MaxSourceBytes.
	ErrTooLarge = errors.New("source too large")
)

// MaxSourceBytes bounds what one URL source may send: the largest public
// lists (FireHOL level 4) are a few MB.
const MaxSourceBytes = 64 << 20

// source is one file or URL of a feed, with what was last loaded from it.
type source struct {
	spec string // as configured, for status (redacted when shown)
	path string // the resolved file, or ""
	url  string // or the URL
	// cache is where the last good download of a URL is kept, so that a
	// restart while the URL is down still starts from the last good copy;
	// "" keeps none.
	cache string

	// What the copy in use was read from; written by the feed's single
	// loader only.
	loaded   bool
	state    fileState
	etag     string
	modified string
	data     []byte // URL sources: the body in use, for re-parses
}

// fileState identifies a version of a file without reading it.
type fileState struct {
	size  int64
	mtime time.Time
	ino   uint64
}

// fetched is one read of a source, committed to it if the load succeeds.
type fetched struct {
	data    []byte
	modTime time.Time
	// unchanged: the source says nothing changed since the copy in use. A
	// file is then not read (data is nil); a URL's data is the body in use.
	unchanged bool
	state     fileState
	etag      string
	modified  string
	fromCache bool
}

func statFile(path string) (fileState, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fileState{}, fmt.Errorf("%s: %w", path, ErrNotFound)
		}
		return fileState{}, err
	}
	if st.IsDir() {
		return fileState{}, fmt.Errorf("%s is a directory", path)
	}
	fs := fileState{size: st.Size(), mtime: st.ModTime()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		fs.ino = sys.Ino
	}
	return fs, nil
}

// fetch reads the source. Unless force is set, a file whose size, time and
// inode are those of the copy in use is reported unchanged without being
// read. A file that changes between the stat before and after the read is
// ErrChanging: a writer is still at it.
func (s *source) fetch(ctx context.Context, c *http.Client, force bool) (fetched, error) {
	if s.url != "" {
		return s.fetchURL(ctx, c, force)
	}
	before, err := statFile(s.path)
	if err != nil {
		return fetched{}, err
	}
	if !force && s.loaded && before == s.state {
		return fetched{unchanged: true, modTime: before.mtime, state: before}, nil
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return fetched{}, err
	}
	after, err := statFile(s.path)
	if err != nil || after != before || int64(len(data)) != before.size {
		return fetched{}, fmt.Errorf("%s: %w", s.path, ErrChanging)
	}
	return fetched{data: data, modTime: before.mtime, state: before}, nil
}

func (s *source) fetchURL(ctx context.Context, c *http.Client, force bool) (fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return fetched{}, err
	}
	req.Header.Set("User-Agent", "verdict-feeds/1")
	if !force && s.data != nil {
		if s.etag != "" {
			req.Header.Set("If-None-Match", s.etag)
		}
		if s.modified != "" {
			req.Header.Set("If-Modified-Since", s.modified)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		// The error quotes the URL; keep a licence key in its query out.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap()
		}
		return fetched{}, fmt.Errorf("%s: %w", redact(s.url), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && s.data != nil:
		return fetched{unchanged: true, data: s.data, modTime: httpTime(resp, time.Time{}),
			etag: s.etag, modified: s.modified}, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return fetched{}, fmt.Errorf("%s: HTTP %d: %w", redact(s.url), resp.StatusCode, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return fetched{}, fmt.Errorf("%s: HTTP %d", redact(s.url), resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxSourceBytes+1))
	if err != nil {
		return fetched{}, fmt.Errorf("%s: read body: %w", redact(s.url), err)
	}
	if len(data) > MaxSourceBytes {
		return fetched{}, fmt.Errorf("%s: more than %d bytes: %w", redact(s.url), MaxSourceBytes,
			ErrTooLarge)
	}
	return fetched{data: data, modTime: httpTime(resp, time.Now()),
		etag: resp.Header.Get("ETag"), modified: resp.Header.Get("Last-Modified")}, nil
}

// httpTime is the response's Last-Modified time, or def.
func httpTime(resp *http.Response, def time.Time) time.Time {
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		return t
	}
	return def
}

// fromCache reads the last good download of a URL source.
func (s *source) fromCache() (fetched, error) {
	if s.cache == "" {
		return fetched{}, ErrNotFound
	}
	st, err := statFile(s.cache)
	if err != nil {
		return fetched{}, err
	}
	data, err := os.ReadFile(s.cache)
	if err != nil {
		return fetched{}, err
	}
	return fetched{data: data, modTime: st.mtime, fromCache: true}, nil
}

// commit records f as the copy in use, and keeps a new download in the
// cache (beside it, then renamed, so a crash never leaves half a file).
func (s *source) commit(f fetched) error {
	s.loaded, s.state, s.etag, s.modified = true, f.state, f.etag, f.modified
	if s.url == "" {
		// A file's bytes are not kept: when a sibling source changes, the
		// file is read again, which costs less than holding a second copy.
		return nil
	}
	s.data = f.data
	if s.cache == "" || f.unchanged || f.fromCache {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.cache), 0o700); err != nil {
		return err
	}
	tmp := s.cache + ".tmp"
	if err := os.WriteFile(tmp, f.data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.cache)
}
