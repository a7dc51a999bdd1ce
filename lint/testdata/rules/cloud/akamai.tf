data "akamai_property_rules_builder" "edge" {
  rules_v2026_01_09 {
    name     = "default"
    comments = "Enhanced TLS hostnames"
    behavior {
      pqc_client_to_edge {
        enabled = false
      }
    }
    behavior {
      pqc_origin {
        enabled               = true
        pqc_client_hello_keys = false
      }
    }
    children = [data.akamai_property_rules_builder.legacy_origin.json]
  }
}

data "akamai_property_rules_builder" "legacy_origin" {
  rules_v2026_01_09 {
    name = "legacy origin"
    behavior {
      pqc_origin {
        enabled = false
      }
    }
    behavior {
      caching {
        enabled = false
      }
    }
  }
}
