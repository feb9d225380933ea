package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
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
	newProcessGroup(cmd)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// newProcessGroup makes cmd the leader of a process group of its own.
func newProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// reapOrphans stops the processes the last go test, whose process group is group, left
// behind: first what is left of that group, then, once it is empty (only then are the
// test binary's children re-parented here, see becomeSubreaper), the processes that are
// now this process's children, but for the commands other runs are running (see
// startCommand): SIGTERM, then SIGKILL after 10 s. It only ever signals descendants of
// this process, by their id or their group, and only ever waits for those it signals.
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

// reapExited collects the exit status of every orphan that has exited: a test binary
// whose go test was killed ends as a zombie child of this process. It never waits for
// a command a run started: that run's own Wait collects it.
func reapExited() {
	for _, pid := range children() {
		var status syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &status, syscall.WNOHANG, nil)
	}
}

// started are the commands runs are running (startCommand), which are this process's
// children but no orphans.
var started = struct {
	sync.Mutex
	pids map[int]bool
	kept map[int]bool // the shared API servers' processes (keepChildren)
}{pids: map[int]bool{}, kept: map[int]bool{}}

// keepChildren says that pids are this process's own for the whole run (the shared API
// servers): reapOrphans leaves them alone.
func keepChildren(pids []int) {
	started.Lock()
	defer started.Unlock()
	for _, pid := range pids {
		started.kept[pid] = true
	}
}

// startCommand starts cmd and records it as running until done is called; children
// does not list it meanwhile. The lock is held across the start, so that no other run
// takes the new child for an orphan before it is recorded.
func startCommand(cmd *exec.Cmd) (done func(), err error) {
	started.Lock()
	defer started.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid
	started.pids[pid] = true
	return func() {
		started.Lock()
		defer started.Unlock()
		delete(started.pids, pid)
	}, nil
}

// children lists the processes whose parent is this process, but for the commands runs
// are running.
func children() []int {
	started.Lock()
	defer started.Unlock()
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
		if ppid, err := strconv.Atoi(string(fields[1])); err == nil && ppid == self && !started.pids[pid] && !started.kept[pid] {
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
