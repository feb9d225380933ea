package schema

// The npm package the schema is extracted from, pinned: its package.json says it was
// generated from registry.terraform.io/hashicorp/aws 6.25.0. The integrity is the
// registry's (dist.integrity), checked again after npm fetched the tarball.
const (
	NPMPackage   = "@cdktf/provider-aws"
	NPMVersion   = "21.22.1"
	NPMIntegrity = "sha512-BuSHeaQFUL9l33pBzIMRT7cTQ69AM2mLtijjteCPhVQRmvuhuj9Lvfymf7knAMhYqAT6+Lrls9jiGVW/Us3zrQ=="
)
