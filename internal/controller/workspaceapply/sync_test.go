package workspaceapply

import "testing"

func TestContains(t *testing.T) {
	cases := []struct {
		name       string
		have, want any
		ok         bool
	}{
		{"defaults and status ignored", map[string]any{"spec": map[string]any{"a": "x", "deletionPolicy": "Delete"}, "status": map[string]any{}},
			map[string]any{"spec": map[string]any{"a": "x"}}, true},
		{"changed value", map[string]any{"a": "y"}, map[string]any{"a": "x"}, false},
		{"missing field", map[string]any{}, map[string]any{"a": "x"}, false},
		{"list length", map[string]any{"l": []any{"a", "b"}}, map[string]any{"l": []any{"a"}}, false},
		{"list elements as subsets", map[string]any{"l": []any{map[string]any{"k": "a", "v": "1", "extra": true}}}, map[string]any{"l": []any{map[string]any{"k": "a", "v": "1"}}}, true},
		{"int64 against float64", map[string]any{"n": int64(3)}, map[string]any{"n": float64(3)}, true},
		{"type change", map[string]any{"n": "3"}, map[string]any{"n": int64(3)}, false},
	}
	for _, tc := range cases {
		if got := contains(tc.have, tc.want); got != tc.ok {
			t.Errorf("%s: contains = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
