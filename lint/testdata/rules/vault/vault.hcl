storage "raft" {
  path = "/opt/vault/data"
}

# API listener: TLS 1.2 only, for the 2020 audit's cipher list
listener "tcp" {
  address         = "0.0.0.0:8200"
  tls_cert_file   = "/opt/vault/tls/vault.crt"
  tls_key_file    = "/opt/vault/tls/vault.key"
  tls_min_version = "tls12"
  tls_max_version = "tls12"
  tls_cipher_suites = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
}

listener "tcp" {
  address         = "127.0.0.1:8210"
  tls_cert_file   = "/opt/vault/tls/vault.crt"
  tls_key_file    = "/opt/vault/tls/vault.key"
  // tls_max_version = "tls11"
  tls_max_version = "tls13"
}
