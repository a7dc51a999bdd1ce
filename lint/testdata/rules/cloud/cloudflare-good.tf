resource "cloudflare_zone_setting" "tls13" {
  zone_id    = var.zone_id
  setting_id = "tls_1_3"
  value      = "zrt"
}

resource "cloudflare_zone_settings_override" "legacy" {
  zone_id = var.legacy_zone_id
  settings {
    min_tls_version = "1.3"
    tls_1_3         = "on"
  }
}

resource "cloudflare_zone_setting" "ipv6" {
  zone_id    = var.zone_id
  setting_id = "ipv6"
  value      = "off"
}

resource "cloudflare_zone_setting" "dynamic" {
  zone_id    = var.zone_id
  setting_id = "tls_1_3"
  value      = var.tls13
}
