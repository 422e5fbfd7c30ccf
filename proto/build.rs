//! Generates the skills.v1 Rust code from the .proto contracts, with no
//! system `protoc`: protox parses the files, tonic-prost-build emits code.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "skills/v1/events.proto",
        "skills/v1/normalized.proto",
        "skills/v1/talent_gap.proto",
        "skills/v1/gateway.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["."])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("skills_descriptor.bin"), prost::Message::encode_to_vec(&descriptors))?;
    // The service's client and server only with the `grpc` feature.
    let grpc = std::env::var_os("CARGO_FEATURE_GRPC").is_some();
    tonic_prost_build::configure()
        .build_client(grpc)
        .build_server(grpc)
        .compile_fds_with_config(descriptors, type_names())?;
    Ok(())
}

/// Every message names itself (`prost::Name`), for the JSON mapping.
fn type_names() -> tonic_prost_build::Config {
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    config
}
