package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/capt-dev/capt/internal/localstack"
)

// managerUser is the identity CAPT's manager runs as, to tell its requests apart.
const managerUser = "capt-manager"

// manager is CAPT's manager, a child process.
type manager struct {
	proc    *localstack.Process
	metrics string
}

// startManager runs bin/capt manager with its production defaults plus args.
func startManager(ctx context.Context, stack *localstack.Stack, args []string) (*manager, error) {
	kubeconfig, err := stack.UserKubeconfig(managerUser)
	if err != nil {
		return nil, err
	}
	port, err := localstack.FreePort()
	if err != nil {
		return nil, err
	}
	health, err := localstack.FreePort()
	if err != nil {
		return nil, err
	}
	proc, err := stack.StartProcess("capt", append([]string{"manager",
		"--diagnostics-address=127.0.0.1:" + port, "--insecure-diagnostics",
		"--health-addr=127.0.0.1:" + health,
	}, args...), []string{"KUBECONFIG=" + kubeconfig})
	if err != nil {
		return nil, err
	}
	if err := proc.WaitHealthy(ctx, "http://127.0.0.1:"+health+"/readyz"); err != nil {
		return nil, err
	}
	return &manager{proc: proc, metrics: "http://127.0.0.1:" + port + "/metrics"}, nil
}

// sample is the manager's counters at one moment.
type sample struct {
	reconciles counts
	// cpu is user+system CPU time; rss and rssPeak (VmHWM) are resident memory.
	cpu          time.Duration
	rss, rssPeak int64
}

func (m *manager) sample() (sample, error) {
	var s sample
	var err error
	if s.reconciles, err = m.reconciles(); err != nil {
		return s, err
	}
	if s.cpu, err = cpuTime(m.proc.PID()); err != nil {
		return s, err
	}
	s.rss, s.rssPeak, err = memory(m.proc.PID())
	return s, err
}

// reconciles reads controller_runtime_reconcile_total per controller from the metrics
// endpoint.
func (m *manager) reconciles() (counts, error) {
	resp, err := http.Get(m.metrics)
	if err != nil {
		return nil, fmt.Errorf("reading manager metrics: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	out := counts{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "controller_runtime_reconcile_total{") {
			continue
		}
		labels, value, _ := strings.Cut(strings.TrimPrefix(line, "controller_runtime_reconcile_total{"), "} ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(labels, ",") {
			if k, val, ok := strings.Cut(l, "="); ok && k == "controller" {
				out[strings.Trim(val, `"`)] += int(v)
			}
		}
	}
	return out, sc.Err()
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTick = 100

func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading CPU time: %w", err)
	}
	// Fields after the command name, which is in parentheses and may contain spaces.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTick, nil
}

func memory(pid int) (rss, peak int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading memory: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak, nil
}
