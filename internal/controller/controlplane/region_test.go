package controlplane

import "testing"

func TestEndpointRegion(t *testing.T) {
	for host, want := range map[string]string{
		"abcdef0123.gr7.us-west-2.eks.amazonaws.com": "us-west-2",
		"abc.yl4.eu-central-1.eks.amazonaws.com":     "eu-central-1",
		"abc.sk1.ap-southeast-3.eks.amazonaws.com":   "ap-southeast-3",
		"demo.eks.example.com":                       "",
		"eks.amazonaws.com":                          "",
		"us-west-2.eks.amazonaws.com":                "",
		"10.0.0.1":                                   "",
		"":                                           "",
	} {
		if got := endpointRegion(host); got != want {
			t.Errorf("endpointRegion(%q) = %q, want %q", host, got, want)
		}
	}
}
