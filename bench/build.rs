//! Generates tonic's hello-world Greeter (the baseline of benchmark
//! scenario 4) with no system `protoc`, as the proto crate does.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/helloworld.proto");
    let descriptors = protox::compile(["helloworld.proto"], ["proto"])?;
    tonic_prost_build::configure().build_client(false).compile_fds(descriptors)?;
    Ok(())
}
