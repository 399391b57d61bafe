package reload

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultSettle is how long Watch waits after the last change before it
// reloads: editors and deploy tools write a file in several steps (write,
// rename, chmod), and a whole folder in many.
const DefaultSettle = 300 * time.Millisecond

// Watch reloads whenever a file changes in a folder that holds the running
// set's files: its rule folder, and the folders of its list files. It
// returns when ctx ends. settle is how long to wait after the last change
// (0: DefaultSettle). Changes that leave the files as they were (an
// editor's swap file, a touch) reload nothing: the set's version is a hash
// of its files.
//
// TODO: optional checksum polling, for file systems that send no change
// events (NFS, some container volume mounts); SIGHUP covers them today.
func (m *Manager) Watch(ctx context.Context, root string, settle time.Duration) error {
	if settle <= 0 {
		settle = DefaultSettle
	}
	if st, err := os.Stat(root); err == nil && !st.IsDir() {
		root = filepath.Dir(root) // a single rule file: watch its folder
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch rules: %w", err)
	}
	defer w.Close()
	watched := m.watch(w, root, nil)
	timer := time.NewTimer(settle)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Remove|fsnotify.Rename) != 0 {
				timer.Reset(settle)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			m.log.Warn("watching the rule files", "err", err)
		case <-timer.C:
			m.Reload(TriggerFiles)
			watched = m.watch(w, root, watched)
		}
	}
}

// watch adds the folders of the running set's files (and root) to w and
// returns them; folders no longer needed are dropped.
func (m *Manager) watch(w *fsnotify.Watcher, root string, had []string) []string {
	dirs := []string{root}
	if set := m.Running(); set != nil && set.Bundle() != nil {
		b := set.Bundle()
		for name := range b.Files {
			d := filepath.Dir(filepath.Join(b.Root, name))
			if !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	for _, d := range dirs {
		if slices.Contains(had, d) {
			continue
		}
		if err := w.Add(d); err != nil {
			m.log.Warn("cannot watch a rule folder; reload it with SIGHUP", "dir", d, "err", err)
		}
	}
	for _, d := range had {
		if !slices.Contains(dirs, d) {
			_ = w.Remove(d) // it may be gone already
		}
	}
	return dirs
}
