//! Path-style and virtual-hosted-style addressing: `Host: <bucket>.<domain>[:port]` names the
//! bucket when `<domain>` is one of the server's S3 domains (`localhost` and
//! `s3.localhost` by default, more with `--s3-domain`); any other host (an IP address, the
//! domain itself) is path style.

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};

pub struct Domains {
    /// Longest first, so `s3.localhost` wins over `localhost`.
    domains: Vec<String>,
}

impl Domains {
    pub fn new(mut domains: Vec<String>) -> Domains {
        for d in &mut domains {
            *d = d.trim_matches('.').to_ascii_lowercase();
        }
        domains.retain(|d| !d.is_empty());
        domains.sort_by_key(|d| std::cmp::Reverse(d.len()));
        domains.dedup();
        Domains { domains }
    }

    /// The bucket a host names, if it is virtual-hosted style.
    pub fn bucket_of<'a>(&self, host: &'a str) -> Option<&'a str> {
        let host = strip_port(host);
        self.domains.iter().find_map(|d| {
            let prefix = host.strip_suffix(d.as_str())?.strip_suffix('.')?;
            (!prefix.is_empty() && prefix != "s3").then_some(prefix)
        })
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| h);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

impl S3Host for Domains {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        Ok(match self.bucket_of(host) {
            Some(bucket) => VirtualHost::new(strip_port(host)).with_bucket(bucket),
            None => VirtualHost::new(strip_port(host)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_come_from_subdomains_of_the_server_domains() {
        let d = Domains::new(vec![
            "localhost".into(),
            "s3.localhost".into(),
            "s3.example.test".into(),
        ]);
        assert_eq!(d.bucket_of("logs.localhost:4566"), Some("logs"));
        assert_eq!(d.bucket_of("logs.s3.localhost"), Some("logs"));
        assert_eq!(
            d.bucket_of("my.dotted.bucket.s3.example.test"),
            Some("my.dotted.bucket")
        );
        assert_eq!(d.bucket_of("s3.localhost:4566"), None);
        assert_eq!(d.bucket_of("localhost:4566"), None);
        assert_eq!(d.bucket_of("127.0.0.1:4566"), None);
        assert_eq!(d.bucket_of("[::1]:4566"), None);
    }
}
