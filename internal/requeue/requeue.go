// Package requeue holds the requeue intervals of CAPTEP-0016. Controllers wait by
// watching; these bound the few waits no watch can end (see each RequeueAfter's comment).
package requeue

import (
	"errors"
	"time"
)

// Defaults of CAPTEP-0016.
const (
	DefaultInterval        = 30 * time.Second
	DefaultErrorInterval   = 10 * time.Second
	maxReasonableInterval  = 24 * time.Hour
	minReasonableInterval  = 100 * time.Millisecond
	errIntervalOutOfBounds = "must be between 100ms and 24h"
)

// Intervals are the requeue intervals a controller uses.
type Intervals struct {
	// Default is for periodic checks of a settled object.
	Default time.Duration
	// Error is for retries after a failure that no watch event will end.
	Error time.Duration
}

// Defaults returns CAPTEP-0016's intervals: 30 s, 10 s on error. CAPTEP-0016's third,
// 5 s while initialising, has no use: every wait while a cluster is created ends with a
// watch event (docs/architecture.md), so nothing polls.
func Defaults() Intervals {
	return Intervals{Default: DefaultInterval, Error: DefaultErrorInterval}
}

// Validate rejects intervals that would make a hot loop or never retry.
func (i Intervals) Validate() error {
	var errs []error
	for name, d := range map[string]time.Duration{
		"--requeue-interval":       i.Default,
		"--error-requeue-interval": i.Error,
	} {
		if d < minReasonableInterval || d > maxReasonableInterval {
			errs = append(errs, errors.New(name+" "+errIntervalOutOfBounds+", got "+d.String()))
		}
	}
	return errors.Join(errs...)
}
