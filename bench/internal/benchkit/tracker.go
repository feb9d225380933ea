package benchkit

import (
	"sync"
	"time"
)

// Tracker measures, per name, the delay from Start to the first Seen.
type Tracker struct {
	mu      sync.Mutex
	started map[string]time.Time
	delay   map[string]time.Duration
}

// NewTracker returns an empty Tracker.
func NewTracker() *Tracker {
	return &Tracker{started: map[string]time.Time{}, delay: map[string]time.Duration{}}
}

// Start notes that the wait for name begins now.
func (t *Tracker) Start(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.started[name] = time.Now()
}

// Seen notes that name reached its state now; only the first time counts.
func (t *Tracker) Seen(name string) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.started[name]; ok {
		if _, done := t.delay[name]; !done {
			t.delay[name] = now.Sub(s)
		}
	}
}

// Done is the number of names seen.
func (t *Tracker) Done() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.delay)
}

// Delays returns the delays, sorted.
func (t *Tracker) Delays() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Sorted(t.delay)
}
