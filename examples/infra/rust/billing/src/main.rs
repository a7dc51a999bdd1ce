fn main() {
    println!("billing: rustls 0.22, waiting for the 0.23 API migration");
}
