resource "aws_api_gateway_domain_name" "api" {
  domain_name              = "api.example.com"
  regional_certificate_arn = aws_acm_certificate.api.arn
  security_policy          = "TLS_1_2"
}

resource "aws_api_gateway_domain_name" "payments" {
  domain_name              = "payments.example.com"
  regional_certificate_arn = aws_acm_certificate.payments.arn
  security_policy          = "SecurityPolicy_TLS13_1_2_2021_06"
}

resource "aws_api_gateway_rest_api" "internal" {
  name            = "internal"
  security_policy = "SecurityPolicy_TLS13_1_3_2025_09"
}

resource "aws_api_gateway_domain_name" "pq" {
  domain_name              = "pq.example.com"
  regional_certificate_arn = aws_acm_certificate.pq.arn
  security_policy          = "SecurityPolicy_TLS13_1_2_PQ_2025_09"
}

resource "aws_api_gateway_domain_name" "unset" {
  domain_name              = "legacy.example.com"
  regional_certificate_arn = aws_acm_certificate.legacy.arn
}
