package testenv

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/workspace"
)

// ProviderFinalizer is the finalizer provider-terraform's managed reconciler holds on a
// Workspace until its destroy has run.
const ProviderFinalizer = "finalizer.managedresource.crossplane.io"

// Provider plays provider-terraform where a test or benchmark needs many lifecycles
// quickly (the real one runs in test/e2e): it holds a finalizer on each Workspace,
// reports outputs and Ready a delay after the Workspace appears or turns not Ready, and
// releases the finalizer a delay after its deletion, unless told to hold it.
type Provider struct {
	c       client.Client
	api     workspace.API
	delay   time.Duration
	ca      string
	onApply func(cluster string)
	onReady func(ws *unstructured.Unstructured)
	// noGenerations plays provider-terraform v0.21: no observedGeneration anywhere, and
	// a spec change applied whatever Ready says; applied is the generation each
	// Workspace was last applied at.
	noGenerations bool
	applied       map[types.NamespacedName]int64
	// events records the events provider-terraform's managed reconciler records, when
	// ProviderOptions.Events is set.
	events record.EventRecorder

	mu      sync.Mutex
	pending map[string]bool
	held    map[hold]bool
	failure func(ws *unstructured.Unstructured) string

	// The watch: its cache runs on a context of its own, which Reconnect ends.
	ctx       context.Context
	cfg       *rest.Config
	cacheOpts cache.Options
	stopCache context.CancelFunc
}

// hold is one step held back for one Workspace.
type hold struct {
	key  types.NamespacedName
	step string
}

// ProviderOptions are the simulated provider's settings.
type ProviderOptions struct {
	// API is the Workspace API group to serve.
	API workspace.API
	// Delay is how long an apply and a destroy take.
	Delay time.Duration
	// Resync, when set, hands every Workspace to the provider again at this interval, as
	// provider-terraform's poll does: a Workspace whose event was lost (an API server
	// restart) is still handled. Benchmarks leave it off (it costs CPU at scale).
	Resync time.Duration
	// OnApply, when set, is called just before a control plane Workspace's outputs are
	// written, with the Workspace's cluster name.
	OnApply func(cluster string)
	// OnReady, when set, is called once a Workspace's outputs and Ready are written, with
	// the Workspace as the API server returned it: a benchmark times from here, and plays
	// what the apply brings about (a node group's Nodes registering).
	OnReady func(ws *unstructured.Unstructured)
	// NoGenerations plays provider-terraform v0.21 (crossplane-runtime v1): its conditions
	// carry no observedGeneration, Ready stays True while a new spec is applied, and every
	// spec change is applied, Ready or not. Each apply records the generation it applied
	// in the output applied_generation, for tests to order by.
	NoGenerations bool
	// Events, when set, records what crossplane-runtime v1.16's managed reconciler
	// records after a successful apply, through the same client-go recorder (one Event
	// per Workspace, its count patched at each repeat): CreatedExternalResource after a
	// Workspace's first apply, UpdatedExternalResource after a later one (a new spec),
	// and after each RevertDrift. Off by default: the benchmarks count CAPT's writes
	// without them.
	Events bool
}

// StartProvider starts the simulated provider until ctx ends.
func StartProvider(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, o ProviderOptions) (*Provider, error) {
	caPEM, err := NewCACertificatePEM()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("creating the provider's client: %w", err)
	}
	api := o.API
	// As an installation of provider-terraform has one: the "default" ProviderConfig,
	// granted to every namespace (docs/tenancy.md), or no Workspace would be created.
	if err := CreateDefaultProviderConfig(ctx, c, api); err != nil {
		return nil, err
	}
	p := &Provider{c: c, api: api, delay: o.Delay, onApply: o.OnApply, onReady: o.OnReady, ca: base64.StdEncoding.EncodeToString(caPEM),
		pending: map[string]bool{}, held: map[hold]bool{}, noGenerations: o.NoGenerations, applied: map[types.NamespacedName]int64{}}
	p.ctx, p.cfg, p.cacheOpts = quiet(ctx), cfg, cache.Options{Scheme: scheme}
	if o.Resync > 0 {
		p.cacheOpts.SyncPeriod = &o.Resync
	}
	if o.Events {
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("creating the provider's event client: %w", err)
		}
		// As controller-runtime v0.17's GetEventRecorderFor, which provider-terraform
		// v0.21.2 passes to crossplane-runtime: a default broadcaster (its correlator
		// patches a repeated event's count), core/v1 Events, the controller's name as
		// source component. The context ends it.
		broadcaster := record.NewBroadcaster(record.WithContext(p.ctx))
		broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
		p.events = broadcaster.NewRecorder(scheme, corev1.EventSource{Component: api.EventSource()})
	}
	if err := p.watch(); err != nil {
		return nil, err
	}
	return p, nil
}

// RevertDrift plays a poll of provider-terraform that finds the infrastructure changed
// outside Terraform and applies the Workspace's unchanged spec: the one trace is an
// UpdatedExternalResource event (ProviderOptions.Events).
func (p *Provider) RevertDrift(ctx context.Context, key types.NamespacedName) error {
	u := p.api.NewObject()
	if err := p.c.Get(quiet(ctx), key, u); err != nil {
		return err
	}
	p.record(u, workspace.EventReasonUpdated, workspace.EventMessageUpdated)
	return nil
}

// record records an event on the Workspace as crossplane-runtime's managed reconciler
// does: Normal, with the Workspace's external name as an annotation.
func (p *Provider) record(u *unstructured.Unstructured, reason, message string) {
	if p.events == nil {
		return
	}
	name := u.GetAnnotations()["crossplane.io/external-name"]
	if name == "" {
		name = u.GetName()
	}
	p.events.AnnotatedEventf(u, map[string]string{"external-name": name}, corev1.EventTypeNormal, reason, "%s", message)
}

// watch starts the provider's cache of Workspaces, and with it the handling of each.
func (p *Provider) watch() error {
	ctx, cancel := context.WithCancel(p.ctx)
	ch, err := cache.New(p.cfg, p.cacheOpts)
	if err != nil {
		cancel()
		return fmt.Errorf("creating the provider's cache: %w", err)
	}
	informer, err := ch.GetInformer(ctx, p.api.NewObject())
	if err != nil {
		cancel()
		return fmt.Errorf("watching Workspaces: %w", err)
	}
	on := func(obj any) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			p.handle(p.ctx, u)
		}
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: on, UpdateFunc: func(_, obj any) { on(obj) },
	}); err != nil {
		cancel()
		return fmt.Errorf("watching Workspaces: %w", err)
	}
	go func() { _ = ch.Start(ctx) }()
	if !ch.WaitForCacheSync(ctx) {
		cancel()
		return fmt.Errorf("the provider's cache did not sync")
	}
	p.stopCache = cancel
	return nil
}

// Reconnect drops the provider's watch and lists and watches afresh. A test that
// restarts kube-apiserver calls it after each restart: client-go's reflectors back off
// between relists, up to 30-60 s once they have failed a few times, and the provider
// outlives many restarts, so its watch would otherwise come back whenever its backoff
// says, while what the test is about is how the controllers under test come back.
func (p *Provider) Reconnect() error {
	p.stopCache()
	return p.watch()
}

// quiet gives the double's requests a logger of their own that writes nothing. Without
// one, client-go logs through klog's global logger: the double's logs are not CAPT's
// (at -v=10 they would carry request bodies into the canary test's capture), and tests
// replace that global logger (logging.Setup) while the double still works for another
// test, which the race detector reported as a data race.
func quiet(ctx context.Context) context.Context {
	return klog.NewContext(ctx, logr.Discard())
}

// HoldDestroy keeps (true) or lets go (false) the finalizer of a Workspace being
// deleted: a destroy that never finishes, until released.
func (p *Provider) HoldDestroy(ctx context.Context, key types.NamespacedName, held bool) error {
	return p.hold(ctx, hold{key, "destroy"}, held)
}

// HoldApply keeps a Workspace that is not Ready from becoming Ready, until released.
func (p *Provider) HoldApply(ctx context.Context, key types.NamespacedName, held bool) error {
	return p.hold(ctx, hold{key, "apply"}, held)
}

func (p *Provider) hold(ctx context.Context, h hold, held bool) error {
	ctx = quiet(ctx)
	p.mu.Lock()
	p.held[h] = held
	p.mu.Unlock()
	if held {
		return nil
	}
	u := p.api.NewObject()
	if err := p.c.Get(ctx, h.key, u); err != nil {
		return client.IgnoreNotFound(err)
	}
	p.handle(ctx, u)
	return nil
}

// FailApplies makes the applies of the Workspaces for which failure returns a message
// fail with it, as a failing plan or apply of provider-terraform does: Synced=False with
// the message, Ready left as it was. nil: every apply succeeds again. Workspaces that
// already failed are handed over again.
func (p *Provider) FailApplies(ctx context.Context, failure func(ws *unstructured.Unstructured) string) error {
	ctx = quiet(ctx)
	p.mu.Lock()
	p.failure = failure
	p.mu.Unlock()
	list := p.api.NewList()
	if err := p.c.List(ctx, list); err != nil {
		return err
	}
	for i := range list.Items {
		p.handle(ctx, &list.Items[i])
	}
	return nil
}

// handle schedules what provider-terraform would do next with the Workspace, once.
func (p *Provider) handle(ctx context.Context, u *unstructured.Unstructured) {
	ctx = quiet(ctx)
	key := client.ObjectKeyFromObject(u)
	w, err := workspace.FromUnstructured(u)
	if err != nil {
		return
	}
	var step string
	var do func() error
	switch {
	case u.GetDeletionTimestamp() != nil:
		step, do = "destroy", func() error { return p.setFinalizer(ctx, key, false) }
	case !hasFinalizer(u):
		step, do = "finalizer", func() error { return p.setFinalizer(ctx, key, true) }
	case !w.IsReady() || p.changed(key, u.GetGeneration()):
		step, do = "apply", func() error { return p.apply(ctx, key) }
	default:
		return
	}
	id := step + "/" + key.String()
	p.mu.Lock()
	if p.pending[id] || p.held[hold{key, step}] {
		p.mu.Unlock()
		return
	}
	p.pending[id] = true
	p.mu.Unlock()
	wait := p.delay
	if step == "finalizer" {
		wait = 0
	}
	time.AfterFunc(wait, func() {
		// A hold set while the step waited stops it too: HoldApply is "no apply from
		// now on", and the release hands the Workspace over again. (Checking only when
		// scheduling let an apply scheduled before the hold overwrite the not-Ready
		// status a test wrote after it.)
		p.mu.Lock()
		held := p.held[hold{key, step}]
		p.mu.Unlock()
		var err error
		if !held {
			err = do()
		}
		p.mu.Lock()
		delete(p.pending, id)
		p.mu.Unlock()
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			// As provider-terraform requeues a failed reconcile (the API server was down,
			// say): a watch that resumes brings no event for an unchanged Workspace.
			fmt.Printf("simulated provider: %s %s: %v (retrying)\n", step, key, err)
			time.AfterFunc(time.Second, func() { p.retry(ctx, key) })
		}
	})
}

// changed says, playing v0.21, that the Workspace's spec changed since its last apply.
func (p *Provider) changed(key types.NamespacedName, generation int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.noGenerations && p.applied[key] < generation
}

// retry handles the Workspace again from a fresh read.
func (p *Provider) retry(ctx context.Context, key types.NamespacedName) {
	u := p.api.NewObject()
	if err := p.c.Get(ctx, key, u); err != nil {
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			time.AfterFunc(time.Second, func() { p.retry(ctx, key) })
		}
		return
	}
	p.handle(ctx, u)
}

func hasFinalizer(u *unstructured.Unstructured) bool {
	for _, f := range u.GetFinalizers() {
		if f == ProviderFinalizer {
			return true
		}
	}
	return false
}

func (p *Provider) setFinalizer(ctx context.Context, key types.NamespacedName, add bool) error {
	patch := `{"metadata":{"finalizers":["` + ProviderFinalizer + `"]}}`
	if !add {
		patch = `{"metadata":{"finalizers":null}}`
	}
	u := p.api.NewObject()
	u.SetName(key.Name)
	u.SetNamespace(key.Namespace)
	return p.c.Patch(ctx, u, client.RawPatch(types.MergePatchType, []byte(patch)))
}

// apply reports the outputs CAPT reads, by the Workspace's kind of apply, and Ready.
func (p *Provider) apply(ctx context.Context, key types.NamespacedName) error {
	recorded := false
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u := p.api.NewObject()
		if err := p.c.Get(ctx, key, u); err != nil {
			return err
		}
		if u.GetDeletionTimestamp() != nil {
			return nil
		}
		p.mu.Lock()
		failure := p.failure
		p.mu.Unlock()
		if failure != nil {
			if msg := failure(u); msg != "" {
				return p.fail(ctx, u, msg)
			}
		}
		// A Workspace that reported Ready before is updated, not created.
		_, updated, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		cluster := u.GetLabels()[clusterv1.ClusterNameLabel]
		outputs := map[string]any{}
		controlPlane := strings.Contains(u.GetName(), "-controlplane-")
		switch {
		case controlPlane:
			endpoint := "https://" + cluster + ".eks.example.com"
			outputs["cluster_endpoint"] = endpoint
			outputs["cluster_certificate_authority_data"] = p.ca
			// A kubeconfig of the module's own, as the local templates output one: the
			// control plane publishes it as is. The EKS path (a token CAPT mints and
			// refreshes on a timer) has tests and a benchmark of its own; here it would
			// add a refresh to the writes at rest that these runs count.
			outputs["kubeconfig"] = moduleKubeconfig(cluster, endpoint, p.ca)
		case isNodeGroup(u.GetName()):
			outputs = nodeGroupOutputs(u)
		default:
			outputs["vpc_id"] = "vpc-" + cluster
			outputs["private_subnet_ids"] = []any{"subnet-" + cluster + "-a", "subnet-" + cluster + "-b"}
			outputs["availability_zones"] = []any{"zz-local-1a", "zz-local-1b"}
		}
		now := time.Now().UTC().Format(time.RFC3339)
		conds := []any{
			map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
			map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": now, "observedGeneration": u.GetGeneration()},
		}
		if p.noGenerations {
			for _, c := range conds {
				delete(c.(map[string]any), "observedGeneration")
			}
			outputs["applied_generation"] = u.GetGeneration()
		}
		_ = unstructured.SetNestedSlice(u.Object, conds, "status", "conditions")
		_ = unstructured.SetNestedField(u.Object, outputs, "status", "atProvider", "outputs")
		if controlPlane && p.onApply != nil {
			p.onApply(cluster)
		}
		if !recorded {
			// Recorded before the status is written, as crossplane-runtime does (and sent
			// asynchronously): CAPT may see either first.
			if updated {
				p.record(u, workspace.EventReasonUpdated, workspace.EventMessageUpdated)
			} else {
				p.record(u, workspace.EventReasonCreated, workspace.EventMessageCreated)
			}
			recorded = true
		}
		if err := p.c.Status().Update(ctx, u); err != nil {
			return err
		}
		p.mu.Lock()
		p.applied[key] = u.GetGeneration()
		p.mu.Unlock()
		if p.onReady != nil {
			p.onReady(u)
		}
		return nil
	})
}

// fail reports a failed apply of u: Synced False with msg for u's generation (as
// crossplane-runtime v2 reports it), the other conditions kept. A
// Workspace that already says so is not written again (provider-terraform's next poll
// would not change it either).
func (p *Provider) fail(ctx context.Context, u *unstructured.Unstructured, msg string) error {
	w, err := workspace.FromUnstructured(u)
	if err != nil {
		return err
	}
	if c := w.Condition(workspace.ConditionSynced); c != nil && c.Status == "False" && c.Message == msg && (c.ObservedGeneration == w.Generation || p.noGenerations) {
		p.mu.Lock()
		p.applied[client.ObjectKeyFromObject(u)] = w.Generation
		p.mu.Unlock()
		return nil
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	synced := map[string]any{"type": "Synced", "status": "False", "reason": "ReconcileError", "message": msg,
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339), "observedGeneration": w.Generation}
	if p.noGenerations {
		delete(synced, "observedGeneration")
	}
	kept := []any{synced}
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] != "Synced" {
			kept = append(kept, m)
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, kept, "status", "conditions")
	return p.c.Status().Update(ctx, u)
}

// isNodeGroup says whether a Workspace is a CAPTMachinePool's node group: its apply is
// <pool>-nodegroup, and a cluster-scoped Workspace's name adds the namespace and a hash.
func isNodeGroup(name string) bool {
	return strings.Contains(name, "-nodegroup-") || strings.HasSuffix(name, "-nodegroup")
}

// nodeGroupOutputs are the outputs of templates/aws/nodegroup that CAPT reads: the node
// group's name and its desired size, from the variables CAPT passes (the minimum when
// an autoscaler owns the size and desired_size is empty).
func nodeGroupOutputs(u *unstructured.Unstructured) map[string]any {
	vars, _, _ := unstructured.NestedMap(u.Object, "spec", "forProvider", "varmap")
	str := func(k string) string { s, _ := vars[k].(string); return s }
	size, err := strconv.ParseInt(str("desired_size"), 10, 32)
	if err != nil {
		size, _ = strconv.ParseInt(str("min_size"), 10, 32)
	}
	return map[string]any{"node_group_name": str("node_group_name"), "desired_size": size}
}

// moduleKubeconfig is a kubeconfig output for cluster at endpoint, trusting the base64
// CA, with a placeholder token.
func moduleKubeconfig(cluster, endpoint, caB64 string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: %[1]s, cluster: {server: %[2]q, certificate-authority-data: %[3]s}}]
users: [{name: %[1]s-admin, user: {token: placeholder}}]
contexts: [{name: %[1]s, context: {cluster: %[1]s, user: %[1]s-admin}}]
current-context: %[1]s
`, cluster, endpoint, caB64)
}
