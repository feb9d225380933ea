# aws_eks_cluster.this, the EKS cluster, is protected against destroy and replacement
# (WorkspaceTemplate spec.protection, variable capt_protect; docs/workspaces.md,
# "Protected resources"): a plan that would destroy or replace it fails until a person
# approves the change on the WorkspaceTemplateApply. It is written twice:
# protected.tofu, which OpenTofu reads instead of protected.tf, adds lifecycle {
# prevent_destroy = var.capt_protect }, which Terraform 1.5 refuses; protected.tf, which
# Terraform reads (it ignores .tofu files), leaves it out, so that with Terraform the
# module works, unprotected. The two stay the same but for that rule (test/awsmodules
# checks it). An override file would need no copy, but OpenTofu then no longer reports
# an unknown argument of the resource.

resource "aws_eks_cluster" "this" {
  name     = var.cluster_name
  version  = local.eks_version
  role_arn = aws_iam_role.cluster.arn

  vpc_config {
    subnet_ids              = local.private_subnet_ids
    endpoint_public_access  = var.endpoint_public_access
    endpoint_private_access = var.endpoint_private_access
    public_access_cidrs     = length(local.public_access_cidrs) > 0 ? local.public_access_cidrs : null
  }

  # Access entries need API or API_AND_CONFIG_MAP (CONFIG_MAP alone ignores them).
  access_config {
    authentication_mode                         = "API_AND_CONFIG_MAP"
    bootstrap_cluster_creator_admin_permissions = var.bootstrap_cluster_creator_admin_permissions
  }

  depends_on = [aws_iam_role_policy_attachment.cluster]
}
