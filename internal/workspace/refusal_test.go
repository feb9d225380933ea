package workspace

import (
	"encoding/base64"
	"os"
	"slices"
	"strings"
	"testing"
)

// providerFailure is a Synced message as provider-terraform v0.21.2 writes it for a
// failed plan: the first error's summary in clear, the whole stderr compressed.
func providerFailure(t *testing.T, stderr string) string {
	t.Helper()
	return failureWithBlob(stderr, compressed(t, stderr))
}

func failureWithBlob(stderr, blob string) string {
	summary := ""
	if _, rest, ok := strings.Cut(stderr, "Error: "); ok {
		summary, _, _ = strings.Cut(rest, "\n")
	}
	return "observe failed: cannot diff (i.e. plan) Terraform configuration: Terraform encountered an error. " +
		"Summary: " + summary + ". To see the full error run: echo \"" + blob + "\" | base64 -d | gunzip"
}

// cutStream is stderr compressed, its stream cut after the first instance.
func cutStream(t *testing.T, stderr string) string {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(compressed(t, stderr))
	if err != nil {
		t.Fatal(err)
	}
	// Compressed whole, then cut: what is left decodes to a prefix of stderr.
	for n := len(data) - 1; n > 0; n-- {
		blob := base64.StdEncoding.EncodeToString(data[:n])
		if r := PreventedDestroy(failureWithBlob(stderr, blob)); r != nil && len(r.Addresses) == 1 {
			return blob
		}
	}
	t.Fatal("no cut leaves one instance")
	return ""
}

// TestPreventedDestroy reads the addresses of OpenTofu 1.12.6's own refusal
// (testdata/prevent-destroy.stderr: count and for_each instances, a key with a space,
// a child module's resource, lines wrapped at different places).
func TestPreventedDestroy(t *testing.T) {
	stderr, err := os.ReadFile("testdata/prevent-destroy.stderr")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`module.m.terraform_data.c`, `terraform_data.x[0]`, `terraform_data.x[1]`, `terraform_data.y["a b"]`, `terraform_data.y["k"]`}
	one := "\nError: Resource instance cannot be destroyed\n\n  on main.tf line 6:\n   6: resource \"terraform_data\" \"x\" {\n\n" +
		"Resource instance terraform_data.x has prevent_destroy set, but the plan\ncalls for it to be destroyed.\n"
	huge := strings.Repeat(one, maxRefusalDetail/len(one)+1)

	for _, tc := range []struct {
		name     string
		msg      string
		want     []string
		complete bool
		none     bool
	}{
		{name: "OpenTofu's refusal, compressed", msg: providerFailure(t, string(stderr)), want: want, complete: true},
		{name: "already expanded", msg: ProviderMessage(providerFailure(t, string(stderr))), want: want, complete: true},
		{name: "one resource", msg: providerFailure(t, one), want: []string{"terraform_data.x"}, complete: true},
		{name: "the same instance twice", msg: providerFailure(t, one+one), want: []string{"terraform_data.x"}, complete: true},
		{name: "compressed stream cut short", msg: failureWithBlob(string(stderr), cutStream(t, string(stderr))), want: []string{"terraform_data.x[1]"}, complete: false},
		{name: "detail too long to read whole", msg: providerFailure(t, huge), want: []string{"terraform_data.x"}, complete: false},
		{name: "summary without a detail", msg: "Terraform encountered an error. Summary: Resource instance cannot be destroyed.", complete: false},
		{name: "another failure", msg: providerFailure(t, "\nError: Invalid value for variable\n"), none: true},
		{name: "a refusal and another failure", msg: providerFailure(t, one+"\nError: Invalid value for variable\n"), none: true},
		{name: "success", msg: "", none: true},
		{name: "a module merely named so", msg: `cannot apply: module "prevent_destroy" not found`, none: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := PreventedDestroy(tc.msg)
			if tc.none {
				if r != nil {
					t.Fatalf("a refusal in %.200q: %+v", tc.msg, r)
				}
				return
			}
			if r == nil {
				t.Fatal("no refusal read")
			}
			if !slices.Equal(r.Addresses, tc.want) || r.Complete != tc.complete {
				t.Errorf("got %q complete=%v, want %q complete=%v", r.Addresses, r.Complete, tc.want, tc.complete)
			}
		})
	}
}
