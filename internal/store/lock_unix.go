//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockDataDir takes an exclusive flock on dir/greenroom.lock without
// waiting and writes this process's id into it. The kernel drops the lock
// when the process exits, however it exits, so a crash leaves no stale lock.
// Locks belong to the open file, so a second Open in the same process is
// refused too.
func lockDataDir(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close() // the lock error is the one to report
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, dataDirInUse(dir, readPID(path))
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(pid, 0)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("store: write lock file: %w", err), f.Close())
	}
	// The file is left in place on close: removing it would let a process
	// that opened it just before lock a file no one else can see.
	return f.Close, nil
}
