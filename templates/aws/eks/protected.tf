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

  # EKS settings (settings.tf). Log types, the upgrade policy and adding encryption
  # change in place; changing or removing the encryption key, or changing
  # bootstrap_self_managed_addons, replaces the cluster (refused at admission once set).
  enabled_cluster_log_types     = length(local.enabled_cluster_log_types) > 0 ? local.enabled_cluster_log_types : null
  bootstrap_self_managed_addons = var.bootstrap_self_managed_addons

  dynamic "encryption_config" {
    for_each = var.create_kms_key || var.encryption_kms_key_arn != "" ? [1] : []
    content {
      resources = ["secrets"]
      provider {
        key_arn = local.encryption_key_arn
      }
    }
  }

  dynamic "upgrade_policy" {
    for_each = var.support_type == "" ? [] : [var.support_type]
    content {
      support_type = upgrade_policy.value
    }
  }

  # The role's permissions, the encryption key's included, before EKS uses it.
  depends_on = [aws_iam_role_policy_attachment.cluster, aws_iam_role_policy.encryption]
}
