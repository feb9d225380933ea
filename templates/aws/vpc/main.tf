# The VPC of a CAPTCluster: the variables CAPT passes (docs/captcluster.md) and the
# outputs it reads (vpc_id, private_subnet_ids, public_subnet_ids, availability_zones).
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
  description = "The Cluster API Cluster's name; names and tags every resource."
  type        = string
}

variable "cluster_namespace" {
  description = "The Cluster's namespace, recorded in a tag."
  type        = string
}

variable "region" {
  description = "The AWS region (CAPTCluster spec.region)."
  type        = string
}

variable "tags" {
  description = "Extra tags (CAPTCluster spec.additionalTags), a JSON map."
  type        = string
  default     = "{}"
}

variable "vpc_cidr" {
  description = "The VPC's CIDR (spec.vpcConfig.cidr)."
  type        = string
  default     = "10.0.0.0/16"
}

variable "enable_nat_gateway" {
  description = "Give the private subnets a NAT gateway (spec.vpcConfig.enableNATGateway)."
  type        = bool
  default     = true
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones instead of one per zone (spec.vpcConfig.singleNATGateway)."
  type        = bool
  default     = false
}

variable "zone_count" {
  description = "How many availability zones to spread the subnets over."
  type        = number
  default     = 3
}

variable "capt_protect" {
  description = "Refuse to destroy or replace the VPC (protected.tofu, OpenTofu only). CAPT sets it when the WorkspaceTemplate declares spec.protection: true, false for a change a person approved and for the destroy of a deletion. Unset, nothing is protected."
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

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  # CAPT passes maps as JSON text (docs/captcluster.md): they reach Terraform through a
  # variables file, where a string is not converted to a map.
  tags  = tomap(jsondecode(var.tags))
  zones = slice(data.aws_availability_zones.available.names, 0, min(var.zone_count, length(data.aws_availability_zones.available.names)))
  # Private subnets take the first /20s, public ones the /20s after them.
  private_cidrs = [for i, _ in local.zones : cidrsubnet(var.vpc_cidr, 4, i)]
  public_cidrs  = [for i, _ in local.zones : cidrsubnet(var.vpc_cidr, 4, i + length(local.zones))]
  nat_count     = var.enable_nat_gateway ? (var.single_nat_gateway ? 1 : length(local.zones)) : 0
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = var.cluster_name }
}

resource "aws_subnet" "public" {
  count                   = length(local.zones)
  vpc_id                  = aws_vpc.this.id
  cidr_block              = local.public_cidrs[count.index]
  availability_zone       = local.zones[count.index]
  map_public_ip_on_launch = true
  tags = {
    Name                                        = "${var.cluster_name}-public-${local.zones[count.index]}"
    "kubernetes.io/role/elb"                    = "1"
    "kubernetes.io/cluster/${var.cluster_name}" = "shared"
  }
}

resource "aws_subnet" "private" {
  count             = length(local.zones)
  vpc_id            = aws_vpc.this.id
  cidr_block        = local.private_cidrs[count.index]
  availability_zone = local.zones[count.index]
  tags = {
    Name                                        = "${var.cluster_name}-private-${local.zones[count.index]}"
    "kubernetes.io/role/internal-elb"           = "1"
    "kubernetes.io/cluster/${var.cluster_name}" = "shared"
  }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }
  tags = { Name = "${var.cluster_name}-public" }
}

resource "aws_route_table_association" "public" {
  count          = length(local.zones)
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  count  = local.nat_count
  domain = "vpc"
  tags   = { Name = "${var.cluster_name}-nat-${count.index}" }
}

resource "aws_nat_gateway" "this" {
  count         = local.nat_count
  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  tags          = { Name = "${var.cluster_name}-${count.index}" }
  depends_on    = [aws_internet_gateway.this]
}

resource "aws_route_table" "private" {
  count  = length(local.zones)
  vpc_id = aws_vpc.this.id
  dynamic "route" {
    for_each = local.nat_count > 0 ? [1] : []
    content {
      cidr_block     = "0.0.0.0/0"
      nat_gateway_id = aws_nat_gateway.this[var.single_nat_gateway ? 0 : count.index].id
    }
  }
  tags = { Name = "${var.cluster_name}-private-${local.zones[count.index]}" }
}

resource "aws_route_table_association" "private" {
  count          = length(local.zones)
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

output "vpc_id" {
  description = "Read by CAPT into CAPTCluster status.vpc.id and passed to the control plane."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "Read by CAPT into status.vpc.privateSubnetIDs; the control plane's subnets."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "Read by CAPT into status.vpc.publicSubnetIDs."
  value       = aws_subnet.public[*].id
}

output "availability_zones" {
  description = "Read by CAPT into status.failureDomains."
  value       = local.zones
}
