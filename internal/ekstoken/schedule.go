package ekstoken

import (
	"hash/fnv"
	"time"
)

// RefreshAt is when a token signed at signedAt is replaced: at the cluster's slot, a
// fixed second within every interval chosen from key (the cluster's UID), the first one
// after signedAt. At rest each cluster so refreshes once per interval, never later than
// interval after signing, and a thousand clusters created together spread their
// refreshes over the whole interval instead of all writing in the same second. Only
// the first refresh after a new token comes sooner than interval.
//
// Slots are whole seconds and interval is rounded down to one: a token's date has
// second precision, so a refresh at its slot is dated at or after the slot, and the next
// slot is a whole interval later.
func RefreshAt(signedAt time.Time, interval time.Duration, key string) time.Time {
	period := int64(interval / time.Second)
	if period < 1 {
		period = 1
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	slot := int64(h.Sum64() % uint64(period)) //nolint:gosec // below period, an int64

	signed := signedAt.Unix()
	// The first t > signed with t ≡ slot (mod period).
	next := signed - mod(signed-slot, period) + period
	return time.Unix(next, 0)
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
