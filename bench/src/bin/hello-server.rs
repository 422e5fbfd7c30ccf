//! Baseline of benchmark scenario 4: tonic's hello-world Greeter, as in
//! tonic's own example, on the same runtime, allocator and transport
//! settings as skills-query. ghz loads it with `--proto
//! bench/proto/helloworld.proto`.
//!
//!   hello-server ADDRESS

use tonic::{Request, Response, Status};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod pb {
    tonic::include_proto!("helloworld");
}

#[derive(Default)]
struct Greeter;

#[tonic::async_trait]
impl pb::greeter_server::Greeter for Greeter {
    async fn say_hello(&self, request: Request<pb::HelloRequest>) -> Result<Response<pb::HelloReply>, Status> {
        Ok(Response::new(pb::HelloReply { message: format!("Hello {}!", request.into_inner().name) }))
    }
}

#[tokio::main]
async fn main() {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:50152".into());
    let address = address.parse().expect("ADDRESS is host:port");
    tonic::transport::Server::builder()
        .add_service(pb::greeter_server::GreeterServer::new(Greeter))
        .serve_with_shutdown(address, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("serve");
}
