package provider

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// nodeGroupType is the part of aws_eks_node_group's schema the stand-in reads.
var (
	scalingType = tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"desired_size": tftypes.Number, "min_size": tftypes.Number, "max_size": tftypes.Number}}
	taintType     = tftypes.Object{AttributeTypes: map[string]tftypes.Type{"key": tftypes.String, "value": tftypes.String, "effect": tftypes.String}}
	nodeGroupType = tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"cluster_name": tftypes.String, "node_group_name": tftypes.String, "capacity_type": tftypes.String,
		"instance_types": tftypes.List{ElementType: tftypes.String}, "labels": tftypes.Map{ElementType: tftypes.String},
		"scaling_config": tftypes.List{ElementType: scalingType}, "taint": tftypes.Set{ElementType: taintType},
	}}
)

func nodeGroupValue(name string, size int64) tftypes.Value {
	n := func(v int64) tftypes.Value { return tftypes.NewValue(tftypes.Number, new(big.Float).SetInt64(v)) }
	return tftypes.NewValue(nodeGroupType, map[string]tftypes.Value{
		"cluster_name": stringValue("c1"), "node_group_name": stringValue(name), "capacity_type": stringValue("ON_DEMAND"),
		"instance_types": tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{stringValue("t3.medium")}),
		"labels":         stringMapValue(map[string]string{"team": "a"}),
		"scaling_config": tftypes.NewValue(tftypes.List{ElementType: scalingType}, []tftypes.Value{
			tftypes.NewValue(scalingType, map[string]tftypes.Value{"desired_size": n(size), "min_size": n(0), "max_size": n(5)}),
		}),
		"taint": tftypes.NewValue(tftypes.Set{ElementType: taintType}, []tftypes.Value{
			tftypes.NewValue(taintType, map[string]tftypes.Value{"key": stringValue("dedicated"), "value": tftypes.NewValue(tftypes.String, nil), "effect": stringValue("NO_SCHEDULE")}),
		}),
	})
}

// fakeCAPT is a capt that records each dev-node call as a line; exit makes it fail.
func fakeCAPT(t *testing.T, exit int) (bin, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	bin = filepath.Join(dir, "capt")
	script := "#!/bin/sh\necho \"$*\" >> " + log + "\necho 'no API server here' >&2\nexit " + string(rune('0'+exit)) + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return bin, log
}

func calls(t *testing.T, log string) []string {
	t.Helper()
	data, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// TestNodeGroupNodesFollowTheSize: a creation registers desired_size Nodes with EKS's
// labels, the group's and its taints; a scale-down removes those past the new size and
// re-registers the rest; a deletion removes what is left; nothing runs without capt.
func TestNodeGroupNodesFollowTheSize(t *testing.T) {
	ctx := context.Background()
	null := tftypes.NewValue(nodeGroupType, nil)
	bin, log := fakeCAPT(t, 0)
	n := &Nodes{CAPT: bin}
	g, err := readNodeGroup(nodeGroupValue("workers", 2))
	if err != nil {
		t.Fatal(err)
	}
	name := func(i int) string { return g.nodeName("us-west-2", i) }

	if err := n.reconcileNodes(ctx, "us-west-2", null, nodeGroupValue("workers", 2)); err != nil {
		t.Fatal(err)
	}
	got := calls(t, log)
	if len(got) != 2 || !strings.HasPrefix(got[0], "dev-node apply --name "+name(0)+" --provider-id aws:///us-west-2a/i-") ||
		!strings.HasPrefix(got[1], "dev-node apply --name "+name(1)+" ") || name(0) == name(1) {
		t.Fatalf("creation of 2 ran %q", got)
	}
	for _, want := range []string{`"eks.amazonaws.com/nodegroup":"workers"`, `"eks.amazonaws.com/capacityType":"ON_DEMAND"`,
		`"team":"a"`, `"node.kubernetes.io/instance-type":"t3.medium"`, `--taints [{"key":"dedicated","effect":"NO_SCHEDULE"}]`} {
		if !strings.Contains(got[0], want) {
			t.Errorf("registration %q lacks %s", got[0], want)
		}
	}

	if err := n.reconcileNodes(ctx, "us-west-2", nodeGroupValue("workers", 2), nodeGroupValue("workers", 1)); err != nil {
		t.Fatal(err)
	}
	got = calls(t, log)[2:]
	if len(got) != 2 || !strings.HasPrefix(got[0], "dev-node apply --name "+name(0)+" ") || got[1] != "dev-node delete --name "+name(1) {
		t.Fatalf("scale-down 2 → 1 ran %q", got)
	}

	if err := n.reconcileNodes(ctx, "us-west-2", nodeGroupValue("workers", 1), null); err != nil {
		t.Fatal(err)
	}
	if got = calls(t, log)[4:]; !slices.Equal(got, []string{"dev-node delete --name " + name(0)}) {
		t.Fatalf("deletion ran %q", got)
	}

	// A renamed group is another group: its instances are new, all the old ones go.
	if err := n.reconcileNodes(ctx, "us-west-2", nodeGroupValue("workers", 1), nodeGroupValue("others", 1)); err != nil {
		t.Fatal(err)
	}
	other, err := readNodeGroup(nodeGroupValue("others", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got = calls(t, log)[5:]; len(got) != 2 || !strings.HasPrefix(got[0], "dev-node apply --name "+other.nodeName("us-west-2", 0)+" ") ||
		got[1] != "dev-node delete --name "+name(0) || other.nodeName("us-west-2", 0) == name(0) {
		t.Fatalf("renaming ran %q", got)
	}

	if err := (&Nodes{}).reconcileNodes(ctx, "us-west-2", null, nodeGroupValue("workers", 2)); err != nil {
		t.Fatal(err)
	}
	if got := calls(t, log); len(got) != 7 {
		t.Errorf("without AWS_STANDIN_CAPT, %d calls ran", len(got)-7)
	}
}

// TestNodeGroupNodesFailLoudly: when capt fails, the apply fails, saying what capt said.
func TestNodeGroupNodesFailLoudly(t *testing.T) {
	bin, _ := fakeCAPT(t, 1)
	err := (&Nodes{CAPT: bin}).reconcileNodes(context.Background(), "us-west-2", tftypes.NewValue(nodeGroupType, nil), nodeGroupValue("workers", 1))
	if err == nil || !strings.Contains(err.Error(), "no API server here") {
		t.Fatalf("error %v, want capt's own message", err)
	}
}
