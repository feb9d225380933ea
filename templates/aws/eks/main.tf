# The EKS control plane of a CAPTControlPlane: the variables CAPT passes
# (docs/controlplane.md) and the outputs it reads (cluster_endpoint,
# cluster_certificate_authority_data, cluster_name). No kubeconfig output: CAPT builds the
# kubeconfig with an `aws eks get-token` user, so no credential is stored.
terraform {
  required_version = ">= 1.5.7"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
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
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "The CAPTCluster's public subnets, a JSON list (unused by the control plane itself)."
  type        = list(string)
  default     = []
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
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags: the CAPTCluster's additionalTags, then the control plane's, a JSON map."
  type        = map(string)
  default     = {}
}

variable "addons" {
  description = "EKS add-ons, a JSON list of {name, version, configurationValues}."
  type = list(object({
    name                = string
    version             = optional(string)
    configurationValues = optional(string)
  }))
  default = []
}

provider "aws" {
  region = var.region
  default_tags {
    tags = merge(var.tags, {
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
  name_prefix        = substr("${var.cluster_name}-eks-", 0, 38)
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
}

locals {
  # EKS takes major.minor: 1.31.2 → 1.31.
  eks_version = join(".", slice(split(".", var.kubernetes_version), 0, 2))
}

resource "aws_eks_cluster" "this" {
  name     = var.cluster_name
  version  = local.eks_version
  role_arn = aws_iam_role.cluster.arn

  vpc_config {
    subnet_ids              = var.private_subnet_ids
    endpoint_public_access  = var.endpoint_public_access
    endpoint_private_access = var.endpoint_private_access
    public_access_cidrs     = length(var.public_access_cidrs) > 0 ? var.public_access_cidrs : null
  }

  access_config {
    authentication_mode = "API_AND_CONFIG_MAP"
  }

  depends_on = [aws_iam_role_policy_attachment.cluster]
}

resource "aws_eks_addon" "this" {
  for_each             = { for a in var.addons : a.name => a }
  cluster_name         = aws_eks_cluster.this.name
  addon_name           = each.value.name
  addon_version        = each.value.version
  configuration_values = each.value.configurationValues
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
