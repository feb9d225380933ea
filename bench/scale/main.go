// Command scale measures CAPT at N clusters on one machine: a real kube-apiserver and
// etcd, CAPT's manager as a separate process (bin/capt manager, production flags), and a
// simulated Workspace executor in this program that plays provider-terraform (outputs
// and Ready after a delay, a finalizer held for a delay on delete) and Cluster API (it
// creates the Clusters with the owner references core sets). The figures are CAPT's
// alone: its API requests come from kube-apiserver's audit log (CAPT has its own user),
// its reconciles from its metrics endpoint, its CPU and memory from /proc.
//
//	go run ./bench/scale -n 10,100,1000 -rest 5m -docs docs/benchmarks.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/localstack"
)

func main() {
	ctrl.SetLogger(logr.Discard())
	sizes := flag.String("n", "10,100,1000", "comma-separated numbers of clusters, one run each")
	rest := flag.Duration("rest", 5*time.Minute, "how long to stay at rest once all are initialized")
	delay := flag.Duration("apply-delay", 2*time.Second, "simulated Terraform apply and destroy time per Workspace")
	docs := flag.String("docs", "", "markdown file whose scale section is replaced by the results (docs/benchmarks.md)")
	managerArgs := flag.String("manager-args", "", "extra flags for capt manager, space-separated")
	flag.Parse()
	fields := strings.Split(*sizes, ",")
	results := make([]result, 0, len(fields))
	for _, s := range fields {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "scale bench: bad -n %q\n", s)
			os.Exit(2)
		}
		r, err := run(config{n: n, rest: *rest, delay: *delay, managerArgs: strings.Fields(*managerArgs)})
		if err != nil {
			fmt.Fprintf(os.Stderr, "scale bench at N=%d: %v\n", n, err)
			os.Exit(1)
		}
		results = append(results, r)
		fmt.Println(table(results, *rest, *delay))
	}
	if *docs != "" {
		if err := writeDocs(*docs, table(results, *rest, *delay)); err != nil {
			fmt.Fprintln(os.Stderr, "scale bench:", err)
			os.Exit(1)
		}
	}
}

type config struct {
	n           int
	rest, delay time.Duration
	managerArgs []string
}

// run measures one N on a fresh API server.
func run(cfg config) (result, error) {
	r := result{n: cfg.n}
	root, err := localstack.RepoRoot()
	if err != nil {
		return r, err
	}
	dataDir, err := os.MkdirTemp("", "capt-scale-")
	if err != nil {
		return r, err
	}
	defer func() { _ = os.RemoveAll(dataDir) }()
	audit := filepath.Join(dataDir, "audit.log")
	stack, err := localstack.StartAPIServer(localstack.Options{Root: root, BinDir: filepath.Join(root, "bin"),
		DataDir: filepath.Join(dataDir, "stack"), AuditLog: audit})
	if err != nil {
		return r, err
	}
	defer func() { _ = stack.Stop() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	m, err := startManager(ctx, stack, cfg.managerArgs)
	if err != nil {
		return r, err
	}
	// The bench's own client must not be what slows creation down.
	restCfg := rest.CopyConfig(stack.Config)
	restCfg.QPS, restCfg.Burst = 1000, 2000
	c, err := client.New(restCfg, client.Options{Scheme: stack.Client.Scheme()})
	if err != nil {
		return r, err
	}
	ex, err := startExecutor(ctx, restCfg, c, cfg.delay)
	if err != nil {
		return r, err
	}
	if err := createTemplates(ctx, c); err != nil {
		return r, err
	}
	log := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "N=%d %s "+format+"\n", append([]any{cfg.n, time.Now().Format("15:04:05")}, args...)...)
	}

	// Creation: until every control plane is initialized.
	p0, err := m.sample()
	if err != nil {
		return r, err
	}
	start := time.Now()
	if err := createClusters(ctx, c, cfg.n); err != nil {
		return r, err
	}
	log("created %d clusters in %s", cfg.n, time.Since(start).Round(time.Millisecond))
	if err := waitFor(ctx, 30*time.Minute, func() (bool, error) {
		n, err := countInitialized(ctx, c)
		return n == cfg.n, err
	}); err != nil {
		return r, fmt.Errorf("waiting for initialized control planes: %w", err)
	}
	created := time.Now()
	r.toInitialized = created.Sub(start)
	r.endpointDelays = ex.endpointDelays()
	log("all initialized after %s", r.toInitialized.Round(time.Millisecond))

	// Rest: the last writes of creation settle (a status patch can trail initialization),
	// then nothing may be written.
	time.Sleep(10 * time.Second)
	p1, err := m.sample()
	if err != nil {
		return r, err
	}
	restStart := time.Now()
	time.Sleep(cfg.rest)
	restEnd := time.Now()
	p2, err := m.sample()
	if err != nil {
		return r, err
	}
	log("rested %s", cfg.rest)

	// Deletion: until nothing of any cluster is left.
	delStart := time.Now()
	if err := deleteClusters(ctx, c); err != nil {
		return r, err
	}
	if err := waitFor(ctx, 30*time.Minute, func() (bool, error) {
		left, err := countLeft(ctx, c)
		return left == 0, err
	}); err != nil {
		left, _ := countLeft(ctx, c)
		r.left = left
		return r, fmt.Errorf("waiting for deletion (%d objects left): %w", left, err)
	}
	delEnd := time.Now()
	r.toDeleted = delEnd.Sub(delStart)
	p3, err := m.sample()
	if err != nil {
		return r, err
	}
	log("all deleted after %s", r.toDeleted.Round(time.Millisecond))

	requests, err := auditRequests(audit, managerUser, []window{{start, created}, {restStart, restEnd}, {delStart, delEnd}})
	if err != nil {
		return r, err
	}
	r.creation = phase{requests: requests[0], reconciles: p1.reconciles.minus(p0.reconciles), cpu: p1.cpu - p0.cpu, rssPeak: p1.rssPeak, d: created.Sub(start)}
	r.rest = phase{requests: requests[1], reconciles: p2.reconciles.minus(p1.reconciles), cpu: p2.cpu - p1.cpu, rssPeak: p2.rss, d: restEnd.Sub(restStart)}
	r.deletion = phase{requests: requests[2], reconciles: p3.reconciles.minus(p2.reconciles), cpu: p3.cpu - p2.cpu, rssPeak: p3.rssPeak, d: delEnd.Sub(delStart)}
	return r, nil
}

// waitFor polls cond every second: the bench's own reads stay few next to CAPT's.
func waitFor(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
