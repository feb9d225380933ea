package benchkit

// Module is the Inline module of the benchmarks' WorkspaceTemplates (their Workspaces are
// played, never run). It declares every variable CAPT's owners send, as a module written
// for CAPT does (templates/aws): a variable it did not declare would be reported on each
// apply (TemplateValid VariablesIgnored, one Warning event), which is not what the
// benchmarks measure.
const Module = `variable "cluster_name" {}
variable "cluster_namespace" { default = "" }
variable "region" { default = "" }
variable "tags" { default = "{}" }
variable "vpc_cidr" { default = "" }
variable "enable_nat_gateway" { default = "" }
variable "single_nat_gateway" { default = "" }
variable "kubernetes_version" { default = "" }
variable "vpc_id" { default = "" }
variable "private_subnet_ids" { default = "[]" }
variable "public_subnet_ids" { default = "[]" }
variable "addons" { default = "[]" }
variable "endpoint_public_access" { default = "" }
variable "endpoint_private_access" { default = "" }
variable "public_access_cidrs" { default = "[]" }
variable "node_group_name" { default = "" }
variable "subnet_ids" { default = "[]" }
variable "min_size" { default = "" }
variable "max_size" { default = "" }
variable "desired_size" { default = "" }
variable "instance_types" { default = "[]" }
variable "capacity_type" { default = "" }
variable "ami_type" { default = "" }
variable "disk_size" { default = "" }
variable "max_unavailable" { default = "" }
variable "labels" { default = "{}" }
variable "taints" { default = "[]" }
`
