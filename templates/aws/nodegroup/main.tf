# An EKS managed node group of a CAPTMachinePool: the variables CAPT passes
# (docs/machinepool.md) and the outputs it reads (node_group_name, desired_size,
# kubernetes_version).
#
# Every variable is a string: CAPT passes them through a variables file, where a string
# is not converted to a number, a list or a map. Lists and maps are JSON text, decoded in
# locals; numbers are decimal text. A CAPTMachinePool field left unset sends no variable:
# the WorkspaceTemplate's varmap, or else the default here, decides (docs/workspaces.md).
#
# No bootstrap data: EKS joins a managed node group's instances to the cluster itself
# (the MachinePool's bootstrap.dataSecretName is ""), and gives the node role its access
# to the cluster, so this module adds no access entry for it.
terraform {
  required_version = ">= 1.5.7"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.33.0, < 7.0"
    }
  }
}

variable "cluster_name" {
  description = "The EKS cluster's name: the Cluster API Cluster's name, as templates/aws/eks names it."
  type        = string
}

variable "cluster_namespace" {
  description = "The Cluster's namespace, recorded in a tag."
  type        = string
}

variable "node_group_name" {
  description = "The node group's name, derived by CAPT from the CAPTMachinePool (at most 63 characters)."
  type        = string

  validation {
    condition     = can(regex("^[0-9A-Za-z][A-Za-z0-9_-]{0,62}$", var.node_group_name))
    error_message = "node_group_name must be 1 to 63 letters, digits, - or _, starting with a letter or a digit."
  }
}

variable "region" {
  description = "The AWS region (the CAPTCluster's spec.region)."
  type        = string
}

variable "kubernetes_version" {
  description = "The Kubernetes version (1.31.2 or v1.31.2; EKS takes major.minor). Empty: the control plane's version."
  type        = string
}

variable "subnet_ids" {
  description = "The subnets the instances run in, a JSON list."
  type        = string
}

variable "instance_types" {
  description = "The EC2 instance types, a JSON list (several only make sense with SPOT)."
  type        = string
  default     = "[]"
}

variable "capacity_type" {
  description = "ON_DEMAND or SPOT."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.capacity_type)
    error_message = "capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "ami_type" {
  description = "The EKS AMI type (AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD, BOTTLEROCKET_x86_64, ...). Empty: EKS's default for the instance types."
  type        = string
  default     = ""
}

variable "disk_size" {
  description = "The root volume's size in GiB, as decimal text. Empty: EKS's default (20 GiB)."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^([0-9]+)?$", var.disk_size))
    error_message = "disk_size must be empty or a number of GiB."
  }
}

variable "min_size" {
  description = "The fewest instances, as decimal text."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.min_size))
    error_message = "min_size must be a number."
  }
}

variable "max_size" {
  description = "The most instances, as decimal text (at least 1, at least min_size)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.max_size))
    error_message = "max_size must be a number."
  }
}

variable "desired_size" {
  description = "The MachinePool's replicas, as decimal text. Empty when an autoscaler owns the size (cluster.x-k8s.io/replicas-managed-by): the node group starts at min_size and Terraform never changes its desired size."
  type        = string

  validation {
    condition     = can(regex("^([0-9]+)?$", var.desired_size))
    error_message = "desired_size must be empty or a number."
  }
}

variable "max_unavailable" {
  description = "How many instances an update may take away at once, as decimal text (at least 1)."
  type        = string
  default     = "1"

  validation {
    condition     = can(regex("^[0-9]+$", var.max_unavailable))
    error_message = "max_unavailable must be a number."
  }
}

variable "labels" {
  description = "Kubernetes labels on the node group's Nodes, a JSON map."
  type        = string
  default     = "{}"
}

variable "taints" {
  description = "Kubernetes taints on the node group's Nodes, a JSON list of {key, value, effect}; effect is NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE (EKS's names), value may be absent."
  type        = string
  default     = "[]"

  validation {
    # try: HCL's && evaluates both sides, so a malformed value must not reach an attribute access.
    condition     = try(alltrue([for t in jsondecode(var.taints) : t.key != "" && contains(["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"], t.effect)]), false)
    error_message = "taints must be a JSON list of {key, value, effect} with effect NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE."
  }
}

variable "tags" {
  description = "AWS tags: the CAPTCluster's additionalTags, then the pool's, a JSON map."
  type        = string
  default     = "{}"
}

variable "capt_protect" {
  description = "Refuse to destroy or replace the node group's IAM role (protected.tofu, OpenTofu only). CAPT sets it when the WorkspaceTemplate declares spec.protection: true, false for a change a person approved and for the destroy of a deletion. Unset, nothing is protected."
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

locals {
  # EKS takes major.minor: v1.31.2 → 1.31. null leaves the choice to EKS: the control
  # plane's version at creation, and no change afterwards.
  trimmed_version = trimprefix(var.kubernetes_version, "v")
  eks_version     = local.trimmed_version == "" ? null : join(".", slice(split(".", local.trimmed_version), 0, 2))

  subnet_ids     = tolist(jsondecode(var.subnet_ids))
  instance_types = tolist(jsondecode(var.instance_types))
  labels         = tomap(jsondecode(var.labels))
  tags           = tomap(jsondecode(var.tags))
  taints = [for t in jsondecode(var.taints) : {
    key    = t.key
    value  = try(t.value != "" ? t.value : null, null)
    effect = t.effect
  }]

  ami_type  = var.ami_type == "" ? null : var.ami_type
  disk_size = var.disk_size == "" ? null : tonumber(var.disk_size)
  min_size  = tonumber(var.min_size)
  max_size  = tonumber(var.max_size)

  # An autoscaler owns the size when CAPT passes no desired size.
  autoscaled   = var.desired_size == ""
  desired_size = local.autoscaled ? local.min_size : tonumber(var.desired_size)
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# What a node needs: to join the cluster, the VPC CNI's ENI management (aws-node runs
# with the node's role unless IRSA or Pod Identity is set up for it), and pulling images
# from ECR (EKS's own add-on images among them).
resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
  ])
  role       = aws_iam_role.node.name
  policy_arn = each.value
}

# Two resources because lifecycle.ignore_changes cannot depend on a variable: exactly one
# exists, chosen by count. "fixed" follows desired_size; "autoscaled" starts at min_size
# and then ignores its desired size, which the autoscaler changes in AWS. Switching a pool
# between the two (adding or removing cluster.x-k8s.io/replicas-managed-by on the
# MachinePool) replaces its node group: Terraform destroys one resource and creates the
# other, and every instance of the pool is replaced. Both have the same name and nothing
# orders the two operations, so the creation fails with "already exists" while the old
# group is being deleted; provider-terraform's next apply creates it.
resource "aws_eks_node_group" "fixed" {
  count = local.autoscaled ? 0 : 1

  cluster_name    = var.cluster_name
  node_group_name = var.node_group_name
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = local.subnet_ids
  version         = local.eks_version
  instance_types  = local.instance_types
  capacity_type   = var.capacity_type
  ami_type        = local.ami_type
  disk_size       = local.disk_size
  labels          = local.labels

  scaling_config {
    min_size     = local.min_size
    max_size     = local.max_size
    desired_size = local.desired_size
  }

  update_config {
    max_unavailable = tonumber(var.max_unavailable)
  }

  dynamic "taint" {
    for_each = local.taints
    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = taint.value.effect
    }
  }

  # The policies must be attached before instances start, and stay attached until the
  # group is gone, or its instances cannot join (creation) or drain cleanly (deletion).
  depends_on = [aws_iam_role_policy_attachment.node]
}

resource "aws_eks_node_group" "autoscaled" {
  count = local.autoscaled ? 1 : 0

  cluster_name    = var.cluster_name
  node_group_name = var.node_group_name
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = local.subnet_ids
  version         = local.eks_version
  instance_types  = local.instance_types
  capacity_type   = var.capacity_type
  ami_type        = local.ami_type
  disk_size       = local.disk_size
  labels          = local.labels

  scaling_config {
    min_size     = local.min_size
    max_size     = local.max_size
    desired_size = local.desired_size
  }

  update_config {
    max_unavailable = tonumber(var.max_unavailable)
  }

  dynamic "taint" {
    for_each = local.taints
    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = taint.value.effect
    }
  }

  # The autoscaler owns the desired size: a plan that set it back to min_size would undo
  # every scale-up at the next apply.
  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

output "node_group_name" {
  description = "Read by CAPT: it selects the node group's Nodes in the workload cluster by the label eks.amazonaws.com/nodegroup=<this value>, for the MachinePool's ready replicas and providerIDList."
  value       = one(concat(aws_eks_node_group.fixed[*].node_group_name, aws_eks_node_group.autoscaled[*].node_group_name))
}

output "desired_size" {
  description = "Read by CAPT: the node group's desired size as AWS reports it (a number); with an autoscaler, the size CAPT copies into MachinePool.spec.replicas."
  value       = one(concat(aws_eks_node_group.fixed[*].scaling_config[0].desired_size, aws_eks_node_group.autoscaled[*].scaling_config[0].desired_size))
}

output "kubernetes_version" {
  description = "Read by CAPT: the Kubernetes version (major.minor) the node group runs once applied; how it knows a version step was applied before it renders the next (docs/upgrades.md)."
  value       = one(concat(aws_eks_node_group.fixed[*].version, aws_eks_node_group.autoscaled[*].version))
}
