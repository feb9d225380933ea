package captcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	infrav1 "github.com/capt-dev/capt/api/infrastructure/v1beta1"
	"github.com/capt-dev/capt/internal/controller/observed"
	"github.com/capt-dev/capt/internal/workspace"
)

// Outputs CAPT reads from the VPC Workspace.
const (
	VPCIDOutput             = "vpc_id"
	PrivateSubnetIDsOutput  = "private_subnet_ids"
	PublicSubnetIDsOutput   = "public_subnet_ids"
	AvailabilityZonesOutput = "availability_zones"
)

// vpcOutputTypes checks the JSON types of the VPC outputs in the Workspace's status:
// the id is a string, a list is a list of strings or a string of comma-separated items.
// Outputs holds both as text, where the number 42 and the string "42" look alike.
func vpcOutputTypes(ws *workspace.Workspace) *observed.Problem {
	for _, name := range vpcOutputNames {
		switch t := ws.OutputType(name); {
		case t == "" || t == "null" || t == "string":
		case t == "array" && name != VPCIDOutput:
		case name == VPCIDOutput:
			return &observed.Problem{Reason: infrav1.VPCOutputsInvalidReason, Message: fmt.Sprintf("output %s is a JSON %s, want a string", name, t)}
		default:
			return &observed.Problem{Reason: infrav1.VPCOutputsInvalidReason, Message: fmt.Sprintf("output %s is a JSON %s, want a list of strings", name, t)}
		}
	}
	return nil
}

// vpcOutputNames are the outputs CAPT reads, in the order it reports their problems: one
// order, so a pass that finds the same outputs writes the same message.
var vpcOutputNames = []string{VPCIDOutput, PrivateSubnetIDsOutput, PublicSubnetIDsOutput, AvailabilityZonesOutput}

// vpcFromWorkspace reads the VPC from a Ready Workspace's outputs: their JSON types
// first, then their values.
func vpcFromWorkspace(ws *workspace.Workspace) (*infrav1.VPCStatus, []string, *observed.Problem) {
	if prob := vpcOutputTypes(ws); prob != nil {
		return nil, nil, prob
	}
	return vpcFromOutputs(workspace.ReadOutputs(ws, nil))
}

// vpcFromOutputs reads the VPC's id, subnets and zones; a missing or malformed output is
// a problem naming it, never quoting it.
func vpcFromOutputs(outputs map[string]string) (*infrav1.VPCStatus, []string, *observed.Problem) {
	id := outputs[VPCIDOutput]
	if id == "" {
		return nil, nil, &observed.Problem{Reason: infrav1.VPCOutputsInvalidReason, Message: "the VPC Workspace has no output " + VPCIDOutput}
	}
	if !isIdentifier(id) {
		return nil, nil, &observed.Problem{Reason: infrav1.VPCOutputsInvalidReason, Message: fmt.Sprintf("output %s %s", VPCIDOutput, notIdentifier)}
	}
	vpc := &infrav1.VPCStatus{ID: id}
	var zones []string
	into := map[string]*[]string{PrivateSubnetIDsOutput: &vpc.PrivateSubnetIDs, PublicSubnetIDsOutput: &vpc.PublicSubnetIDs, AvailabilityZonesOutput: &zones}
	for _, name := range vpcOutputNames[1:] {
		list, err := stringList(outputs[name])
		if err != nil {
			return nil, nil, &observed.Problem{Reason: infrav1.VPCOutputsInvalidReason, Message: fmt.Sprintf("output %s %s", name, err)}
		}
		*into[name] = list
	}
	return vpc, zones, nil
}

// identifier is what an AWS id or zone name looks like.
var identifier = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)

// Bounds of the VPC outputs: the CRD's bounds on failure domains (a status the API
// server refuses would carry no condition either), and far above any AWS id.
const (
	maxIdentifierLength = 256
	maxListItems        = 100
)

const notIdentifier = "is not an id or a zone name (letters, digits and ._:/-, at most 256 characters)"

func isIdentifier(s string) bool {
	return len(s) <= maxIdentifierLength && identifier.MatchString(s)
}

// stringList reads a list output: a JSON list of strings, or comma-separated text; each
// item must look like an id or a zone name, once.
func stringList(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	var list []string
	if strings.HasPrefix(v, "[") {
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return nil, errors.New("is not a list of strings")
		}
	} else {
		for _, p := range strings.Split(v, ",") {
			list = append(list, strings.TrimSpace(p))
		}
	}
	if len(list) > maxListItems {
		return nil, fmt.Errorf("has %d items, more than %d", len(list), maxListItems)
	}
	seen := make(map[string]bool, len(list))
	for _, item := range list {
		if !isIdentifier(item) {
			return nil, errors.New("holds an item that " + notIdentifier)
		}
		if seen[item] {
			return nil, errors.New("holds an item twice")
		}
		seen[item] = true
	}
	return list, nil
}
