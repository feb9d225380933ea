package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/dev"
	"github.com/capt-dev/capt/internal/localstack"
	"github.com/capt-dev/capt/internal/render"
	"github.com/capt-dev/capt/internal/workspace"
)

// The AWS sample's Cluster (dev.CreateAWSSample) in a namespace of this test's.
const (
	awsNamespace = "capt-e2e-aws"
	awsCluster   = dev.AWSClusterName
	awsPool      = dev.AWSPoolName
	awsFrom      = "v1.32.3"
	awsTo        = "v1.33.1"
)

// TestShippedAWSModules runs the clusterctl eks flavor (templates/clusterctl/eks.yaml,
// what `clusterctl generate cluster` gives a platform team) with the shipped
// templates/aws modules as they are in this checkout, fetched by provider-terraform with
// git, applied by OpenTofu against the AWS provider stand-in (hashicorp/aws 6.25.0's
// schema; the stand-in plays EKS with this stack: docs/aws.md). It checks that the
// Cluster becomes Available with Cluster API connecting through the EKS token CAPT
// mints for the module's cluster name; that the MachinePool is Running with the node
// group's Nodes matched by providerID; that one upgrade step reaches the EKS cluster;
// that a scale-down removes a Node; and that the deletion goes in CAPTEP-0041's order
// and leaves every Terraform state empty and no Node behind.
func TestShippedAWSModules(t *testing.T) {
	t.Parallel()
	if stack.EKSAuth == nil || !stack.AWS {
		t.Fatal("the e2e stack is not in EKS mode with the AWS stand-in (main_test.go)")
	}
	ctx := context.Background()
	key := client.ObjectKey{Namespace: awsNamespace, Name: awsCluster}
	poolKey := client.ObjectKey{Namespace: awsNamespace, Name: awsPool}
	w := createAWSCluster(t)
	if _, err := w.Until(within(t, 6*time.Minute), func(dev.Snapshot) (bool, error) {
		if ok, err := dev.Provisioned(ctx, stack.Client, key.Namespace, key.Name); !ok || err != nil {
			return ok, err
		}
		if ok, err := dev.Available(ctx, stack.Client, key.Namespace, key.Name); !ok || err != nil {
			return ok, err
		}
		return dev.MachinePoolRunning(ctx, stack.Client, poolKey.Namespace, poolKey.Name)
	}); err != nil {
		logConditions(t, key)
		logPool(t, poolKey)
		t.Fatalf("the AWS flavor's Cluster never became Available with its MachinePool Running: %v", err)
	}
	api := workspace.DefaultAPI()
	workspaces := map[string]string{} // Workspace name → its Terraform workspace
	for _, apply := range []string{awsCluster + "-vpc", awsCluster + "-controlplane", awsPool + "-nodegroup"} {
		ws := api.NewObject()
		get(t, client.ObjectKey{Name: render.WorkspaceName(api, awsNamespace, apply)}, ws)
		workspaces[ws.GetName()] = terraformWorkspace(t, ws)
	}

	cmp := &infrav1.CAPTMachinePool{}
	get(t, poolKey, cmp)
	nodeGroup := cmp.Status.NodeGroupName
	if nodeGroup == "" {
		t.Fatal("CAPTMachinePool Running without status.nodeGroupName: which Nodes are the pool's is unknown")
	}

	t.Run("Cluster API connects with the token CAPT minted", func(t *testing.T) { checkEKSConnected(t, key) })
	t.Run("state holds the modules' resources", func(t *testing.T) {
		for name, tfws := range workspaces {
			resources, ok := readStateOf(t, tfws, localstack.StateSecretSuffix(localstack.AWSProviderConfigName))
			if !ok || len(resources) == 0 {
				t.Errorf("Workspace %s: no resources in its Terraform state once applied", name)
			}
		}
		resources, _ := readStateOf(t, workspaces[render.WorkspaceName(api, awsNamespace, awsCluster+"-controlplane")],
			localstack.StateSecretSuffix(localstack.AWSProviderConfigName))
		if !resources["aws_eks_cluster.this"] {
			t.Errorf("the control plane's state %v has no aws_eks_cluster.this", resources)
		}
	})
	t.Run("node group Nodes", func(t *testing.T) { checkPoolNodes(t, poolKey, 2) })
	t.Run("one upgrade step", func(t *testing.T) { checkAWSUpgrade(t, w, key) })
	t.Run("scale-down removes a Node", func(t *testing.T) {
		mp := &clusterv1.MachinePool{}
		get(t, poolKey, mp)
		base := mp.DeepCopy()
		mp.Spec.Replicas = ptr.To[int32](1)
		if err := stack.Client.Patch(ctx, mp, client.MergeFrom(base)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
			return dev.MachinePoolRunning(ctx, stack.Client, poolKey.Namespace, poolKey.Name)
		}); err != nil {
			logPool(t, poolKey)
			t.Fatalf("MachinePool not Running with 1 replica: %v", err)
		}
		checkPoolNodes(t, poolKey, 1)
	})
	t.Run("deleted in order, nothing left", func(t *testing.T) {
		ngWorkspace := "Workspace/" + render.WorkspaceName(api, awsNamespace, awsPool+"-nodegroup")
		checkDeletion(t, w, awsCluster,
			[2]string{"MachinePool/" + awsPool + " deleting", ngWorkspace + " deleting"},
			[2]string{ngWorkspace + " gone", "WorkspaceTemplateApply/" + awsCluster + "-controlplane deleting"},
			[2]string{"CAPTMachinePool/" + awsPool + " gone", "CAPTControlPlane/" + awsCluster + " gone"},
		)
		for name, tfws := range workspaces {
			if resources, ok := readStateOf(t, tfws, localstack.StateSecretSuffix(localstack.AWSProviderConfigName)); ok && len(resources) > 0 {
				t.Errorf("Workspace %s destroyed, yet its Terraform state holds %v", name, resources)
			}
		}
		nodes := &corev1.NodeList{}
		if err := stack.Client.List(ctx, nodes, client.MatchingLabels{"eks.amazonaws.com/nodegroup": nodeGroup}); err != nil {
			t.Fatal(err)
		}
		if len(nodes.Items) != 0 {
			t.Errorf("%d Nodes of the node group left after the deletion: %s", len(nodes.Items), describeNodes(nodes.Items))
		}
	})
}

// checkAWSUpgrade raises the control plane by one minor and waits until CAPT reports it
// reached: the EKS module's aws_eks_cluster updated in place, its cluster_version output
// the new minor; the Cluster stays Available.
func checkAWSUpgrade(t *testing.T, w *dev.Watcher, key client.ObjectKey) {
	ctx := context.Background()
	cp := &controlplanev1.CAPTControlPlane{}
	get(t, key, cp)
	if cp.Status.Version != awsFrom {
		t.Fatalf("CAPTControlPlane status.version %q before the upgrade, want %s", cp.Status.Version, awsFrom)
	}
	base := cp.DeepCopy()
	cp.Spec.Version = awsTo
	if err := stack.Client.Patch(ctx, cp, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Until(within(t, 5*time.Minute), func(dev.Snapshot) (bool, error) {
		got := &controlplanev1.CAPTControlPlane{}
		if err := stack.Client.Get(ctx, key, got); err != nil {
			return false, err
		}
		return got.Status.Version == awsTo, nil
	}); err != nil {
		logConditions(t, key)
		t.Fatalf("the control plane never reported %s: %v", awsTo, err)
	}
	api := workspace.DefaultAPI()
	ws := api.NewObject()
	get(t, client.ObjectKey{Name: render.WorkspaceName(api, awsNamespace, awsCluster+"-controlplane")}, ws)
	if v, _, _ := unstructured.NestedString(ws.Object, "status", "atProvider", "outputs", "cluster_version"); v != "1.33" {
		t.Errorf("the EKS module's cluster_version output %q after the upgrade, want 1.33", v)
	}
	if ok, err := dev.Available(ctx, stack.Client, key.Namespace, key.Name); !ok || err != nil {
		logConditions(t, key)
		t.Errorf("Cluster not Available after the upgrade (%v)", err)
	}
}

// createAWSCluster creates the eks flavor (dev.CreateAWSSample) in awsNamespace at
// awsFrom, its modules this checkout's, and returns a watcher of its objects.
func createAWSCluster(t *testing.T) *dev.Watcher {
	t.Helper()
	ctx := context.Background()
	repo, err := dev.ModulesRepo(root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.CreateAWSSample(ctx, stack.Client, root, awsNamespace, repo, awsFrom, stack.EKSAuth); err != nil {
		t.Fatal(err)
	}
	return eksWatcher(t, awsNamespace, awsCluster)
}
