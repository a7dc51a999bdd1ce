# REST APIs behind API Gateway custom domains.
resource "aws_api_gateway_domain_name" "partners" {
  domain_name              = "partners.example.com"
  regional_certificate_arn = var.certificate_arn
  security_policy          = "SecurityPolicy_TLS13_1_2_2021_06"
  endpoint_configuration {
    types = ["REGIONAL"]
  }
}

# Mutual TLS: enhanced (and so PQ) security policies are not available.
resource "aws_api_gateway_domain_name" "devices" {
  domain_name              = "devices.example.com"
  regional_certificate_arn = var.certificate_arn
  security_policy          = "TLS_1_2"
  mutual_tls_authentication {
    truststore_uri = "s3://example-truststore/devices.pem"
  }
}

variable "certificate_arn" {
  type = string
}
