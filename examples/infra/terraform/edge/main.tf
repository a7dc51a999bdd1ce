# The public edge: Cloudflare in front of a Google Cloud HTTPS load balancer.
terraform {
  required_providers {
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 5.0"
    }
    google = {
      source = "hashicorp/google"
    }
  }
}

variable "zone_id" {
  type = string
}

# Turned off in 2023 for a client that broke on TLS 1.3.
resource "cloudflare_zone_setting" "tls13" {
  zone_id    = var.zone_id
  setting_id = "tls_1_3"
  value      = "off"
}

resource "cloudflare_zone_setting" "min_tls" {
  zone_id    = var.zone_id
  setting_id = "min_tls_version"
  value      = "1.2"
}

resource "google_compute_ssl_policy" "origin" {
  name                      = "origin-modern"
  profile                   = "MODERN"
  min_tls_version           = "TLS_1_2"
  post_quantum_key_exchange = "DEFERRED"
}
