// Command machinepool measures the CAPTMachinePool controller on a real kube-apiserver
// with CAPT's manager as production builds it (its infrastructure controllers, default
// flags, in this process): the delay from a node group Workspace turning Ready to its
// pool reporting all its Nodes Ready, and what N pools cost during creation and at rest
// (API writes by verb and resource, reconciles).
//
//	go run ./bench/machinepool -n 50 -rest 2m
//
// The program plays Cluster API core, provider-terraform and the workload clusters'
// kubelets. Each pool has a Cluster of its own, marked as core marks it once its control
// plane is up, a provisioned CAPTCluster (an existing VPC with two private subnets), the
// <cluster>-kubeconfig Secret, a MachinePool of -replicas and the CAPTMachinePool it
// owns (internal/controller/machinepool's test fixture, N times); once every pool
// exists the Clusters are marked initialized, as core marks them when their control
// planes are up (-fixture-order marks each right after its pool, as the fixture does:
// see docs/benchmarks.md for the ClusterCache connection that order can miss). The simulated
// provider-terraform (testenv.Provider) applies each node group Workspace -apply after
// it appears and outputs node_group_name and desired_size from the variables CAPT
// passed; as the Workspace turns Ready a simulated kubelet registers desired_size Nodes
// labelled with the node group and sets them Ready, as KWOK does. Every Cluster's
// kubeconfig reaches the bench's own API server: the 50 workload clusters are one, whose
// Nodes ClusterCache watches 50 times (once per Cluster).
//
// During the rest window the kubelets renew their Nodes' heartbeats every -heartbeat:
// Node updates that change nothing a pool reports, which must bring no pass.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/bench/internal/benchkit"
	"github.com/capt-dev/capt/internal/kubeconfig"
	"github.com/capt-dev/capt/internal/testenv"
	"github.com/capt-dev/capt/internal/workspace"
)

const (
	ns = "bench"
	// nodeGroupLabel is the label EKS puts on a managed node group's Nodes.
	nodeGroupLabel = "eks.amazonaws.com/nodegroup"
)

// controllers are the manager's controllers whose reconciles are counted.
var controllers = []string{"captmachinepool", "workspacetemplateapply", "workspacetemplate", "captcluster"}

type config struct {
	n               int
	replicas        int32
	rest, apply, hb time.Duration
	docs            string
	fixtureOrder    bool
	managerArgs     []string
	settle          time.Duration
}

func main() {
	n := flag.Int("n", 50, "number of pools (one Cluster each)")
	replicas := flag.Int("replicas", 2, "MachinePool replicas (Nodes per node group)")
	rest := flag.Duration("rest", 2*time.Minute, "how long to stay at rest once every pool is Ready")
	apply := flag.Duration("apply", time.Second, "simulated apply time of a node group Workspace")
	hb := flag.Duration("heartbeat", 30*time.Second, "how often the kubelets renew their Nodes' heartbeats during the rest window (0: never)")
	syncPeriod := flag.Duration("sync-period", 10*time.Minute, "the manager's --sync-period (its resync reconciles every object)")
	fixtureOrder := flag.Bool("fixture-order", false, "initialize each Cluster right after creating its pool, as the machinepool tests' fixture does, instead of once every pool exists")
	docs := flag.String("docs", "", "rewrite the machinepool section of this markdown file (docs/benchmarks.md) with the table")
	flag.Parse()
	cfg := config{n: *n, replicas: int32(*replicas), rest: *rest, apply: *apply, hb: *hb, docs: *docs, fixtureOrder: *fixtureOrder, settle: 2 * time.Second,
		managerArgs: []string{"--controllers=infrastructure", "--sync-period=" + syncPeriod.String()}}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "machinepool bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// timeline is when each node group (by name) reached each step.
type timeline struct {
	mu sync.Mutex
	// wsReady: the simulated provider wrote Ready with outputs; nodesReady: the kubelet
	// wrote the last Node's Ready; poolReady: the pool first reported readyReplicas ==
	// desired with NodesReady True.
	wsReady, nodesReady, poolReady map[string]time.Time
	// applies counts the Ready writes of each Workspace (1 unless CAPT changed its spec).
	applies map[string]int
}

func newTimeline() *timeline {
	return &timeline{wsReady: map[string]time.Time{}, nodesReady: map[string]time.Time{}, poolReady: map[string]time.Time{}, applies: map[string]int{}}
}

// first records t for name in m unless one is there; it says whether it recorded.
func (tl *timeline) first(m map[string]time.Time, name string, t time.Time) bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if _, ok := m[name]; ok {
		return false
	}
	m[name] = t
	return true
}

func (tl *timeline) count(m map[string]time.Time) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return len(m)
}

// delays are to[name] - from[name], sorted, for the names in both.
func (tl *timeline) delays(from, to map[string]time.Time) []time.Duration {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []time.Duration
	for name, t := range to {
		if f, ok := from[name]; ok {
			out = append(out, t.Sub(f))
		}
	}
	slices.Sort(out)
	return out
}

func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	return wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(context.Context) (bool, error) { return cond(), nil })
}

func reconciles() benchkit.Counts {
	out := benchkit.Counts{}
	for _, c := range controllers {
		out[c] = int(testenv.ReconcileTotal(c))
	}
	return out
}

func diff(after, before benchkit.Counts) benchkit.Counts {
	out := benchkit.Counts{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func total(c benchkit.Counts) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// window is what CAPT's manager sent between two instants.
type window struct {
	writes, reads benchkit.Counts
}

func requestsIn(r *benchkit.Requests, from, to time.Time) window {
	w := window{writes: benchkit.Counts{}, reads: benchkit.Counts{}}
	for _, q := range r.Between(from, to) {
		if q.IsWrite() {
			w.writes[q.Verb+" "+q.Resource]++
		} else if q.Verb == "get" || q.Verb == "list" {
			w.reads[q.Verb+" "+q.Resource]++
		}
	}
	return w
}

// perPool lists counts divided by n, largest first.
func perPool(c benchkit.Counts, n int) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c[a] != c[b] {
			return c[b] - c[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %s", k, trim(float64(c[k])/float64(n))))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func trim(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}

func run(cfg config) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	stopOnSignal(env)
	requests := &benchkit.Requests{}
	m, err := benchkit.StartManagerOn(ctx, requests.Wrap(env.Config), cfg.managerArgs...)
	if err != nil {
		return err
	}
	c := env.Client
	tl := newTimeline()
	k := &kubelet{c: c, tl: tl}
	api := workspace.DefaultAPI()
	if _, err := testenv.StartProvider(ctx, env.Config, env.Scheme, testenv.ProviderOptions{API: api, Delay: cfg.apply,
		OnReady: func(u *unstructured.Unstructured) {
			if group, size, ok := nodeGroupOf(u); ok {
				tl.mu.Lock()
				tl.applies[group]++
				tl.mu.Unlock()
				if tl.first(tl.wsReady, group, time.Now()) {
					go k.register(ctx, group, size)
				}
			}
		}}); err != nil {
		return err
	}
	if err := watchPools(ctx, env, tl, cfg.replicas); err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	if err := c.Create(ctx, &infrav1.WorkspaceTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nodegroup"},
		Spec: infrav1.WorkspaceTemplateSpec{Template: infrav1.WorkspaceTemplateDefinition{Spec: infrav1.WorkspaceSpec{
			ForProvider: infrav1.WorkspaceParameters{Source: "Inline", Module: benchkit.Module}}}},
	}); err != nil {
		return err
	}
	kc, err := testenv.Kubeconfig(env.Config)
	if err != nil {
		return err
	}
	// The template's creation and the manager's start-up are not the pools'.
	m.Writes.Settle(cfg.settle)

	recBefore := reconciles()
	start := time.Now()
	m.Writes.Reset()
	clusters := make([]*clusterv1.Cluster, cfg.n)
	for i := range cfg.n {
		if clusters[i], err = createPool(ctx, c, fmt.Sprintf("c%03d", i), cfg.replicas, kc); err != nil {
			return err
		}
		if cfg.fixtureOrder {
			if err := initialize(ctx, c, clusters[i]); err != nil {
				return err
			}
		}
	}
	if !cfg.fixtureOrder {
		for _, cluster := range clusters {
			if err := initialize(ctx, c, cluster); err != nil {
				return err
			}
		}
	}
	created := time.Since(start)
	logf("created %d pools and initialized their Clusters in %s", cfg.n, created.Round(time.Millisecond))
	if err := waitFor(ctx, 5*time.Minute, func() bool { return tl.count(tl.poolReady) == cfg.n }); err != nil {
		return fmt.Errorf("waiting for the pools' Nodes Ready (%d of %d; NodesReady of the others: %s): %w",
			tl.count(tl.poolReady), cfg.n, notReady(ctx, c, tl), err)
	}
	allReady := time.Since(start)
	logf("all %d pools report %d of %d Nodes Ready after %s", cfg.n, cfg.replicas, cfg.replicas, allReady.Round(time.Millisecond))
	m.Writes.Settle(cfg.settle)
	settled := time.Now()
	creation := requestsIn(requests, start, settled)
	creationByKind := m.Writes.String()
	creationRec := diff(reconciles(), recBefore)

	// Rest: the kubelets' heartbeats go on, nothing else changes.
	restCtx, stopHeartbeats := context.WithCancel(ctx)
	var hbWG sync.WaitGroup
	heartbeats := 0
	if cfg.hb > 0 {
		hbWG.Add(1)
		go func() {
			defer hbWG.Done()
			heartbeats = k.heartbeats(restCtx, cfg.hb)
		}()
	}
	logf("rest window of %s begins", cfg.rest)
	restFrom, restRecBefore := time.Now(), reconciles()
	m.Writes.Reset()
	time.Sleep(cfg.rest)
	restTo := time.Now()
	stopHeartbeats()
	hbWG.Wait()
	restRec := diff(reconciles(), restRecBefore)
	restByKind := m.Writes.String()
	rest := requestsIn(requests, restFrom, restTo)

	wsToPool := tl.delays(tl.wsReady, tl.poolReady)
	nodesToPool := tl.delays(tl.nodesReady, tl.poolReady)
	wsToNodes := tl.delays(tl.wsReady, tl.nodesReady)
	reapplied := 0
	tl.mu.Lock()
	for _, a := range tl.applies {
		reapplied += a - 1
	}
	tl.mu.Unlock()
	perHour := float64(time.Hour) / float64(restTo.Sub(restFrom)) / float64(cfg.n)

	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %d CPUs (%s/%s). %d pools, one Cluster each, %d replicas each; simulated apply %s; rest %s with Node heartbeats every %s.\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, cfg.n, cfg.replicas, cfg.apply, cfg.rest, cfg.hb)
	fmt.Fprintf(&b, "| figure | value |\n|---|---|\n")
	row := func(name, value string) { fmt.Fprintf(&b, "| %s | %s |\n", name, value) }
	row("pools (Clusters)", fmt.Sprint(cfg.n))
	row("CAPT writes per pool during creation (pools created → all Ready, settled)", fmt.Sprintf("%s (%d in all)", trim(float64(total(creation.writes))/float64(cfg.n)), total(creation.writes)))
	row("of which, per pool, by verb and resource", perPool(creation.writes, cfg.n))
	row("writes during creation by verb and kind (the manager's client; events not in it)", creationByKind)
	row("reconciles per pool during creation, by controller", perPool(creationRec, cfg.n))
	row("node group Workspaces applied again (spec changed after Ready)", fmt.Sprint(reapplied))
	row(fmt.Sprintf("**CAPT writes at rest** (%s)", cfg.rest), fmt.Sprintf("**%d** (%s)", total(rest.writes), rest.writes))
	if restByKind != "" {
		row("writes at rest by verb and kind", restByKind)
	}
	row(fmt.Sprintf("reconciles at rest (%s), by controller", cfg.rest), fmt.Sprintf("%d (%s); %.1f per pool per hour", total(restRec), restRec, float64(total(restRec))*perHour))
	row("Node heartbeats during the rest window (Node status updates by the kubelets)", fmt.Sprint(heartbeats))
	row("reads at rest (the manager's client; ClusterCache's own connections not included)", rest.reads.String())
	row("node group Workspace Ready → pool readyReplicas == desired and NodesReady True, p50 / p99", fmt.Sprintf("%s / %s", benchkit.Percentile(wsToPool, 50), benchkit.Percentile(wsToPool, 99)))
	row("of which the kubelet: Workspace Ready → last Node Ready written, p50 / p99", fmt.Sprintf("%s / %s", benchkit.Percentile(wsToNodes, 50), benchkit.Percentile(wsToNodes, 99)))
	row("of which CAPT: last Node Ready written → pool reports it, p50 / p99", fmt.Sprintf("%s / %s", benchkit.Percentile(nodesToPool, 50), benchkit.Percentile(nodesToPool, 99)))
	row("time from the first pool's creation until all report their Nodes Ready", allReady.Round(time.Millisecond).String())
	row(fmt.Sprintf("time to create the %d pools' objects (5 per pool) and mark their Clusters initialized", cfg.n), created.Round(time.Millisecond).String())
	fmt.Print(b.String())
	if cfg.docs != "" {
		if err := writeDocs(cfg.docs, b.String()); err != nil {
			return err
		}
		logf("rewrote the machinepool section of %s", cfg.docs)
	}
	return nil
}

// nodeGroupOf reads a node group Workspace's name and size outputs.
func nodeGroupOf(u *unstructured.Unstructured) (group string, size int64, ok bool) {
	group, _, _ = unstructured.NestedString(u.Object, "status", "atProvider", "outputs", "node_group_name")
	if group == "" {
		return "", 0, false
	}
	size, _, _ = unstructured.NestedInt64(u.Object, "status", "atProvider", "outputs", "desired_size")
	return group, size, true
}

// createPool creates one pool's objects in the order of the machinepool tests' fixture:
// Cluster, provisioned CAPTCluster, kubeconfig Secret, MachinePool, CAPTMachinePool.
// initialize then sets the Cluster's status as core sets it once the control plane is up.
func createPool(ctx context.Context, c client.Client, name string, replicas int32, kc []byte) (*clusterv1.Cluster, error) {
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{InfrastructureRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTCluster", Name: name}}}
	if err := c.Create(ctx, cluster); err != nil {
		return nil, err
	}
	cc := &infrav1.CAPTCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
		Spec:       infrav1.CAPTClusterSpec{Region: "us-west-2", ExistingVPCID: "vpc-0123456789abcdef0"},
	}
	if err := c.Create(ctx, cc); err != nil {
		return nil, err
	}
	cc.Status.Initialization.Provisioned = ptr.To(true)
	cc.Status.VPC = &infrav1.VPCStatus{ID: "vpc-0123456789abcdef0", PrivateSubnetIDs: []string{"subnet-" + name + "-a", "subnet-" + name + "-b"}}
	if err := c.Status().Update(ctx, cc); err != nil {
		return nil, err
	}
	if err := c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: kubeconfig.SecretName(name), Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
		Type:       clusterv1.ClusterSecretType,
		Data:       map[string][]byte{"value": kc},
	}); err != nil {
		return nil, err
	}
	pool := name + "-pool"
	owner := &clusterv1.MachinePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pool, Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
		Spec: clusterv1.MachinePoolSpec{ClusterName: name, Replicas: ptr.To(replicas), Template: clusterv1.MachineTemplateSpec{
			Spec: clusterv1.MachineSpec{ClusterName: name, Version: "v1.33.1", Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("")},
				InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "CAPTMachinePool", Name: pool}}}},
	}
	if err := c.Create(ctx, owner); err != nil {
		return nil, err
	}
	if err := c.Create(ctx, &infrav1.CAPTMachinePool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pool, Labels: map[string]string{clusterv1.ClusterNameLabel: name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachinePool", Name: owner.Name, UID: owner.UID}}},
		Spec: infrav1.CAPTMachinePoolSpec{WorkspaceTemplateRef: infrav1.WorkspaceTemplateReference{Name: "nodegroup"}},
	}); err != nil {
		return nil, err
	}
	return cluster, nil
}

// initialize marks the Cluster as Cluster API core does once its infrastructure is
// provisioned and its control plane initialized.
func initialize(ctx context.Context, c client.Client, cluster *clusterv1.Cluster) error {
	cluster.Status.Initialization.InfrastructureProvisioned = ptr.To(true)
	cluster.Status.Initialization.ControlPlaneInitialized = ptr.To(true)
	return c.Status().Update(ctx, cluster)
}

// notReady counts the pools that have not reported their Nodes Ready, by the reason of
// their NodesReady condition.
func notReady(ctx context.Context, c client.Client, tl *timeline) string {
	list := &infrav1.CAPTMachinePoolList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return err.Error()
	}
	reasons := benchkit.Counts{}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, mp := range list.Items {
		if _, ok := tl.poolReady[mp.Status.NodeGroupName]; ok && mp.Status.NodeGroupName != "" {
			continue
		}
		r := "none"
		if cnd := meta.FindStatusCondition(mp.Status.Conditions, infrav1.NodesReadyCondition); cnd != nil {
			r = string(cnd.Status) + "/" + cnd.Reason
		}
		reasons[r]++
	}
	return reasons.String()
}

// watchPools records when each pool first reports desired Ready replicas with NodesReady
// True, through an informer of the bench's own.
func watchPools(ctx context.Context, env *testenv.Env, tl *timeline, desired int32) error {
	ch, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme})
	if err != nil {
		return err
	}
	inf, err := ch.GetInformer(ctx, &infrav1.CAPTMachinePool{})
	if err != nil {
		return err
	}
	seen := func(obj any) {
		mp, ok := obj.(*infrav1.CAPTMachinePool)
		if !ok || mp.Status.NodeGroupName == "" || mp.Status.ReadyReplicas != desired {
			return
		}
		if meta.IsStatusConditionTrue(mp.Status.Conditions, infrav1.NodesReadyCondition) {
			tl.first(tl.poolReady, mp.Status.NodeGroupName, time.Now())
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: seen, UpdateFunc: func(_, obj any) { seen(obj) }}); err != nil {
		return err
	}
	go func() { _ = ch.Start(ctx) }()
	if !ch.WaitForCacheSync(ctx) {
		return fmt.Errorf("the pools' informer did not sync")
	}
	return nil
}

// kubelet plays the node groups' kubelets (as KWOK does): Nodes registered with the node
// group label and an EC2 providerID, then Ready, then heartbeats.
type kubelet struct {
	c  client.Client
	tl *timeline

	mu    sync.Mutex
	nodes []string
}

// register creates size Nodes of group and sets them Ready.
func (k *kubelet) register(ctx context.Context, group string, size int64) {
	names := make([]string, size)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", group, i)
		sum := sha256.Sum256([]byte(names[i]))
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: names[i], Labels: map[string]string{nodeGroupLabel: group}},
			Spec: corev1.NodeSpec{ProviderID: "aws:///zz-bench-1a/i-" + hex.EncodeToString(sum[:])[:17]}}
		if err := k.c.Create(ctx, node); client.IgnoreAlreadyExists(err) != nil {
			logf("kubelet: creating Node %s: %v", names[i], err)
			return
		}
	}
	for _, name := range names {
		if err := k.setReady(ctx, name); err != nil {
			logf("kubelet: Node %s Ready: %v", name, err)
			return
		}
	}
	k.tl.first(k.tl.nodesReady, group, time.Now())
	k.mu.Lock()
	k.nodes = append(k.nodes, names...)
	k.mu.Unlock()
}

// setReady writes the Node's Ready condition True with a new heartbeat (its transition
// time only when it was not True).
func (k *kubelet) setReady(ctx context.Context, name string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node := &corev1.Node{}
		if err := k.c.Get(ctx, client.ObjectKey{Name: name}, node); err != nil {
			return err
		}
		now := metav1.Now()
		found := false
		for i := range node.Status.Conditions {
			if cnd := &node.Status.Conditions[i]; cnd.Type == corev1.NodeReady {
				found = true
				cnd.LastHeartbeatTime = now
				if cnd.Status != corev1.ConditionTrue {
					cnd.Status, cnd.LastTransitionTime, cnd.Reason = corev1.ConditionTrue, now, "KubeletReady"
				}
			}
		}
		if !found {
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
				Reason: "KubeletReady", Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now})
		}
		return k.c.Status().Update(ctx, node)
	})
}

// heartbeats renews every Node's heartbeat each interval until ctx ends, and returns
// how many it wrote.
func (k *kubelet) heartbeats(ctx context.Context, interval time.Duration) int {
	n := 0
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
		k.mu.Lock()
		names := slices.Clone(k.nodes)
		k.mu.Unlock()
		for _, name := range names {
			if ctx.Err() != nil {
				return n
			}
			if err := k.setReady(ctx, name); err == nil {
				n++
			}
		}
	}
}

// stopOnSignal stops the API server and etcd when the bench is interrupted.
func stopOnSignal(env *testenv.Env) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		_ = env.Stop()
		os.Exit(130)
	}()
}

const (
	docsBegin = "<!-- machinepool bench: begin (written by make bench-machinepool) -->"
	docsEnd   = "<!-- machinepool bench: end -->"
)

// writeDocs replaces the benchmark's section of a markdown file, between its markers.
func writeDocs(path, section string) error {
	return benchkit.WriteDocs(path, docsBegin, docsEnd, "make bench-machinepool", section)
}
