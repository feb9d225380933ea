# The EKS control plane of a CAPTControlPlane: the variables CAPT passes
# (docs/controlplane.md) and the outputs it reads (cluster_endpoint,
# cluster_certificate_authority_data, cluster_name). No kubeconfig output: CAPT builds the
# kubeconfig itself, so no credential is stored in Terraform's state.
#
# Access: the cluster authenticates IAM principals through access entries
# (authentication mode API_AND_CONFIG_MAP). capt_principal_arn, set in the
# WorkspaceTemplate or by the CAPTControlPlane's spec.controlPlaneConfig.access (which
# wins), gets one with cluster admin: the identity CAPT mints the tokens of
# <cluster>-kubeconfig with (docs/install.md, "EKS: the identity CAPT mints tokens with").
# Other principals: access_entries (settings.tf).
terraform {
  required_version = ">= 1.5.7"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.79.0, < 7.0"
    }
  }
}

variable "cluster_name" {
  description = "The Cluster API Cluster's name; the EKS cluster gets it too."
  type        = string
}

variable "cluster_namespace" {
  description = "The Cluster's namespace, recorded in a tag."
  type        = string
}

variable "kubernetes_version" {
  description = "The Kubernetes minor or patch version (spec.version without the v); EKS takes major.minor."
  type        = string
}

variable "region" {
  description = "The AWS region (the CAPTCluster's spec.region)."
  type        = string
}

variable "vpc_id" {
  description = "The CAPTCluster's VPC."
  type        = string
}

variable "private_subnet_ids" {
  description = "The control plane's subnets (the CAPTCluster's private subnets), a JSON list."
  type        = string
}

variable "public_subnet_ids" {
  description = "The CAPTCluster's public subnets, a JSON list (unused by the control plane itself)."
  type        = string
  default     = "[]"
}

variable "endpoint_public_access" {
  description = "Whether the API server is reachable from the internet."
  type        = bool
  default     = true
}

variable "endpoint_private_access" {
  description = "Whether the API server is reachable from inside the VPC."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "Where the public endpoint may be reached from, a JSON list; everywhere when empty."
  type        = string
  default     = "[]"
}

variable "tags" {
  description = "Tags: the CAPTCluster's additionalTags, then the control plane's, a JSON map."
  type        = string
  default     = "{}"
}

variable "addons" {
  description = "EKS add-ons, a JSON list of {name, version, configurationValues} (version and configurationValues may be absent)."
  type        = string
  default     = "[]"
}

# Set in the WorkspaceTemplate (forProvider.varmap), once per installation, or per
# cluster by the CAPTControlPlane's spec.controlPlaneConfig.access (captPrincipalARN,
# bootstrapClusterCreatorAdminPermissions), which CAPT sends only when set and which then
# wins over the varmap.
variable "capt_principal_arn" {
  description = "The IAM role (or user) CAPT mints this cluster's tokens with, given cluster admin through an EKS access entry: the role of CAPT's ServiceAccount (arn:aws:iam::<account>:role/<path/name>), or the user of the per-cluster identity Secret. Never an STS assumed-role session ARN. Empty: no access entry."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.capt_principal_arn == "" || can(regex("^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:(role|user)/.+", var.capt_principal_arn))
    error_message = "capt_principal_arn must be empty or an IAM role or user ARN (arn:aws:iam::123456789012:role/name), not an STS assumed-role session ARN (arn:aws:sts::...:assumed-role/...)."
  }
}

variable "bootstrap_cluster_creator_admin_permissions" {
  description = "Whether EKS gives the identity that creates the cluster (provider-terraform's) cluster admin through an access entry of its own. Set it true, and leave capt_principal_arn empty, when CAPT and provider-terraform share one identity: a principal has at most one access entry per cluster. Changing it replaces the cluster; false is what clusters created before this variable existed got."
  type        = bool
  default     = false
  nullable    = false
}

variable "capt_protect" {
  description = "Refuse to destroy or replace the EKS cluster (protected.tofu, OpenTofu only). CAPT sets it when the WorkspaceTemplate declares spec.protection: true, false for a change a person approved and for the destroy of a deletion. Unset, nothing is protected."
  type        = bool
  default     = false
  nullable    = false
}

provider "aws" {
  region = var.region
  default_tags {
    tags = merge(local.tags, {
      "sigs.k8s.io/cluster-api-provider-terraform/cluster" = "${var.cluster_namespace}/${var.cluster_name}"
    })
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name_prefix          = substr("${var.cluster_name}-eks-", 0, 38)
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.role_permissions_boundary == "" ? null : var.role_permissions_boundary
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
}

locals {
  # EKS takes major.minor: 1.31.2 → 1.31.
  eks_version = join(".", slice(split(".", var.kubernetes_version), 0, 2))

  # CAPT passes lists and maps as JSON text (docs/controlplane.md): they reach Terraform
  # through a variables file, where a string is not converted to a list or a map.
  private_subnet_ids  = tolist(jsondecode(var.private_subnet_ids))
  public_access_cidrs = tolist(jsondecode(var.public_access_cidrs))
  tags                = tomap(jsondecode(var.tags))
  addons = [for a in jsondecode(var.addons) : {
    name                = a.name
    version             = try(a.version != "" ? a.version : null, null)
    configurationValues = try(a.configurationValues != "" ? a.configurationValues : null, null)
    # EKS settings (settings.tf): PRESERVE applies to updates only; a create then keeps
    # what it finds (NONE).
    conflictResolution    = try(a.conflictResolution, null)
    serviceAccountRoleARN = try(a.serviceAccountRoleARN, null)
    preserveOnDelete      = try(a.preserveOnDelete, null)
  }]
}

resource "aws_eks_addon" "this" {
  for_each             = { for a in local.addons : a.name => a }
  cluster_name         = aws_eks_cluster.this.name
  addon_name           = each.value.name
  addon_version        = each.value.version
  configuration_values = each.value.configurationValues

  resolve_conflicts_on_create = each.value.conflictResolution == "PRESERVE" ? "NONE" : each.value.conflictResolution
  resolve_conflicts_on_update = each.value.conflictResolution
  service_account_role_arn    = each.value.serviceAccountRoleARN
  preserve                    = each.value.preserveOnDelete
}

# CAPT's identity: cluster admin, the access Cluster API's controllers get through
# <cluster>-kubeconfig.
resource "aws_eks_access_entry" "capt" {
  count         = var.capt_principal_arn == "" ? 0 : 1
  cluster_name  = aws_eks_cluster.this.name
  principal_arn = var.capt_principal_arn
  type          = "STANDARD"
}

resource "aws_eks_access_policy_association" "capt" {
  count         = length(aws_eks_access_entry.capt)
  cluster_name  = aws_eks_cluster.this.name
  principal_arn = aws_eks_access_entry.capt[0].principal_arn
  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }
}

output "cluster_endpoint" {
  description = "Read by CAPT into spec.controlPlaneEndpoint (the Cluster's too)."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Read by CAPT into <cluster>-ca and the kubeconfig: base64 of the PEM, as EKS gives it."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_version" {
  description = "Read by CAPT to know a version change is applied (an upgrade steps one minor at a time on it)."
  value       = aws_eks_cluster.this.version
}

output "cluster_name" {
  description = "Read by CAPT for the kubeconfig's aws eks get-token user."
  value       = aws_eks_cluster.this.name
}
