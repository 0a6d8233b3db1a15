//! Service limits as AWS documents them for Kinesis Data Streams.

/// Largest data blob the model allows (a stream with `MaxRecordSizeInKiB` 10240).
pub const MAX_RECORD_DATA_BYTES: usize = 10 * 1024 * 1024;
/// Largest data blob of a stream with the default `MaxRecordSizeInKiB` of 1024.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Most records in one PutRecords request.
pub const PUT_RECORDS_MAX_RECORDS: usize = 500;
/// Most bytes (data plus partition keys) in one PutRecords request; 10 MiB on a stream that
/// takes records larger than 1 MiB.
pub const PUT_RECORDS_MAX_BYTES: usize = 5 * 1024 * 1024;
pub const PUT_RECORDS_MAX_BYTES_LARGE: usize = 10 * 1024 * 1024;
/// Partition keys are 1 to 256 Unicode characters.
pub const PARTITION_KEY_MAX_CHARS: usize = 256;
/// Retention period bounds in hours.
pub const MIN_RETENTION_HOURS: i64 = 24;
pub const MAX_RETENTION_HOURS: i64 = 8760;
/// Default retention of a new stream in hours.
pub const DEFAULT_RETENTION_HOURS: i64 = 24;
/// Shard iterators expire this long after they were minted.
pub const ITERATOR_TTL_MS: i64 = 300_000;
/// Most records and bytes one GetRecords call returns.
pub const GET_RECORDS_MAX_RECORDS: usize = 10_000;
pub const GET_RECORDS_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Shards an on-demand stream starts with.
pub const ON_DEMAND_INITIAL_SHARDS: u32 = 4;
/// Default per-account shard limit (settable in the server configuration).
pub const DEFAULT_SHARD_LIMIT: u32 = 20_000;
/// Default number of on-demand streams per account.
pub const ON_DEMAND_STREAM_LIMIT: u32 = 50;
/// Most tags on one stream.
pub const MAX_TAGS: usize = 50;
/// Most open shards UpdateShardCount scales a stream to.
pub const MAX_SHARDS_PER_STREAM: u32 = 10_000;

/// Enhanced fan-out consumers per stream (AWS's default quota).
pub const DEFAULT_CONSUMERS_PER_STREAM: u32 = 20;
/// How long one SubscribeToShard session lasts.
pub const SUBSCRIPTION_LIFETIME_MS: i64 = 5 * 60 * 1000;
/// Within this long of a subscription's start, another for the same consumer and shard is
/// refused; after it, the new one takes over.
pub const SUBSCRIPTION_TAKEOVER_MS: i64 = 5000;
