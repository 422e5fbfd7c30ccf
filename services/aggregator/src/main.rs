//! skills-aggregator as its own process. It needs a shared bus (Kafka); the
//! embedded bus exists only inside the all-in-one `skills` process.

fn main() -> std::process::ExitCode {
    eprintln!(
        "skills-aggregator runs on Kafka as a separate process (bus.kind = \"kafka\"), which is not built yet.\n\
         For the embedded default, run the all-in-one process: cargo run --release"
    );
    std::process::ExitCode::from(2)
}
