//! The `rheo` binary: `rheo serve` runs the server; `rheo bench` drives any Kinesis endpoint,
//! `rheo bench-sqs` any SQS endpoint.

#![forbid(unsafe_code)]

mod bench;
mod bench_firehose;
mod bench_s3;
mod bench_sqs;
mod config;
mod logs;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rheo",
    version,
    about = "A self-hosted, durable platform for real-time pipelines: Kinesis, SQS, SNS and Lambda on one port"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server on embedded storage.
    Serve(Box<config::ServeArgs>),
    /// Measure an endpoint (Rheo or any other Kinesis implementation).
    Bench(bench::BenchArgs),
    /// Measure an SQS endpoint (Rheo, moto's server, ...).
    BenchSqs(bench_sqs::BenchSqsArgs),
    /// Measure an S3 endpoint (Rheo, moto's server, ...).
    BenchS3(bench_s3::BenchS3Args),
    /// Measure a Firehose endpoint delivering into its S3 API (Rheo, moto's server, ...).
    BenchFirehose(bench_firehose::BenchFirehoseArgs),
    /// Print a function's log lines from a running server.
    Logs(logs::LogsArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("RHEO_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(config::serve(*args)),
        Command::Bench(args) => runtime.block_on(bench::run(args)),
        Command::BenchSqs(args) => runtime.block_on(bench_sqs::run(args)),
        Command::BenchS3(args) => runtime.block_on(bench_s3::run(args)),
        Command::BenchFirehose(args) => runtime.block_on(bench_firehose::run(args)),
        Command::Logs(args) => runtime.block_on(logs::run(args)),
    }
}
