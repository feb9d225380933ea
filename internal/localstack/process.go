package localstack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// stopGrace is how long a child process gets between SIGTERM and SIGKILL.
const stopGrace = 20 * time.Second

// Process is a child process whose output goes to a log file.
type Process struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	// done is closed when the process has exited, with waitErr set.
	done    chan struct{}
	waitErr error
}

// StartProcess runs bin/<name> with args in the data directory, logging to
// <logs>/<name>.log; Stop stops it with the other children.
func (s *Stack) StartProcess(name string, args []string, env []string) (*Process, error) {
	return s.startProcess(name, args, s.DataDir, env)
}

// PID is the process id of the running child.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// WaitHealthy polls url until it answers 200 (a child's health endpoint).
func (p *Process) WaitHealthy(ctx context.Context, url string) error {
	return p.waitHealthy(ctx, url)
}

// startProcess runs bin/<name> with args in dir, logging to <logs>/<name>.log.
func (s *Stack) startProcess(name string, args []string, dir string, env []string) (*Process, error) {
	bin := filepath.Join(s.BinDir, name)
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s not found in %s: run `make dev`, which builds it", name, s.BinDir)
	}
	logPath := filepath.Join(s.Logs(), name+".log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, log, log
	cmd.Env = append(os.Environ(), env...)
	// Its own process group: a Ctrl-C in the terminal reaches `capt dev`, which then
	// stops the children in order, instead of reaching everyone at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	s.procs = append(s.procs, p)
	return p, nil
}

// stop sends SIGTERM, and SIGKILL if the process has not ended after stopGrace.
func (p *Process) stop() error {
	defer func() { _ = p.log.Close() }()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s and was killed", p.name, stopGrace)
	}
}

// waitHealthy polls url until it answers 200, the process exits, or startupTimeout passes.
// A child's health endpoint is the only way to know it is up: there is nothing to watch.
func (p *Process) waitHealthy(ctx context.Context, url string) error {
	httpClient := &http.Client{
		Timeout: 2 * time.Second,
		// Health endpoints of the local children serve self-signed certificates, if any.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	deadline := time.Now().Add(startupTimeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := httpClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was healthy (see %s): %w", p.name, p.log.Name(), p.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %s; see %s", p.name, startupTimeout, p.log.Name())
		}
	}
}

// FreePort returns a TCP port on loopback that nothing listens on right now.
func FreePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return "", errors.New("finding a free port: not a TCP address")
	}
	return strconv.Itoa(addr.Port), nil
}
