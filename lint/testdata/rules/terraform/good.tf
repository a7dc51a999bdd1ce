# Near misses: PQ policies, HTTP, TCP, policies from variables, other resources.
resource "aws_lb_listener" "pq" {
  protocol   = "HTTPS"
  ssl_policy = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
}

resource "aws_lb_listener" "http" {
  port     = 80
  protocol = "HTTP"
}

resource "aws_lb_listener" "tcp" {
  protocol = "TCP"
}

resource "aws_lb_listener" "from_var" {
  protocol   = "HTTPS"
  ssl_policy = var.ssl_policy
}

resource "aws_lb_listener" "protocol_from_var" {
  protocol = var.protocol
}

resource "aws_lb_listener_certificate" "extra" {
  listener_arn    = aws_lb_listener.pq.arn
  certificate_arn = aws_acm_certificate.extra.arn
}

# Classic ELB has no PQ policies: its policy attributes are not read.
resource "aws_load_balancer_policy" "classic" {
  load_balancer_name = aws_elb.legacy.name
  policy_name        = "tls12"
  policy_type_name   = "SSLNegotiationPolicyType"
  policy_attribute {
    name  = "Reference-Security-Policy"
    value = "ELBSecurityPolicy-TLS-1-2-2017-01"
  }
}

variable "name" {
  default = "ELBSecurityPolicy-2016-08" # not an ssl_policy variable
}
