package install

import (
	"encoding/base64"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/release"
)

// The AWS identity each install path is given in these tests: an IAM role for IRSA, and
// a shared credentials file (an IAM user's keys, made up).
const (
	roleARN         = "arn:aws:iam::111122223333:role/capt-control-plane"
	roleARNKey      = "eks.amazonaws.com/role-arn"
	credentialsFile = "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
	credentialsEnv  = "AWS_SHARED_CREDENTIALS_FILE"
)

// awsIdentity is what the manager's default AWS credential chain gets from an install:
// read from its Deployment the way the kubelet and the SDK follow it.
type awsIdentity struct {
	// serviceAccount is the Deployment's; roleARN its annotation eks.amazonaws.com/role-arn
	// (IRSA), when the ServiceAccount is among the objects (annotated says it has it).
	serviceAccount string
	roleARN        string
	annotated      bool
	// env is the manager container's plain environment variables.
	env map[string]string
	// secret and key are the Secret and key that AWS_SHARED_CREDENTIALS_FILE's path is
	// mounted from (empty without the variable); optional is the volume's.
	secret, key string
	optional    bool
	// volumes and mounts name the pod's volumes and the container's mounts.
	volumes, mounts []string
}

// identityOf follows the manager's Deployment among objs: its ServiceAccount and that
// one's IRSA annotation, and AWS_SHARED_CREDENTIALS_FILE through the container's mount
// to the pod's volume and its Secret key. A path no mount serves fails the test.
func identityOf(t *testing.T, objs []*unstructured.Unstructured) awsIdentity {
	t.Helper()
	var d *appsv1.Deployment
	sas := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			if d != nil {
				t.Fatal("two Deployments")
			}
			d = &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d); err != nil {
				t.Fatal(err)
			}
		case "ServiceAccount":
			sas[o.GetName()] = o
		}
	}
	if d == nil {
		t.Fatal("no Deployment")
	}
	pod := d.Spec.Template.Spec
	id := awsIdentity{serviceAccount: pod.ServiceAccountName, env: map[string]string{}}
	if sa, ok := sas[id.serviceAccount]; ok {
		id.roleARN, id.annotated = sa.GetAnnotations()[roleARNKey]
	}
	var c *corev1.Container
	for i := range pod.Containers {
		if pod.Containers[i].Name == "manager" {
			c = &pod.Containers[i]
		}
	}
	if c == nil {
		t.Fatal("no container manager")
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			id.env[e.Name] = e.Value
		}
	}
	for _, v := range pod.Volumes {
		id.volumes = append(id.volumes, v.Name)
	}
	for _, m := range c.VolumeMounts {
		id.mounts = append(id.mounts, m.Name+":"+m.MountPath)
	}
	file, ok := id.env[credentialsEnv]
	if !ok {
		return id
	}
	for _, m := range c.VolumeMounts {
		rel := strings.TrimPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")
		if rel == file || m.SubPath != "" {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			id.secret, id.key = v.Secret.SecretName, rel
			id.optional = v.Secret.Optional != nil && *v.Secret.Optional
			// With items, a file is the key an item puts at its path.
			if len(v.Secret.Items) > 0 {
				id.key = ""
				for _, item := range v.Secret.Items {
					if path.Clean(item.Path) == rel {
						id.key = item.Key
					}
				}
			}
			return id
		}
	}
	t.Fatalf("%s=%s: no Secret volume is mounted there (mounts %v, volumes %v)", credentialsEnv, file, id.mounts, id.volumes)
	return id
}

// secretData is key of the Secret name among objs, and whether it is there.
func secretData(t *testing.T, objs []*unstructured.Unstructured, name, key string) (string, bool) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "Secret" || o.GetName() != name {
			continue
		}
		s := &corev1.Secret{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, s); err != nil {
			t.Fatal(err)
		}
		v, ok := s.Data[key]
		return string(v), ok
	}
	return "", false
}

// checkNoAWSIdentity: an install given no identity leaves the default chain to the pod's
// environment: no IRSA annotation, no AWS variable.
func checkNoAWSIdentity(t *testing.T, id awsIdentity) {
	t.Helper()
	if id.annotated {
		t.Errorf("ServiceAccount %s annotated %s=%q", id.serviceAccount, roleARNKey, id.roleARN)
	}
	for name := range id.env {
		if strings.HasPrefix(name, "AWS_") {
			t.Errorf("env %s=%s", name, id.env[name])
		}
	}
}

// TestHelmAWSIdentity renders charts/capt with each way of giving CAPT its own AWS
// identity (values.yaml: serviceAccount, awsCredentials, env, extraVolumes and
// extraVolumeMounts) and checks that it reaches the manager's Deployment, then applies
// the objects to the API server (server-side dry run); values that contradict each
// other are refused with a message.
func TestHelmAWSIdentity(t *testing.T) {
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	chart, err := loader.Load(filepath.Join(root, "charts", "capt"))
	if err != nil {
		t.Fatal(err)
	}
	const namespace = "capt-helm"
	if err := env.Client.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	tokenVolume := map[string]any{"name": "web-identity", "projected": map[string]any{"sources": []any{
		map[string]any{"serviceAccountToken": map[string]any{"audience": "sts.amazonaws.com", "path": "token"}}}}}
	for _, tc := range []struct {
		name   string
		values map[string]any
		check  func(t *testing.T, id awsIdentity, objs []*unstructured.Unstructured)
	}{
		{"defaults", map[string]any{}, func(t *testing.T, id awsIdentity, _ []*unstructured.Unstructured) {
			checkNoAWSIdentity(t, id)
			if id.serviceAccount != "id-defaults-capt" || len(id.volumes) != 0 || len(id.mounts) != 0 {
				t.Errorf("ServiceAccount %q, volumes %v, mounts %v: want the chart's own, none, none", id.serviceAccount, id.volumes, id.mounts)
			}
		}},
		{"irsa", map[string]any{"serviceAccount": map[string]any{"annotations": map[string]any{roleARNKey: roleARN}}},
			func(t *testing.T, id awsIdentity, _ []*unstructured.Unstructured) {
				if id.serviceAccount != "id-irsa-capt" || id.roleARN != roleARN {
					t.Errorf("ServiceAccount %q annotated %s=%q, want id-irsa-capt with %s", id.serviceAccount, roleARNKey, id.roleARN, roleARN)
				}
			}},
		{"existing-serviceaccount", map[string]any{"serviceAccount": map[string]any{"create": false, "name": "capt-irsa"}},
			func(t *testing.T, id awsIdentity, objs []*unstructured.Unstructured) {
				if id.serviceAccount != "capt-irsa" {
					t.Errorf("ServiceAccount %q, want capt-irsa", id.serviceAccount)
				}
				for _, o := range objs {
					if o.GetKind() == "ServiceAccount" {
						t.Errorf("ServiceAccount %s rendered, want none", o.GetName())
					}
					if o.GetKind() == "ClusterRoleBinding" {
						subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
						if name := subjects[0].(map[string]any)["name"]; name != "capt-irsa" {
							t.Errorf("ClusterRoleBinding %s binds %v, want capt-irsa", o.GetName(), name)
						}
					}
				}
			}},
		{"credentials-secret", map[string]any{"awsCredentials": map[string]any{"secretName": "capt-aws", "key": "creds"}},
			func(t *testing.T, id awsIdentity, _ []*unstructured.Unstructured) {
				if id.secret != "capt-aws" || id.key != "creds" || id.optional {
					t.Errorf("%s from Secret %q key %q (optional %v), want capt-aws key creds, required", credentialsEnv, id.secret, id.key, id.optional)
				}
			}},
		{"env-and-volumes", map[string]any{
			"env": []any{
				map[string]any{"name": "AWS_REGION", "value": "eu-west-1"},
				map[string]any{"name": "AWS_ROLE_ARN", "value": roleARN},
				map[string]any{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/web-identity/token"},
			},
			"extraVolumes":      []any{tokenVolume},
			"extraVolumeMounts": []any{map[string]any{"name": "web-identity", "mountPath": "/var/run/secrets/web-identity", "readOnly": true}},
		}, func(t *testing.T, id awsIdentity, _ []*unstructured.Unstructured) {
			if id.env["AWS_REGION"] != "eu-west-1" || id.env["AWS_ROLE_ARN"] != roleARN || id.env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "" {
				t.Errorf("env %v lacks the values' variables", id.env)
			}
			if strings.Join(id.volumes, ",") != "web-identity" || strings.Join(id.mounts, ",") != "web-identity:/var/run/secrets/web-identity" {
				t.Errorf("volumes %v, mounts %v, want web-identity mounted at /var/run/secrets/web-identity", id.volumes, id.mounts)
			}
		}},
		{"credentials-secret-and-extra-volumes", map[string]any{
			"awsCredentials":    map[string]any{"secretName": "capt-aws"},
			"extraVolumes":      []any{tokenVolume},
			"extraVolumeMounts": []any{map[string]any{"name": "web-identity", "mountPath": "/var/run/secrets/web-identity"}},
		}, func(t *testing.T, id awsIdentity, _ []*unstructured.Unstructured) {
			if id.secret != "capt-aws" || id.key != "credentials" || len(id.volumes) != 2 || len(id.mounts) != 2 {
				t.Errorf("Secret %q key %q, volumes %v, mounts %v: want capt-aws key credentials beside web-identity", id.secret, id.key, id.volumes, id.mounts)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := map[string]any{"image": map[string]any{"tag": "v0.1.0"}}
			for k, v := range tc.values {
				values[k] = v
			}
			objs, err := renderChart(chart, "id-"+tc.name, namespace, values)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, identityOf(t, objs), objs)
			apply(t, objs)
		})
	}

	for name, tc := range map[string]struct {
		values map[string]any
		says   string
	}{
		"no-serviceaccount-name": {map[string]any{"serviceAccount": map[string]any{"create": false}}, "serviceAccount.name is required"},
		"credentials-twice": {map[string]any{
			"awsCredentials": map[string]any{"secretName": "capt-aws"},
			"env":            []any{map[string]any{"name": credentialsEnv, "value": "/elsewhere"}},
		}, "choose one"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := renderChart(chart, "id-"+name, namespace, tc.values)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("rendering gave %v, want an error saying %q", err, tc.says)
			}
		})
	}
}

// checkClusterctlAWSIdentity reads the release's control-plane components as clusterctl
// init does, without and with CAPT_CONTROLLER_IAM_ROLE and
// CAPT_AWS_B64ENCODED_CREDENTIALS, and checks what reaches the manager's Deployment; the
// infrastructure provider, which signs nothing, gets none of it.
func checkClusterctlAWSIdentity(t *testing.T, out string) {
	t.Helper()
	const secret = "capt-control-plane-aws-credentials"
	t.Run("unset", func(t *testing.T) {
		comps := components(t, clusterctlConfig(t, nil), out, "control-plane-components.yaml", clusterctlv1.ControlPlaneProviderType)
		for _, v := range []string{"CAPT_CONTROLLER_IAM_ROLE", "CAPT_AWS_B64ENCODED_CREDENTIALS"} {
			if !strings.Contains(strings.Join(comps.Variables(), ","), v) {
				t.Errorf("variables %v lack %s", comps.Variables(), v)
			}
		}
		objs := pointers(comps.Objs())
		id := identityOf(t, objs)
		if id.annotated {
			t.Errorf("ServiceAccount %s annotated %s=%q", id.serviceAccount, roleARNKey, id.roleARN)
		}
		// The file is there, empty: the chain goes on to the pod's other sources.
		if id.secret != secret || id.key != "credentials" {
			t.Errorf("%s from Secret %q key %q, want %s key credentials", credentialsEnv, id.secret, id.key, secret)
		}
		if data, ok := secretData(t, objs, secret, "credentials"); !ok || data != "" {
			t.Errorf("Secret %s credentials %q (present %v), want empty", secret, data, ok)
		}
		apply(t, objs)
	})
	t.Run("set", func(t *testing.T) {
		cfg := clusterctlConfig(t, map[string]string{
			"CAPT_CONTROLLER_IAM_ROLE":        roleARN,
			"CAPT_AWS_B64ENCODED_CREDENTIALS": base64.StdEncoding.EncodeToString([]byte(credentialsFile)),
		})
		objs := pointers(components(t, cfg, out, "control-plane-components.yaml", clusterctlv1.ControlPlaneProviderType).Objs())
		id := identityOf(t, objs)
		if id.serviceAccount != "capt-control-plane-manager" || id.roleARN != roleARN {
			t.Errorf("ServiceAccount %q annotated %s=%q, want capt-control-plane-manager with %s", id.serviceAccount, roleARNKey, id.roleARN, roleARN)
		}
		if id.secret != secret || id.key != "credentials" {
			t.Errorf("%s from Secret %q key %q, want %s key credentials", credentialsEnv, id.secret, id.key, secret)
		}
		if data, _ := secretData(t, objs, secret, "credentials"); data != credentialsFile {
			t.Errorf("Secret %s credentials %q, want the file given", secret, data)
		}
		apply(t, objs)
	})
	t.Run("infrastructure", func(t *testing.T) {
		comps := components(t, clusterctlConfig(t, nil), out, "infrastructure-components.yaml", clusterctlv1.InfrastructureProviderType)
		checkNoAWSIdentity(t, identityOf(t, pointers(comps.Objs())))
	})
}

// TestKustomizeAWSIdentity builds the overlay docs/install.md gives for CAPT's own AWS
// identity (config/default alone gives none: TestKustomizations): config/default with
// the component config/components/aws-credentials, a generated Secret aws-credentials and
// a patch annotating the ServiceAccount for IRSA. It checks what reaches the manager's
// Deployment and applies the objects to the API server (server-side dry run).
func TestKustomizeAWSIdentity(t *testing.T) {
	root, err := localstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	overlay := t.TempDir()
	// kustomize takes other kustomizations by relative path only.
	config, err := filepath.Rel(overlay, filepath.Join(root, "config"))
	if err != nil {
		t.Fatal(err)
	}
	kustomization := `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ` + config + `/default
components:
- ` + config + `/components/aws-credentials
secretGenerator:
- name: aws-credentials
  namespace: capt-system
  files: [credentials]
patches:
- patch: |-
    apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: capt-manager
      namespace: capt-system
      annotations:
        eks.amazonaws.com/role-arn: ` + roleARN + `
`
	for name, data := range map[string]string{"kustomization.yaml": kustomization, "credentials": credentialsFile} {
		if err := os.WriteFile(filepath.Join(overlay, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	built, err := release.Kustomize(overlay)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := release.Objects(built)
	if err != nil {
		t.Fatal(err)
	}
	id := identityOf(t, objs)
	if id.serviceAccount != "capt-manager" || id.roleARN != roleARN {
		t.Errorf("ServiceAccount %q annotated %s=%q, want capt-manager with %s", id.serviceAccount, roleARNKey, id.roleARN, roleARN)
	}
	// The generated Secret's name has its content's hash: a new file rolls the manager out.
	if !strings.HasPrefix(id.secret, "aws-credentials-") || id.key != "credentials" {
		t.Errorf("%s from Secret %q key %q, want the generated aws-credentials-<hash> key credentials", credentialsEnv, id.secret, id.key)
	}
	if data, _ := secretData(t, objs, id.secret, "credentials"); data != credentialsFile {
		t.Errorf("Secret %s credentials %q, want the file given", id.secret, data)
	}
	apply(t, objs)
}
