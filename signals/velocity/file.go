package velocity

import (
	"errors"
	"fmt"
	"os"
)

// SaveFile writes a snapshot to path: to a file beside it first, synced,
// then renamed over it, so that a crash mid-write leaves the previous
// snapshot whole.
func (s *Store) SaveFile(path string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("velocity snapshot: %w", err)
	}
	if err := s.Snapshot(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("velocity snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("velocity snapshot: %w", err)
	}
	return nil
}

// RestoreFile restores the snapshot at path and reports whether there was
// one: a missing file is no error, the store stays empty.
func (s *Store) RestoreFile(path string) (bool, error) {
	f, err := os.Open(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("velocity snapshot: %w", err)
	}
	defer f.Close()
	return true, s.Restore(f)
}
