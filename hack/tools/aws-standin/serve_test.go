package main

import "testing"

// TestServedVersion: the stand-in plays the version a mirror links it as, the default
// under any other name, and refuses a version it has no schema for rather than serve
// another's.
func TestServedVersion(t *testing.T) {
	for _, tc := range []struct {
		argv0, want string
		err         bool
	}{
		{argv0: "/m/registry.opentofu.org/hashicorp/aws/5.33.0/linux_amd64/terraform-provider-aws_v5.33.0", want: "5.33.0"},
		{argv0: ".terraform/providers/registry.terraform.io/hashicorp/aws/6.25.0/linux_amd64/terraform-provider-aws_v6.25.0", want: "6.25.0"},
		{argv0: "/root/.cache/capt/tools/aws-standin-v6.25.0-0123/aws-standin", want: "6.25.0"},
		{argv0: "terraform-provider-aws_v5.32.1", err: true},
		{argv0: "terraform-provider-aws_v", err: true},
	} {
		got, err := servedVersion(tc.argv0)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("servedVersion(%q) = %q, %v; want %q (error: %v)", tc.argv0, got, err, tc.want, tc.err)
		}
	}
}
