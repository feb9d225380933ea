package redact

import (
	"strings"
	"testing"
)

func TestMessage(t *testing.T) {
	cases := []struct {
		name   string
		values []string
		msg    string
		want   string
	}{
		{"masks every occurrence", []string{"hunter22"}, "bad value hunter22 (hunter22)", "bad value [redacted] ([redacted])"},
		{"longest first", []string{"abcd", "abcdefgh"}, "x abcdefgh y abcd", "x [redacted] y [redacted]"},
		{"short values kept", []string{"us", "1"}, "line 1 in us", "line 1 in us"},
		{"nil redactor only truncates", nil, "plain", "plain"},
		{"multi-line value", []string{"a\nb\nc"}, "got a\nb\nc here", "got [redacted] here"},
		{"elements of a map variable", []string{`{"owner-token":"s3cr3t-tag","env":"prod"}`}, `tags "s3cr3t-tag" and "prod"`, `tags "[redacted]" and "[redacted]"`},
		{"keys of a map variable stay", []string{`{"owner-token":"s3cr3t-tag"}`}, `key owner-token`, `key owner-token`},
		{"elements of a nested list", []string{`[{"name":"vpc-cni","version":"v1.18.0"}]`}, `addon vpc-cni at v1.18.0: name`, `addon [redacted] at [redacted]: name`},
		{"JSON-looking text that does not parse", []string{`{not json`}, `bad {not json`, `bad [redacted]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r *Redactor
			if tc.values != nil {
				r = New(tc.values...)
			}
			if got := r.Message(tc.msg); got != tc.want {
				t.Errorf("Message(%q) = %q, want %q", tc.msg, got, tc.want)
			}
		})
	}
}

func TestKeepLeavesNamesReadable(t *testing.T) {
	r := New("demo", "hunter22").Keep("team-demo-1a2b", "ns-demo")
	got := r.Message("Workspace team-demo-1a2b in ns-demo: bad value demo, hunter22")
	want := "Workspace team-demo-1a2b in ns-demo: bad value [redacted], [redacted]"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestTruncateKeepsRunesWhole(t *testing.T) {
	s := strings.Repeat("é", 1000)
	got := Truncate(s, 101)
	if len(got) > 101 || !strings.HasSuffix(got, "…") || !strings.HasPrefix(s, strings.TrimSuffix(got, "…")) {
		t.Fatalf("Truncate = %q (%d bytes)", got, len(got))
	}
	if Truncate("short", 10) != "short" {
		t.Fatal("short strings must stay")
	}
}
