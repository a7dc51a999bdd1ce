terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

module "web" {
  source          = "../../modules/alb"
  name            = "web-prod"
  vpc_id          = var.vpc_id
  subnet_ids      = var.public_subnet_ids
  certificate_arn = var.certificate_arn
}

module "data" {
  source                    = "../../modules/nlb"
  name                      = "data-prod"
  subnet_ids                = var.private_subnet_ids
  certificate_arn           = var.certificate_arn
  postgres_target_group_arn = var.postgres_target_group_arn
  kafka_target_group_arn    = var.kafka_target_group_arn
}

# The partner API still has a 2019 listener on its own ALB.
resource "aws_alb_listener" "partner_api" {
  load_balancer_arn = var.partner_alb_arn
  port              = 8443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-2016-08"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = var.partner_target_group_arn
  }
}
