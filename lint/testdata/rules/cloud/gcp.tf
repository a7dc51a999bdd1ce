resource "google_compute_ssl_policy" "edge" {
  name                      = "edge"
  profile                   = "MODERN"
  min_tls_version           = "TLS_1_2"
  post_quantum_key_exchange = "DEFERRED"
}

resource "google_compute_region_ssl_policy" "internal" {
  name                      = "internal"
  region                    = "europe-west1"
  profile                   = "RESTRICTED"
  post_quantum_key_exchange = "ENABLED"
}

resource "google_compute_ssl_policy" "legacy" {
  name    = "legacy"
  profile = "COMPATIBLE"
  # post_quantum_key_exchange = "DEFERRED"
}
