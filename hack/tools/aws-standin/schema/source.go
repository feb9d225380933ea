package schema

import (
	"fmt"
	"strings"
)

// NPMPackage is the npm package the schemas are extracted from: cdktf's prebuilt
// hashicorp/aws bindings, one release per provider version.
const NPMPackage = "@cdktf/provider-aws"

// Package is one pinned release of NPMPackage and the hashicorp/aws version it was
// generated from (its package.json's cdktf.provider.version, checked at extraction).
// Integrity is the registry's dist.integrity, checked again after npm fetched the
// tarball.
type Package struct {
	Provider  string // hashicorp/aws version
	NPM       string // NPMPackage version
	Integrity string
}

// Packages are the versions the stand-in serves, newest first. 6.25.0 is what the
// stand-in plays by default (the local stack, make dev-aws); 5.79.0 is the EKS module's
// floor, the first hashicorp/aws with aws_eks_cluster's compute_config (EKS Auto Mode),
// after upgrade_policy (5.58), bootstrap_self_managed_addons (5.48) and
// aws_eks_pod_identity_association; 5.33.0 is the other modules' floor, the first with
// aws_eks_cluster's access_config and aws_eks_access_entry (19.1.1, generated from 5.32.1,
// has neither).
var Packages = []Package{
	{Provider: "6.25.0", NPM: "21.22.1", Integrity: "sha512-BuSHeaQFUL9l33pBzIMRT7cTQ69AM2mLtijjteCPhVQRmvuhuj9Lvfymf7knAMhYqAT6+Lrls9jiGVW/Us3zrQ=="},
	{Provider: "5.79.0", NPM: "19.45.0", Integrity: "sha512-TLeUksW7uGauhK6OcZDXRcYPyzeBwHm7zQH9h9fnpF1zZVfpPTRoFuJ+gPXuQpTd9TLsP6DeAq8SXdFMq50Xhg=="},
	{Provider: "5.33.0", NPM: "19.2.0", Integrity: "sha512-FetLBwk6UN2xb4qUibJVJchyED+CwnB1LXiKMywyB7aVR04nU4QXsEmD9y+EdIGWdfn5uu63ktd8wp7qCp0sGQ=="},
}

// DefaultVersion is the version served when the stand-in is started under a name that
// carries none (aws-standin itself, rather than a mirror's terraform-provider-aws_vX).
const DefaultVersion = "6.25.0"

// Pinned returns the pinned package of a hashicorp/aws version.
func Pinned(version string) (Package, error) {
	for _, p := range Packages {
		if p.Provider == version {
			return p, nil
		}
	}
	return Package{}, fmt.Errorf("hashicorp/aws %s is not pinned (the stand-in serves %s)", version, strings.Join(Versions(), ", "))
}

// Versions are the hashicorp/aws versions of Packages.
func Versions() []string {
	out := make([]string, len(Packages))
	for i, p := range Packages {
		out[i] = p.Provider
	}
	return out
}

// FileName is the name of a version's extracted schema, beside the stand-in's binary.
func FileName(version string) string { return "schema-" + version + ".json.gz" }
