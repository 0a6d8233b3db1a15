//! Buckets: the S3 rules that hold whatever stores the objects, as pure functions (bucket
//! names, `names`; the listing of keys with prefixes, delimiters and continuation,
//! `listing`); local buckets on disk, durable (`local`, its layout there; `multipart`); and
//! buckets on other S3-compatible stores (`external`).

#![forbid(unsafe_code)]

pub mod external;
pub mod listing;
pub mod local;
pub mod multipart;
pub mod names;
