package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/capt-dev/capt/bench/internal/benchkit"
)

// result is one N's figures.
type result struct {
	n                        int
	toInitialized, toDeleted time.Duration
	endpointDelays           []time.Duration
	creation, rest, deletion phase
	left                     int
}

// phase is what CAPT's manager did during one phase.
type phase struct {
	requests   requests
	reconciles counts
	cpu        time.Duration
	// rssPeak is the peak resident memory so far (for rest: the resident memory at its end).
	rssPeak int64
	d       time.Duration
}

func (p phase) cpuPercent() float64 { return 100 * p.cpu.Seconds() / p.d.Seconds() }

func perCluster(total, n int) string { return fmt.Sprintf("%.1f", float64(total)/float64(n)) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// table renders every result as one markdown table, one column per N.
func table(results []result, rest, delay time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %d CPUs (%s/%s). Simulated apply/destroy time per Workspace: %s. Rest: %s.\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, delay, rest)
	b.WriteString("| figure |")
	for _, r := range results {
		fmt.Fprintf(&b, " N = %d |", r.n)
	}
	b.WriteString("\n|---|")
	for range results {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	row := func(name string, cell func(r result) string) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, r := range results {
			fmt.Fprintf(&b, " %s |", cell(r))
		}
		b.WriteString("\n")
	}
	row("time until all control planes are initialized", func(r result) string { return r.toInitialized.Round(100 * time.Millisecond).String() })
	row("Workspace Ready → Cluster endpoint set, p50", func(r result) string { return benchkit.Percentile(r.endpointDelays, 50).String() })
	row("Workspace Ready → Cluster endpoint set, p99", func(r result) string { return benchkit.Percentile(r.endpointDelays, 99).String() })
	row("API requests during creation, by verb", func(r result) string { return r.creation.requests.byVerb.String() })
	row("writes per cluster during creation", func(r result) string { return perCluster(r.creation.requests.byVerb.writes(), r.n) })
	row("writes during creation, by resource", func(r result) string { return r.creation.requests.writesByTarget.String() })
	row("writes refused as conflicts during creation", func(r result) string { return fmt.Sprint(r.creation.requests.conflicts) })
	row("reconciles during creation", func(r result) string { return r.creation.reconciles.String() })
	row("reconciles per cluster during creation", func(r result) string { return perCluster(r.creation.reconciles.total(), r.n) })
	row("CPU during creation", func(r result) string {
		return fmt.Sprintf("%.1f s (%.0f %% of one core)", r.creation.cpu.Seconds(), r.creation.cpuPercent())
	})
	row("peak RSS by the end of creation", func(r result) string { return mib(r.creation.rssPeak) })
	row("API requests at rest, by verb", func(r result) string { return r.rest.requests.byVerb.String() })
	row("writes at rest", func(r result) string { return fmt.Sprint(r.rest.requests.byVerb.writes()) })
	row("reconciles at rest", func(r result) string { return r.rest.reconciles.String() })
	row("CPU at rest", func(r result) string {
		return fmt.Sprintf("%.1f s (%.2f %% of one core)", r.rest.cpu.Seconds(), r.rest.cpuPercent())
	})
	row("RSS at the end of rest", func(r result) string { return mib(r.rest.rssPeak) })
	row("time until all are deleted", func(r result) string { return r.toDeleted.Round(100 * time.Millisecond).String() })
	row("API requests during deletion, by verb", func(r result) string { return r.deletion.requests.byVerb.String() })
	row("writes per cluster during deletion", func(r result) string { return perCluster(r.deletion.requests.byVerb.writes(), r.n) })
	row("writes during deletion, by resource", func(r result) string { return r.deletion.requests.writesByTarget.String() })
	row("writes refused as conflicts during deletion", func(r result) string { return fmt.Sprint(r.deletion.requests.conflicts) })
	row("reconciles during deletion", func(r result) string { return r.deletion.reconciles.String() })
	row("reconciles per cluster during deletion", func(r result) string { return perCluster(r.deletion.reconciles.total(), r.n) })
	row("peak RSS over the whole run", func(r result) string { return mib(r.deletion.rssPeak) })
	row("objects left after deletion", func(r result) string { return fmt.Sprint(r.left) })
	return b.String()
}

const (
	docsBegin = "<!-- scale bench: begin (written by make bench) -->"
	docsEnd   = "<!-- scale bench: end -->"
)

// writeDocs replaces the benchmark's section of a markdown file, between its markers.
func writeDocs(path, section string) error {
	return benchkit.WriteDocs(path, docsBegin, docsEnd, "make bench", section)
}
