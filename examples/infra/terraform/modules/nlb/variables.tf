variable "name" { type = string }
variable "subnet_ids" { type = list(string) }
variable "certificate_arn" { type = string }
variable "postgres_target_group_arn" { type = string }
variable "kafka_target_group_arn" { type = string }
