# aws_vpc.this, the VPC, is protected against destroy and replacement (WorkspaceTemplate
# spec.protection, variable capt_protect; docs/workspaces.md, "Protected resources"): a
# plan that would destroy or replace it fails until a person approves the change on the
# WorkspaceTemplateApply. It is written twice: protected.tofu, which OpenTofu reads
# instead of protected.tf, adds lifecycle { prevent_destroy = var.capt_protect }, which
# Terraform 1.5 refuses; protected.tf, which Terraform reads (it ignores .tofu files),
# leaves it out, so that with Terraform the module works, unprotected. The two stay the
# same but for that rule (test/awsmodules checks it). An override file would need no
# copy, but OpenTofu then no longer reports an unknown argument of the resource.

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = var.cluster_name }
}
