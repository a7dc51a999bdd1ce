resource "aws_lb_listener" "x" {
  protocol = "HTTPS"
