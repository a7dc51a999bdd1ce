variable "vpc_id" { type = string }
variable "public_subnet_ids" { type = list(string) }
variable "private_subnet_ids" { type = list(string) }
variable "certificate_arn" { type = string }
variable "postgres_target_group_arn" { type = string }
variable "kafka_target_group_arn" { type = string }
variable "partner_alb_arn" { type = string }
variable "partner_target_group_arn" { type = string }
