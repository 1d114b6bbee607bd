//go:build linux

package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
)

// watchDir calls nudge whenever the status file's directory changes; the RDB
// writes by rename, so the file itself is a new inode each time. Failing to
// watch is not fatal: the poll still reports, notifications only cut latency.
func watchDir(ctx context.Context, file string, nudge func()) (stop func()) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return func() {}
	}
	mask := uint32(syscall.IN_CREATE | syscall.IN_MOVED_TO | syscall.IN_CLOSE_WRITE | syscall.IN_MODIFY | syscall.IN_DELETE)
	if _, err := syscall.InotifyAddWatch(fd, filepath.Dir(file), mask); err != nil {
		syscall.Close(fd)
		return func() {}
	}
	// Non-blocking, so the runtime poller waits on it and Close ends the read.
	f := os.NewFile(uintptr(fd), "inotify")
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if err != nil || n <= 0 || ctx.Err() != nil {
				return
			}
			nudge()
		}
	}()
	return func() { f.Close() }
}
