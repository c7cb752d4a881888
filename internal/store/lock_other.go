//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// lockDataDir is the fallback for systems without flock: the lock is the
// existence of dir/greenroom.lock, created exclusively and removed on Close.
// A process that crashes leaves it behind; remove it by hand once no
// greenroom process is running, as the error says.
func lockDataDir(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w; if no greenroom process is running, remove %s", dataDirInUse(dir, readPID(path)), path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: create lock file: %w", err)
	}
	_, werr := f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		return nil, errors.Join(fmt.Errorf("store: write lock file: %w", err), os.Remove(path))
	}
	return func() error { return os.Remove(path) }, nil
}
