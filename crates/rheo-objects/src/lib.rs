//! Buckets (issue 14, in progress): the S3 rules that hold whatever stores the objects, as
//! pure functions: bucket names (`names`) and the listing of keys with prefixes, delimiters and
//! continuation (`listing`). The stores (local directories, S3-compatible endpoints), the S3
//! API and notifications come next.

#![forbid(unsafe_code)]

pub mod listing;
pub mod names;
