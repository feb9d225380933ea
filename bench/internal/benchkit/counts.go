package benchkit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Counts are numbers by name (requests by verb and resource, writes by kind).
type Counts map[string]int

// String lists the counts by name, largest first.
func (c Counts) String() string {
	keys := slices.Collect(maps.Keys(c))
	slices.SortFunc(keys, func(a, b string) int {
		if c[a] != c[b] {
			return c[b] - c[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
