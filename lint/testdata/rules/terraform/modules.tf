# Policies that reach a listener through a module, a variable or a default.
variable "ssl_policy" {
  type    = string
  default = "ELBSecurityPolicy-2016-08"
}

module "alb" {
  source = "terraform-aws-modules/alb/aws"
  listeners = {
    https = {
      port       = 443
      protocol   = "HTTPS"
      ssl_policy = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    }
    pq = {
      protocol   = "HTTPS"
      ssl_policy = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    }
  }
}

resource "aws_lb_listener" "from_module_default" {
  for_each   = var.listeners
  protocol   = "HTTPS"
  ssl_policy = coalesce(each.value.ssl_policy, "ELBSecurityPolicy-TLS13-1-3-2021-06")
}
