fn main() {
    println!("gateway: TLS via rustls with aws-lc-rs");
}
