package opensearch

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the server die with the test process, whatever
// ends it.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
