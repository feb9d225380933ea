# The EKS settings of a CAPTControlPlane's spec.controlPlaneConfig (docs/controlplane.md,
# "EKS settings"): access entries, the Pod Identity associations, the IRSA OIDC provider,
# the secrets encryption key, the control plane role's additions. CAPT sends each variable
# only when its field is set; every default here is what the module did before the field
# existed, so a cluster created before keeps its plan. Arguments of the EKS cluster itself
# (log types, encryption, upgrade policy, bootstrap_self_managed_addons) are in
# protected.tf and protected.tofu.

variable "access_entries" {
  description = "Access entries beside CAPT's, a JSON list of {principalARN, type, accessPolicies: [{policyARN, scope: {type, namespaces}}]} (spec.controlPlaneConfig.access.entries)."
  type        = string
  default     = "[]"
  nullable    = false
}

variable "enabled_cluster_log_types" {
  description = "The control plane log types sent to CloudWatch Logs, a JSON list (api, audit, authenticator, controllerManager, scheduler); none when empty."
  type        = string
  default     = "[]"
  nullable    = false
}

variable "encryption_kms_key_arn" {
  description = "The KMS key that encrypts Kubernetes Secrets; none when empty (unless create_kms_key)."
  type        = string
  default     = ""
  nullable    = false
}

variable "create_kms_key" {
  description = "Create a KMS key for the encryption of Kubernetes Secrets."
  type        = bool
  default     = false
  nullable    = false

  validation {
    condition     = !(var.create_kms_key && var.encryption_kms_key_arn != "")
    error_message = "create_kms_key and encryption_kms_key_arn are exclusive: one key encrypts the cluster's Secrets."
  }
}

variable "create_oidc_provider" {
  description = "Create an IAM OIDC provider for the cluster's issuer (IAM roles for service accounts)."
  type        = bool
  default     = false
  nullable    = false
}

variable "pod_identity_associations" {
  description = "EKS Pod Identity associations, a JSON list of {namespace, serviceAccount, roleARN}."
  type        = string
  default     = "[]"
  nullable    = false
}

variable "support_type" {
  description = "The upgrade policy's support type, STANDARD or EXTENDED; EKS's default when empty."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = contains(["", "STANDARD", "EXTENDED"], var.support_type)
    error_message = "support_type must be STANDARD, EXTENDED or empty."
  }
}

variable "bootstrap_self_managed_addons" {
  description = "Whether EKS installs vpc-cni, kube-proxy and coredns unmanaged at creation; EKS's default (true) when null. Changing it replaces the cluster."
  type        = bool
  default     = null
}

variable "role_additional_policy_arns" {
  description = "IAM managed policies attached to the control plane's role beside AmazonEKSClusterPolicy, a JSON list of ARNs."
  type        = string
  default     = "[]"
  nullable    = false
}

variable "role_permissions_boundary" {
  description = "The permissions boundary of the control plane's role; none when empty."
  type        = string
  default     = ""
  nullable    = false
}

locals {
  access_entries = { for e in jsondecode(var.access_entries) : e.principalARN => {
    type = try(e.type, "STANDARD")
    policies = { for p in try(e.accessPolicies, []) : p.policyARN => {
      type       = p.scope.type
      namespaces = try(p.scope.namespaces, null)
    } }
  } }
  access_policies = merge([for principal, e in local.access_entries : {
    for policy, scope in e.policies : "${principal} ${policy}" => merge(scope, { principal = principal, policy = policy })
  }]...)
  enabled_cluster_log_types = tolist(jsondecode(var.enabled_cluster_log_types))
  encryption_key_arn        = var.create_kms_key ? aws_kms_key.secrets[0].arn : var.encryption_kms_key_arn
  pod_identity_associations = { for a in jsondecode(var.pod_identity_associations) : "${a.namespace}/${a.serviceAccount}" => a }
  role_additional_policies  = toset(jsondecode(var.role_additional_policy_arns))
}

resource "aws_eks_access_entry" "entries" {
  for_each      = local.access_entries
  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.key
  type          = each.value.type
}

resource "aws_eks_access_policy_association" "entries" {
  for_each      = local.access_policies
  cluster_name  = aws_eks_cluster.this.name
  principal_arn = aws_eks_access_entry.entries[each.value.principal].principal_arn
  policy_arn    = each.value.policy

  access_scope {
    type       = each.value.type
    namespaces = each.value.namespaces
  }
}

# The key the module creates for create_kms_key; deleted with the cluster, after KMS's
# waiting period.
resource "aws_kms_key" "secrets" {
  count                   = var.create_kms_key ? 1 : 0
  description             = "Kubernetes Secrets of EKS cluster ${var.cluster_name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

# EKS uses the key with the cluster role's permissions. The document is written here
# rather than by aws_iam_policy_document, whose read would wait for a created key's ARN.
resource "aws_iam_role_policy" "encryption" {
  count = var.create_kms_key || var.encryption_kms_key_arn != "" ? 1 : 0
  name  = "kubernetes-secrets-encryption"
  role  = aws_iam_role.cluster.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]
      Resource = local.encryption_key_arn
    }]
  })
}

resource "aws_iam_role_policy_attachment" "additional" {
  for_each   = local.role_additional_policies
  role       = aws_iam_role.cluster.name
  policy_arn = each.value
}

# IRSA: IAM trusts the cluster's issuer. IAM no longer checks an EKS issuer's thumbprint
# (it trusts the issuer's certificate authority); the argument still needs a value.
resource "aws_iam_openid_connect_provider" "this" {
  count           = var.create_oidc_provider ? 1 : 0
  url             = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
}

resource "aws_eks_pod_identity_association" "this" {
  for_each        = local.pod_identity_associations
  cluster_name    = aws_eks_cluster.this.name
  namespace       = each.value.namespace
  service_account = each.value.serviceAccount
  role_arn        = each.value.roleARN
}

output "oidc_issuer_url" {
  description = "Read by CAPT into status.eks.oidcProvider.issuerURL."
  value       = try(aws_eks_cluster.this.identity[0].oidc[0].issuer, "")
}

output "oidc_provider_arn" {
  description = "Read by CAPT into status.eks.oidcProvider.arn; empty without create_oidc_provider."
  value       = try(aws_iam_openid_connect_provider.this[0].arn, "")
}

output "addon_versions" {
  description = "Read by CAPT into status.eks.addons: each add-on Terraform created or updated (and waited for ACTIVE), with the version EKS runs."
  value       = { for name, a in aws_eks_addon.this : name => a.addon_version }
}
