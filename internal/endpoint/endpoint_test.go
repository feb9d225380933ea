package endpoint

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in       string
		host     string
		port     int32
		errorHas string
	}{
		{in: "https://ABC123.gr7.us-west-2.eks.amazonaws.com", host: "abc123.gr7.us-west-2.eks.amazonaws.com", port: 443},
		{in: "https://api.example.com:6443", host: "api.example.com", port: 6443},
		{in: "https://api.example.com/", host: "api.example.com", port: 443},
		{in: "https://api.example.com:6443/", host: "api.example.com", port: 6443},
		{in: "  https://api.example.com\n", host: "api.example.com", port: 443},
		{in: "api.example.com", host: "api.example.com", port: 443},
		{in: "api.example.com:8443", host: "api.example.com", port: 8443},
		{in: "api.example.com/", host: "api.example.com", port: 443},
		{in: "127.0.0.1:6443", host: "127.0.0.1", port: 6443},
		{in: "10.0.0.1", host: "10.0.0.1", port: 443},
		{in: "https://[2001:db8::1]:6443", host: "2001:db8::1", port: 6443},
		{in: "https://[2001:db8::1]", host: "2001:db8::1", port: 443},
		{in: "[2001:db8::1]:443", host: "2001:db8::1", port: 443},
		{in: "[2001:db8::1]", host: "2001:db8::1", port: 443},
		{in: "2001:db8::1", host: "2001:db8::1", port: 443},
		{in: "", errorHas: "is empty"},
		{in: "http://api.example.com", errorHas: `scheme "http"`},
		{in: "ftp://api.example.com", errorHas: "want https"},
		{in: "https://user:s3cret@api.example.com", errorHas: "user info"},
		{in: "https://api.example.com/api/v1", errorHas: "has a path"},
		{in: "https://api.example.com?x=1", errorHas: "query"},
		{in: "https://api.example.com:0", errorHas: "port outside"},
		{in: "https://api.example.com:70000", errorHas: "port outside"},
		{in: "api.example.com:http", errorHas: "port outside"},
		{in: "not a host", errorHas: "neither a URL"},
		{in: "under_score.example.com", errorHas: "neither a DNS name"},
		{in: "https://", errorHas: "neither a DNS name"},
		{in: strings.Repeat("a.", 300) + "com", errorHas: "neither a DNS name"},
		{in: "\"https://quoted.example.com\"", errorHas: "not a valid URL"},
	}
	for _, tc := range cases {
		host, port, err := Parse(tc.in)
		if tc.errorHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errorHas) {
				t.Errorf("Parse(%q) = %q, %d, %v; want error containing %q", tc.in, host, port, err, tc.errorHas)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q repeats the value", err)
			}
			continue
		}
		if err != nil || host != tc.host || port != tc.port {
			t.Errorf("Parse(%q) = %q, %d, %v; want %q, %d", tc.in, host, port, err, tc.host, tc.port)
		}
	}
}

func TestURL(t *testing.T) {
	if got := URL("2001:db8::1", 443); got != "https://[2001:db8::1]:443" {
		t.Errorf("URL = %s", got)
	}
	if got := URL("api.example.com", 6443); got != "https://api.example.com:6443" {
		t.Errorf("URL = %s", got)
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts round-trips:
// its URL parses back to the same host and port.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"https://a.example.com:6443/", "[::1]:443", "::1", "https://u:p@h", "h:99999", "\x00", "https://[::1", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := Parse(s)
		if err != nil {
			return
		}
		if port < 1 || host == "" {
			t.Fatalf("Parse(%q) accepted %q:%d", s, host, port)
		}
		h2, p2, err := Parse(URL(host, port))
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("round trip of %q: %q:%d -> %q:%d, %v", s, host, port, h2, p2, err)
		}
	})
}
