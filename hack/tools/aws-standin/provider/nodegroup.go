package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Nodes plays the instances of EKS managed node groups where the local stack plays the
// cluster: each instance is a Node, registered and removed by `capt dev-node` (the
// command the local node group module of templates/local runs; KWOK keeps the Nodes
// Ready). Without it (AWS_STANDIN_CAPT unset) a node group only keeps its state.
type Nodes struct {
	// CAPT is the capt binary to run; it reaches the cluster through $KUBECONFIG, which
	// it inherits.
	CAPT string
}

// NodesFromEnv reads AWS_STANDIN_CAPT: a path, or a name looked up in $PATH.
func NodesFromEnv() *Nodes { return &Nodes{CAPT: os.Getenv("AWS_STANDIN_CAPT")} }

// nodeGroup is what the stand-in's EKS needs of an aws_eks_node_group to place its
// instances.
type nodeGroup struct {
	cluster, name, capacityType, instanceType string
	size                                      int
	labels                                    map[string]string
	taints                                    []nodeTaint
}

type nodeTaint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

// readNodeGroup reads a node group's state; nil for a null one (nothing before a
// creation, nothing after a deletion).
func readNodeGroup(v tftypes.Value) (*nodeGroup, error) {
	if v.IsNull() {
		return nil, nil
	}
	o, err := asObj(v)
	if err != nil {
		return nil, err
	}
	g := &nodeGroup{cluster: o.str("cluster_name"), name: o.str("node_group_name"),
		capacityType: o.str("capacity_type"), labels: o.strMap("labels")}
	if types := o.strList("instance_types"); len(types) > 0 {
		g.instanceType = types[0]
	}
	for _, sc := range o.blocks("scaling_config") {
		n, ok := sc.num("desired_size")
		if !ok {
			return nil, fmt.Errorf("node group %s: scaling_config.desired_size is not known", g.name)
		}
		g.size = n
	}
	for _, t := range o.blocks("taint") {
		g.taints = append(g.taints, nodeTaint{Key: t.str("key"), Value: t.str("value"), Effect: t.str("effect")})
	}
	return g, nil
}

// nodeName and providerID are an instance's, stable for a node group and an index: an
// update keeps the instances a resize does not remove (EKS would replace them on a
// version change; the stand-in keeps them, and says so in docs/aws.md).
func (g *nodeGroup) nodeName(region string, i int) string {
	h := hashOf("node", g.cluster, g.name, strconv.Itoa(i))
	b := func(k int) int { v, _ := strconv.ParseUint(h[2*k:2*k+2], 16, 8); return int(v) }
	return fmt.Sprintf("ip-10-%d-%d-%d.%s.compute.internal", b(0), b(1), b(2), region)
}

func (g *nodeGroup) providerID(region string, i int) string {
	h := hashOf("instance", g.cluster, g.name, strconv.Itoa(i))
	return fmt.Sprintf("aws:///%sa/i-%s", region, h[:17])
}

// nodeLabels are the labels EKS puts on a managed node group's Nodes, under the group's
// own labels.
func (g *nodeGroup) nodeLabels(region string) map[string]string {
	out := map[string]string{
		"eks.amazonaws.com/nodegroup":    g.name,
		"eks.amazonaws.com/capacityType": g.capacityType,
		"topology.kubernetes.io/region":  region,
		"topology.kubernetes.io/zone":    region + "a",
	}
	if g.instanceType != "" {
		out["node.kubernetes.io/instance-type"] = g.instanceType
	}
	for k, v := range g.labels {
		out[k] = v
	}
	return out
}

// reconcileNodes makes the Nodes of a node group match its new state: it registers
// (again: an update changes labels and taints) the first size instances and removes
// those past it. A deletion removes every instance the prior state had.
func (n *Nodes) reconcileNodes(ctx context.Context, region string, prior, planned tftypes.Value) error {
	if n.CAPT == "" {
		return nil
	}
	before, err := readNodeGroup(prior)
	if err != nil {
		return fmt.Errorf("prior state: %w", err)
	}
	after, err := readNodeGroup(planned)
	if err != nil {
		return fmt.Errorf("new state: %w", err)
	}
	if after != nil {
		labels, err := json.Marshal(after.nodeLabels(region))
		if err != nil {
			return err
		}
		taints, err := json.Marshal(append([]nodeTaint{}, after.taints...))
		if err != nil {
			return err
		}
		for i := range after.size {
			if err := n.run(ctx, "apply", "--name", after.nodeName(region, i), "--provider-id", after.providerID(region, i),
				"--labels", string(labels), "--taints", string(taints)); err != nil {
				return err
			}
		}
	}
	if before != nil {
		from := 0
		// A renamed group (a replacement) has other instances: all of the old go.
		if after != nil && after.cluster == before.cluster && after.name == before.name {
			from = after.size
		}
		for i := from; i < before.size; i++ {
			if err := n.run(ctx, "delete", "--name", before.nodeName(region, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// run runs `capt dev-node args...`; its output goes into the error when it fails (it
// holds names and provider IDs, nothing secret).
func (n *Nodes) run(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.CAPT, append([]string{"dev-node"}, args...)...) //nolint:gosec // the stack's own capt, from AWS_STANDIN_CAPT
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("capt dev-node %s: %w: %s", args[0], err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
