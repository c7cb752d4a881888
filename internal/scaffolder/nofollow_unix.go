//go:build unix

package scaffolder

import "syscall"

// syscallNoFollow makes opening a file that is a symlink fail.
const syscallNoFollow = syscall.O_NOFOLLOW
