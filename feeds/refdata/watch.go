package refdata

import (
	"context"
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// watch starts one fsnotify watcher on the folders of every file source and
// returns how many folders it watches. Folders rather than files are
// watched, because the usual ways to replace a file — rename a new one over
// it, or delete and recreate it — end a watch on the file itself. An event
// on a source's name (create, write, rename, remove, chmod) asks its feed to
// reload once the file has settled.
//
// TODO: a source that is a symlink is watched at the link, not at its target's folder.
// TODO: a folder missing at start is never watched; its files are found by the retry schedule only.
func (m *Manager) watch(ctx context.Context, wg *sync.WaitGroup) (int, error) {
	byPath := map[string][]*Feed{}
	dirs := map[string]bool{}
	for _, f := range m.feeds {
		for _, s := range f.srcs {
			if s.path == "" {
				continue
			}
			abs, err := filepath.Abs(s.path)
			if err != nil {
				continue
			}
			byPath[abs] = append(byPath[abs], f)
			dirs[filepath.Dir(abs)] = true
		}
	}
	if len(byPath) == 0 {
		return 0, nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return 0, err
	}
	n := 0
	for d := range dirs {
		if err := w.Add(d); err != nil {
			m.log.Debug("feed folder not watched", "folder", d, "err", err)
			continue
		}
		n++
	}
	wg.Go(func() {
		defer w.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				for _, f := range byPath[filepath.Clean(ev.Name)] {
					f.notify()
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				m.log.Warn("feed watcher", "err", err)
			}
		}
	})
	return n, nil
}
