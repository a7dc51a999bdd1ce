# An ALB with the usual listeners.
resource "aws_lb_listener" "https_default" {
  load_balancer_arn = aws_lb.front.arn
  port              = 443
  protocol          = "HTTPS"
  certificate_arn   = aws_acm_certificate.front.arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}

resource "aws_alb_listener" "legacy" {
  load_balancer_arn = aws_lb.front.arn
  port              = 8443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-2016-08"
  certificate_arn   = aws_acm_certificate.front.arn
}

resource "aws_lb_listener" "nlb_tls_fips" {
  load_balancer_arn = aws_lb.internal.arn
  port              = 5432
  protocol          = "TLS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04"
}

resource "aws_lb_listener" "tls13_only" {
  protocol   = "HTTPS"
  ssl_policy = "ELBSecurityPolicy-TLS13-1-3-2021-06"
}
