//! Whole-system tests: a real server on 127.0.0.1:0 driven by the official AWS SDK for Rust
//! (and, for exact error bodies, raw HTTP). One test binary with a module per area.

mod aws_cases;
mod capacity;
mod cbor;
mod channels;
mod common;
mod control;
mod crash;
mod data;
mod errors;
mod extras;
mod fanout;
mod faults;
mod firehose;
mod firehose_crash;
mod fuzz;
mod glue;
mod hardening;
mod kinesis_queues;
mod lambda;
mod limits;
mod mappings;
mod mappings_crash;
mod reshard;
mod retention;
mod s3;
mod s3_big;
mod s3_crash;
mod s3_external;
mod settings;
mod sigv4;
mod sns;
mod sqs;
mod sqs_crash;
mod tags;
mod tls;
