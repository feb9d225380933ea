package manager

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/utils/ptr"
)

// TestDefaultAWSReadsTheMountedCredentialsFile: the install paths give CAPT its own AWS
// identity as a file named by AWS_SHARED_CREDENTIALS_FILE (charts/capt's awsCredentials,
// config/components/aws-credentials), where clusterctl's default is an empty file and
// kustomize's Secret is optional (no file). The manager's default chain signs with the
// keys of such a file, and an empty or missing one leaves it to the pod's other sources
// instead of stopping it.
func TestDefaultAWSReadsTheMountedCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	// Nothing of this machine's: no ~/.aws, no AWS variables, no instance metadata.
	t.Setenv("HOME", dir)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(name, "")
		if err := os.Unsetenv(name); err != nil {
			t.Fatal(err)
		}
	}
	for name, tc := range map[string]struct {
		file *string
		key  string
	}{
		"keys":    {ptr.To("[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n"), "AKIDEXAMPLE"},
		"empty":   {ptr.To(""), ""},
		"missing": {nil, ""},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if tc.file != nil {
				if err := os.WriteFile(path, []byte(*tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", path)
			creds, _ := defaultAWS(context.Background())
			if creds == nil {
				t.Fatal("no default credentials: the manager would sign nothing")
			}
			got, err := creds.Retrieve(context.Background())
			switch {
			case tc.key != "" && (err != nil || got.AccessKeyID != tc.key):
				t.Errorf("credentials %q, %v; want the file's %s", got.AccessKeyID, err, tc.key)
			case tc.key == "" && err == nil:
				t.Errorf("credentials %q from nowhere", got.AccessKeyID)
			}
		})
	}
}
