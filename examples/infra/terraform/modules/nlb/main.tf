# Internal NLB terminating TLS for the PostgreSQL and Kafka clients (FIPS).
resource "aws_lb" "this" {
  name               = var.name
  internal           = true
  load_balancer_type = "network"
  subnets            = var.subnet_ids
}

resource "aws_lb_listener" "postgres" {
  load_balancer_arn = aws_lb.this.arn
  port              = 5432
  protocol          = "TLS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = var.postgres_target_group_arn
  }
}

resource "aws_lb_listener" "kafka" {
  load_balancer_arn = aws_lb.this.arn
  port              = 9094
  protocol          = "TCP" # TLS passes through to the brokers
  default_action {
    type             = "forward"
    target_group_arn = var.kafka_target_group_arn
  }
}
