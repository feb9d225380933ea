package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/capt-dev/capt/internal/testenv"
)

// Shared API servers. A test binary of a package that allows it (testenv.Reusable)
// brings its worker's server back to the state it had when it started and runs on it
// instead of starting one (internal/testenv/shared.go): about 7 CPU-seconds and 10 to
// 20 s of a loaded machine saved per run. Each server runs in a process of its own
// (mutate -serve DIR), so that mutate's cleanup of what a test run left (reapOrphans)
// tells it apart, and it stops when mutate goes (its stdin closes).

// sharedServerEnv names a shared server to a test binary.
const sharedServerEnv = testenv.SharedServerEnv

// server is one shared server, started in the background.
type server struct {
	dir   string
	ready chan struct{} // closed once started (or failed: err)
	err   error
	cmd   *exec.Cmd
	stdin io.Closer
}

// startServers starts n servers in work/server-<i>, at once and in the background; a
// worker waits for its own (env) before its first run.
func startServers(work string, n int) []*server {
	servers := make([]*server, n)
	for i := range servers {
		s := &server{dir: filepath.Join(work, fmt.Sprintf("server-%d", i)), ready: make(chan struct{})}
		servers[i] = s
		go func() {
			defer close(s.ready)
			s.err = s.start()
		}()
	}
	return servers
}

func (s *server) start() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	log, err := os.Create(s.dir + ".log")
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-serve", s.dir) //nolint:gosec // this program, serving a directory of its own
	cmd.Stderr = log
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	newProcessGroup(cmd) // not a test run's group: reapOrphans stops those
	if err := cmd.Start(); err != nil {
		return err
	}
	keepChildren([]int{cmd.Process.Pid})
	s.cmd, s.stdin = cmd, stdin
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = stdin.Close()
		_ = cmd.Wait()
		return fmt.Errorf("shared API server in %s did not start (its log: %s.log)", s.dir, s.dir)
	}
	return nil
}

// env is the worker's environment addition: its server, once started; none when it
// could not start (the test binaries then start their own, as without -share).
func (s *server) env() []string {
	<-s.ready
	if s.err != nil {
		out.printf("mutate: %v; this worker's test binaries start their own\n", s.err)
		return nil
	}
	return []string{sharedServerEnv + "=" + s.dir}
}

// stop stops the server and waits for it.
func (s *server) stop() {
	<-s.ready
	if s.cmd == nil {
		return
	}
	_ = s.stdin.Close()
	_ = s.cmd.Wait()
}

// serve is mutate -serve DIR: it starts a shared server, says "ready" on stdout, and
// stops it when its stdin closes (mutate is done or gone) or on a signal.
func serve(dir string) int {
	// envtest logs through controller-runtime; nothing of it is needed here.
	ctrllog.SetLogger(logr.Discard())
	s, err := testenv.StartServer(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate -serve:", err)
		return 1
	}
	fmt.Println("ready")
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
	if err := s.Stop(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		fmt.Fprintln(os.Stderr, "mutate -serve:", err)
		return 1
	}
	return 0
}

// envWith is the tests' environment for m's run, with the worker's server when its
// test binaries run one after the other: always for a group's binaries (runBinaries),
// for go test only with one package (it would run two packages' binaries at once).
func (r *runner) envWith(m *mutation, server []string, switched bool) []string {
	env := slices.Clone(r.env)
	if switched || len(m.Packages) == 1 {
		env = append(env, server...)
	}
	return env
}
