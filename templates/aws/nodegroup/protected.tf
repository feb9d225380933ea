# aws_iam_role.node, the node group's IAM role, is protected against destroy and
# replacement (WorkspaceTemplate spec.protection, variable capt_protect;
# docs/workspaces.md, "Protected resources"): a plan that would destroy or replace it
# fails until a person approves the change on the WorkspaceTemplateApply. It is written
# twice: protected.tofu, which OpenTofu reads instead of protected.tf, adds lifecycle {
# prevent_destroy = var.capt_protect }, which Terraform 1.5 refuses; protected.tf, which
# Terraform reads (it ignores .tofu files), leaves it out, so that with Terraform the
# module works, unprotected. The two stay the same but for that rule (test/awsmodules
# checks it). An override file would need no copy, but OpenTofu then no longer reports
# an unknown argument of the resource.

# One role per node group, so deleting a pool removes what it created and nothing a
# sibling pool still uses. name_prefix is at most 38 characters.
resource "aws_iam_role" "node" {
  name_prefix        = substr("${var.node_group_name}-", 0, 38)
  assume_role_policy = data.aws_iam_policy_document.assume.json
}
