// Package crdgate sets a controller up once the API server serves every kind it
// watches. controller-runtime starts a controller's watches with the manager and gives
// them CacheSyncTimeout (2 minutes) to sync: a kind whose CRD is not installed never
// syncs, its source logs `no matches for kind` every 10 seconds, and then the manager
// stops, every other controller with it. A platform team meets that when Cluster API is
// installed without machine pools, or provider-terraform after CAPT.
//
// The gate asks the manager's RESTMapper (the discovery controller-runtime's informers
// use) whether each kind of a controller is served. A controller whose kinds all are is
// set up at once, before the manager starts, as it would be without the gate. Any other
// waits, named by one log line and by a readiness check per missing kind, until the
// CRDs appear: the gate watches CustomResourceDefinitions (metadata only) and sets the
// controller up then, on the running manager, which starts it (on the leader).
package crdgate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Controller is a controller the gate sets up.
type Controller struct {
	// Name is the controller's name, for the log and the readiness checks.
	Name string
	// Kinds are the kinds its watches need served: those CRDs serve.
	Kinds []schema.GroupVersionKind
	// Setup registers the controller with the manager. ctx lives as long as the manager.
	Setup func(ctx context.Context) error
}

// Gate sets controllers up once the API server serves their kinds. It is a runnable of
// the manager, on every replica (leader or not), so that every replica's readiness says
// what is missing; the controllers it sets up run on the leader only, as any other.
type Gate struct {
	mapper meta.RESTMapper
	cache  cache.Cache
	mgr    manager.Manager
	log    logr.Logger

	// wake has a value when a CRD in the group of a missing kind changed.
	wake chan struct{}

	mu sync.Mutex
	// waiting are the controllers not set up yet, with what they miss.
	waiting []*waiter
	// checks are the kinds that have a readiness check.
	checks map[schema.GroupKind]bool
}

// waiter is a controller that waits, and the kinds it missed at the last look.
type waiter struct {
	Controller
	missing []missingKind
}

// New returns a gate for mgr. Add the controllers, then add the gate to mgr.
func New(mgr manager.Manager) *Gate {
	return &Gate{
		mapper: mgr.GetRESTMapper(),
		cache:  mgr.GetCache(),
		mgr:    mgr,
		log:    mgr.GetLogger().WithName("crdgate"),
		wake:   make(chan struct{}, 1),
		checks: map[schema.GroupKind]bool{},
	}
}

// Add sets c up now when the API server serves all its kinds; otherwise it logs which
// are missing, adds a readiness check for each, and leaves c to the gate. Call it before
// the manager starts: readiness checks cannot be added later. An error other than a kind
// not being served (discovery failing) is returned: the manager cannot start either.
func (g *Gate) Add(ctx context.Context, c Controller) error {
	missing, err := g.missing(c.Kinds)
	if err != nil {
		return fmt.Errorf("controller %s: %w", c.Name, err)
	}
	if len(missing) == 0 {
		return c.Setup(ctx)
	}
	g.log.Info("Waiting for CRDs: the controller starts once the API server serves these kinds",
		"controller", c.Name, "missing", kindNames(missing))
	g.mu.Lock()
	g.waiting = append(g.waiting, &waiter{Controller: c, missing: missing})
	g.mu.Unlock()
	for _, m := range missing {
		if g.checks[m.GroupKind()] {
			continue
		}
		if err := g.mgr.AddReadyzCheck(m.GroupKind().String(), g.readyCheck(m.GroupKind())); err != nil {
			return fmt.Errorf("adding the readiness check of %s: %w", m.GroupKind(), err)
		}
		g.checks[m.GroupKind()] = true
	}
	return nil
}

// NeedLeaderElection is false: every replica reports its readiness, and sets up the
// controllers, which then wait for leadership as the others do.
func (g *Gate) NeedLeaderElection() bool { return false }

// Start watches CRDs while a controller waits, and sets each up once its kinds are
// served. It returns when none waits any more, or when ctx ends.
func (g *Gate) Start(ctx context.Context) error {
	if g.pending() == 0 {
		return nil
	}
	stop, err := g.watchCRDs(ctx)
	if err != nil {
		return err
	}
	defer stop()
	retry := newRetry()
	defer retry.stop()
	for {
		if err := g.setUpServed(ctx); err != nil {
			return err
		}
		if g.pending() == 0 {
			g.log.Info("Every controller is set up")
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-g.wake:
			retry.reset()
		case <-retry.C():
			retry.next()
		}
	}
}

// setUpServed sets up every waiting controller whose kinds are all served now.
func (g *Gate) setUpServed(ctx context.Context) error {
	g.mu.Lock()
	waiting := slices.Clone(g.waiting)
	g.mu.Unlock()
	for _, w := range waiting {
		missing, err := g.missing(w.Kinds)
		if err != nil {
			// Discovery failed: the next CRD event, or the retry after it, looks again.
			g.log.Error(err, "Looking up the kinds of a waiting controller", "controller", w.Name)
			continue
		}
		g.mu.Lock()
		w.missing = missing
		g.mu.Unlock()
		if len(missing) > 0 {
			continue
		}
		g.log.Info("Starting the controller: the API server serves its kinds now", "controller", w.Name)
		if err := w.Setup(ctx); err != nil {
			return fmt.Errorf("setting up controller %s: %w", w.Name, err)
		}
		g.mu.Lock()
		g.waiting = slices.DeleteFunc(g.waiting, func(x *waiter) bool { return x == w })
		g.mu.Unlock()
	}
	return nil
}

// pending is the number of controllers not set up yet.
func (g *Gate) pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting)
}

// missingKind is a kind the API server does not serve.
type missingKind struct {
	schema.GroupVersionKind
}

// missing returns the kinds the API server does not serve, as the manager's RESTMapper
// sees them: on a miss it reads the group's discovery again, so a CRD installed since
// the last look is found.
func (g *Gate) missing(kinds []schema.GroupVersionKind) ([]missingKind, error) {
	var out []missingKind
	var errs []error
	for _, k := range kinds {
		_, err := g.mapper.RESTMapping(k.GroupKind(), k.Version)
		switch {
		case meta.IsNoMatchError(err):
			out = append(out, missingKind{k})
		case err != nil:
			errs = append(errs, fmt.Errorf("looking up %s: %w", k, err))
		}
	}
	return out, errors.Join(errs...)
}

// kindNames names kinds as kind.group/version.
func kindNames(kinds []missingKind) []string {
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k.GroupKind().String()+"/"+k.Version)
	}
	return out
}
