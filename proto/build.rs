//! Generates the skills.v1 Rust code from the .proto contracts, with no
//! system `protoc`: protox parses the files, tonic-prost-build emits code.
const SERIALIZABLE_RESPONSES: [&str; 16] = [
    "ResponseMeta",
    "CellIndicators",
    "GetRegionIndicatorsResponse",
    "RankShortagesResponse",
    "GetSkillAcrossRegionsResponse",
    "InclusionShare",
    "GetInclusionResponse",
    "GetTrendResponse",
    "Region",
    "Skill",
    "GetReferenceDataResponse",
    "IndicatorUpdate",
    "Contribution",
    "GroupContribution",
    "DeadLetterCount",
    "GetPipelineStatusResponse",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["skills/v1/events.proto", "skills/v1/normalized.proto", "skills/v1/talent_gap.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["."])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("skills_descriptor.bin"), prost::Message::encode_to_vec(&descriptors))?;
    // Responses serialize to JSON for the command-line client's --json.
    let mut builder = tonic_prost_build::configure();
    for message in SERIALIZABLE_RESPONSES {
        builder = builder.type_attribute(format!(".skills.v1.{message}"), "#[derive(serde::Serialize)]");
    }
    builder
        .field_attribute(".skills.v1.ResponseMeta.as_of", "#[serde(serialize_with = \"crate::serialize_timestamp\")]")
        .field_attribute(
            ".skills.v1.GetPipelineStatusResponse.as_of",
            "#[serde(serialize_with = \"crate::serialize_timestamp\")]",
        )
        .compile_fds(descriptors)?;
    Ok(())
}
