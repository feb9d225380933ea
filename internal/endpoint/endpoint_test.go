package endpoint

import (
	"net"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
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
		// Hostile outputs (issue #8, item 6).
		{in: "HTTPS://API.Example.COM.", host: "api.example.com", port: 443},
		{in: "https://[::ffff:10.0.0.1]:6443", host: "10.0.0.1", port: 6443},
		{in: "http://user:s3cret@api.example.com", errorHas: `scheme "http"`},
		{in: "https://s3cret@api.example.com", errorHas: "user info"},
		{in: "https://@api.example.com", errorHas: "user info"},
		{in: "user:s3cret@api.example.com", errorHas: "neither a URL"},
		{in: "file:///etc/passwd", errorHas: `scheme "file"`},
		{in: "javascript:alert(1)", errorHas: "neither a URL"},
		{in: strings.Repeat("s3cret", 10) + "://api.example.com", errorHas: "scheme other than https"},
		{in: "https://api.example.com/#", errorHas: "query or fragment"},
		{in: "https://api.example.com?", errorHas: "query or fragment"},
		{in: "https://api.example.com#s3cret", errorHas: "query or fragment"},
		{in: "https://api.example.com/api?x=s3cret#y", errorHas: "has a path"},
		{in: "https://api.example.com:65536", errorHas: "port outside"},
		{in: "https://api.example.com:-1", errorHas: "not a valid URL"},
		{in: "api.example.com:0", errorHas: "port outside"},
		{in: "api.example.com:+443", errorHas: "neither a URL"},
		{in: "api.example.com:0x1bb", errorHas: "port outside"},
		{in: "api.example.com:99999999999999999999", errorHas: "port outside"},
		{in: "https://[fe80::1%25eth0]:443", errorHas: "not an IPv6 address"},
		{in: "fe80::1%eth0", errorHas: "neither a DNS name"},
		{in: "[::1", errorHas: "without its ]"},
		{in: "::1]", errorHas: "neither a DNS name"},
		{in: "[[::1]]", errorHas: "neither a URL"},
		{in: "[::1]x", errorHas: "neither a URL"},
		{in: "[api.example.com]", errorHas: "not an IPv6 address"},
		{in: "[10.0.0.1]:443", errorHas: "not an IPv6 address"},
		{in: "https://[10.0.0.1]", errorHas: "not a valid URL"},
		{in: "0.0.0.0", errorHas: "unspecified"},
		{in: "https://[::]:6443", errorHas: "unspecified"},
		{in: "127.1", errorHas: "ends in a number"},
		{in: "443", errorHas: "ends in a number"},
		{in: "1.5", errorHas: "ends in a number"},
		{in: "10.0x1", errorHas: "ends in a number"},
		{in: "-1", errorHas: "neither a DNS name"},
		{in: "1e+21", errorHas: "neither a URL"},
		{in: strings.Repeat("a", 64) + ".example.com", errorHas: "label longer than 63"},
		{in: "https://" + strings.Repeat("a", 1<<20) + ".com", errorHas: "neither a DNS name"},
		{in: "https://" + strings.Repeat("a", 1<<20), errorHas: "neither a DNS name"},
		{in: `{"host":"api.example.com"}`, errorHas: "neither a URL"},
		{in: `["https://api.example.com"]`, errorHas: "not a valid URL"},
		{in: "null", host: "null", port: 443}, // a one-label name, like "localhost"
		{in: "\x00\x01\x7f", errorHas: "neither a URL"},
		{in: "https://api.example.com\x00", errorHas: "not a valid URL"},
		{in: "https://api.example.com\r\nX-Injected: 1", errorHas: "not a valid URL"},
		{in: "api.example.com\nevil.example.com", errorHas: "neither a URL"},
		{in: "\xff\xfe\xfd", errorHas: "neither a URL"},
		{in: "https://\xff.example.com", errorHas: "neither a DNS name"},
		{in: "https://ëxample.com", errorHas: "neither a DNS name"},
		{in: "ëxample.com", errorHas: "neither a URL"},
		{in: "${var.endpoint}", errorHas: "neither a URL"},
	}
	for _, tc := range cases {
		host, port, err := Parse(tc.in)
		if tc.errorHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errorHas) {
				t.Errorf("Parse(%q) = %q, %d, %v; want error containing %q", tc.in, host, port, err, tc.errorHas)
			}
			if err != nil && (strings.Contains(err.Error(), "s3cret") || len(err.Error()) > maxErrorLength) {
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

// maxErrorLength bounds Parse's errors: they describe the value, never repeat it.
const maxErrorLength = 100

// FuzzParse checks that Parse never panics, that its errors are short and free of
// control characters (they go into conditions), and that whatever it accepts is an IP
// address or a DNS name that round-trips: its URL parses back to the same host and port.
// The seeds cover every hostile form of issue #8 (item 6); go test runs them.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		// Good forms.
		"https://a.example.com:6443/", "https://ABC.gr7.us-west-2.eks.amazonaws.com", "api.example.com:8443",
		"10.0.0.1", "[::1]:443", "::1", "https://[2001:db8::1]", "[2001:db8::1]", "localhost.", " https://a.example.com\n",
		// Schemes and user info.
		"http://a.example.com", "ftp://a.example.com", "file:///etc/passwd", "HTTPS://A.EXAMPLE.COM", "javascript:alert(1)",
		"https://u:p@h", "https://u@h", "https://@h", "u:p@h", strings.Repeat("x", 100) + "://h",
		// Paths, queries, fragments.
		"https://h/api", "https://h?x=1", "https://h#f", "https://h?", "https://h#", "https://h/?#", "//h", "h/x",
		// Ports.
		"h:0", "h:65535", "h:65536", "h:99999", "h:-1", "h:+443", "h:0443", "h:", "https://h:", "https://h:0", "h:http",
		// IPv6 and brackets.
		"https://[::1", "[::1", "::1]", "[[::1]]", "[h]", "[10.0.0.1]", "https://[fe80::1%25eth0]", "fe80::1%eth0", "[::]", "0.0.0.0",
		"::ffff:10.0.0.1", "1:2:3:4:5:6:7:8:9",
		// Hosts a client reads as numbers, long hosts and labels.
		"127.1", "443", "1.5", "0x7f.1", "1e+21", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 300) + "com",
		"https://" + strings.Repeat("a", 1<<16),
		// Garbage, wrong JSON types, control characters, invalid UTF-8.
		"", " ", "\x00", "\x00\x01\x1f\x7f", "h\r\nX: 1", "%zz", "https://%zz", "\xff\xfe", "https://\xffh", "ëxample.com",
		`"https://h"`, `{"a":1}`, `["https://h"]`, "true", "null", "${var.endpoint}", "%{if x}y%{endif}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := Parse(s)
		if err != nil {
			if msg := err.Error(); len(msg) > maxErrorLength || strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("Parse(%q) error %q is long or carries control characters", s, msg)
			}
			return
		}
		if port < 1 || host == "" {
			t.Fatalf("Parse(%q) accepted %q:%d", s, host, port)
		}
		if ip := net.ParseIP(host); ip == nil {
			if errs := validation.IsDNS1123Subdomain(host); len(errs) > 0 || strings.ContainsAny(host, "[]") {
				t.Fatalf("Parse(%q) accepted host %q: %v", s, host, errs)
			}
		} else if ip.IsUnspecified() {
			t.Fatalf("Parse(%q) accepted the unspecified address %q", s, host)
		}
		h2, p2, err := Parse(URL(host, port))
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("round trip of %q: %q:%d -> %q:%d, %v", s, host, port, h2, p2, err)
		}
	})
}
