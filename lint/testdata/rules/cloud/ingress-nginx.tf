resource "kubernetes_config_map_v1" "ingress_nginx" {
  metadata {
    name      = "ingress-nginx-controller"
    namespace = "ingress-nginx"
  }
  data = {
    "use-http2"      = "true"
    "ssl-protocols"  = "TLSv1.2"
    "ssl-ecdh-curve" = "prime256v1:secp384r1"
  }
}

resource "helm_release" "ingress_nginx" {
  name       = "ingress-nginx"
  repository = "https://kubernetes.github.io/ingress-nginx"
  chart      = "ingress-nginx"

  set {
    name  = "controller.config.ssl-protocols"
    value = "TLSv1.2"
  }
  set {
    name  = "controller.config.use-gzip"
    value = "true"
  }
  values = [yamlencode({
    controller = {
      config = {
        ssl-ecdh-curve = "X25519:prime256v1"
      }
    }
  })]
}

resource "kubernetes_config_map" "canary" {
  metadata {
    name = "ingress-nginx-canary"
  }
  data = {
    "ssl-protocols"  = "TLSv1.2 TLSv1.3"
    "ssl-ecdh-curve" = "X25519MLKEM768:X25519:prime256v1"
    "ssl-ciphers"    = var.ciphers
  }
}
