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

variable "ssl_policy" {
  default = "ELBSecurityPolicy-2016-08" # a default is not a listener
}
