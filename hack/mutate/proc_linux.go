package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

// becomeSubreaper makes the processes the tests leave behind children of this one.
// envtest starts kube-apiserver and etcd in process groups of their own and stops them
// from TestMain; a test binary that dies at its -timeout never gets there, and they
// would keep running (on a machine other people use) after it.
func becomeSubreaper() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", errno)
	}
	return nil
}

// ownProcessGroup puts go test and the test binaries in a process group of their own,
// which is stopped whole when the run is cancelled.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// reapOrphans stops the processes the last go test, whose process group is group, left
// behind: first what is left of that group, then, once it is empty (only then are the
// test binary's children re-parented here, see becomeSubreaper), the processes that are
// now this process's children: SIGTERM, then SIGKILL after 10 s. It only ever signals
// descendants of this process, by their id or their group.
func reapOrphans(log io.Writer, group int) {
	if group > 0 {
		for deadline := time.Now().Add(10 * time.Second); syscall.Kill(-group, 0) == nil && time.Now().Before(deadline); {
			_ = syscall.Kill(-group, syscall.SIGKILL)
			reapExited()
			time.Sleep(50 * time.Millisecond)
		}
	}
	reapExited()
	pids := children()
	if len(pids) == 0 {
		return
	}
	for _, pid := range pids {
		fmt.Fprintf(log, "mutate: stopping process %d (%s) left by the tests\n", pid, command(pid))
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for {
			var status syscall.WaitStatus
			if got, err := syscall.Wait4(pid, &status, syscall.WNOHANG, nil); got == pid || err != nil {
				break
			}
			if time.Now().After(deadline) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				_, _ = syscall.Wait4(pid, &status, 0, nil)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// reapExited collects the exit status of every child that has exited: a test binary
// whose go test was killed ends as a zombie child of this process.
func reapExited() {
	for {
		var status syscall.WaitStatus
		if pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil); pid <= 0 || err != nil {
			return
		}
	}
}

// children lists the processes whose parent is this process.
func children() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := bytes.Fields(stat[i+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(string(fields[1])); err == nil && ppid == self {
			pids = append(pids, pid)
		}
	}
	return pids
}

func command(pid int) string {
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "?"
	}
	return string(bytes.TrimSpace(comm))
}
