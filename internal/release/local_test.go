package release

import (
	"strings"
	"testing"
)

// TestLocalToFlavorNames checks that the local flavor names every object of
// templates/local after ${CLUSTER_NAME}, the node group's WorkspaceTemplate as the eks
// flavor does (${CLUSTER_NAME}-nodegroup), and leaves other names alone.
func TestLocalToFlavorNames(t *testing.T) {
	in := strings.Join([]string{
		"# name: local-nodegroup in a comment is dropped",
		"  name: local",
		"  namespace: capt-dev",
		"  name: local-vpc",
		"  name: local-controlplane",
		"  name: local-nodegroup",
		"  vpcTemplateRef: {name: local-vpc}",
		"  workspaceTemplateRef: {name: local-nodegroup}",
		"  workspaceTemplateRef: {name: local-controlplane-failing}",
		"  secretKeyRef: {namespace: capt-dev, name: local-apiserver, key: k}",
		`  group = "${var.cluster_name}-${var.node_group_name}"`,
	}, "\n")
	want := strings.Join([]string{
		"  name: ${CLUSTER_NAME}",
		"  namespace: ${NAMESPACE}",
		"  name: ${CLUSTER_NAME}-vpc",
		"  name: ${CLUSTER_NAME}-controlplane",
		"  name: ${CLUSTER_NAME}-nodegroup",
		"  vpcTemplateRef: {name: ${CLUSTER_NAME}-vpc}",
		"  workspaceTemplateRef: {name: ${CLUSTER_NAME}-nodegroup}",
		"  workspaceTemplateRef: {name: local-controlplane-failing}",
		"  secretKeyRef: {namespace: ${NAMESPACE}, name: local-apiserver, key: k}",
		`  group = "$${var.cluster_name}-$${var.node_group_name}"`,
	}, "\n")
	if got := string(localToFlavor([]byte(in))); got != want {
		t.Errorf("localToFlavor:\n%s\nwant:\n%s", got, want)
	}
}
