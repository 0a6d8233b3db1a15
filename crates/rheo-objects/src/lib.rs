//! Buckets (issue 14, in progress): the S3 rules that hold whatever stores the objects, as
//! pure functions (bucket names, `names`; the listing of keys with prefixes, delimiters and
//! continuation, `listing`), and local buckets on disk, durable (`local`, its layout there).
//! External S3-compatible stores, the S3 API and notifications come next.

#![forbid(unsafe_code)]

pub mod listing;
pub mod local;
pub mod multipart;
pub mod names;
