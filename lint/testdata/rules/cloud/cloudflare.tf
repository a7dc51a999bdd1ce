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

resource "cloudflare_zone_settings_override" "legacy" {
  zone_id = var.legacy_zone_id
  settings {
    min_tls_version = "1.2"
    tls_1_3         = "off"
  }
}

resource "cloudflare_zone_setting" "always_https" {
  zone_id    = var.zone_id
  setting_id = "always_use_https"
  value      = "off"
}
