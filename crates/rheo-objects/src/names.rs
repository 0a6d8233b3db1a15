//! Bucket names as S3 allows them ("Bucket naming rules", general purpose buckets): 3 to 63
//! characters of lowercase letters, digits, dots and hyphens; a letter or digit first and last;
//! no two adjacent dots; not an IP address; none of the reserved prefixes and suffixes.

/// Why a name is refused (S3 answers InvalidBucketName `The specified bucket is not valid.`
/// whatever the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadName {
    Length,
    Characters,
    Edges,
    AdjacentDots,
    IpAddress,
    Reserved,
}

const RESERVED_PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

pub fn check_bucket_name(name: &str) -> Result<(), BadName> {
    if !(3..=63).contains(&name.len()) {
        return Err(BadName::Length);
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err(BadName::Characters);
    }
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge_ok(name.bytes().next()) || !edge_ok(name.bytes().last()) {
        return Err(BadName::Edges);
    }
    if name.contains("..") {
        return Err(BadName::AdjacentDots);
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(BadName::IpAddress);
    }
    if RESERVED_PREFIXES.iter().any(|p| name.starts_with(p)) || RESERVED_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return Err(BadName::Reserved);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of S3's naming rules page.
    #[test]
    fn names_follow_s3s_rules() {
        for ok in [
            "docexamplebucket1",
            "log-delivery-march-2020",
            "my-hosted-content",
            "a.b.c",
            "abc",
        ] {
            assert_eq!(check_bucket_name(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("doc_example_bucket", BadName::Characters),
            ("DocExampleBucket", BadName::Characters),
            ("doc-example-bucket-", BadName::Edges),
            ("ab", BadName::Length),
            (&"a".repeat(64), BadName::Length),
            ("a..b", BadName::AdjacentDots),
            ("192.168.5.4", BadName::IpAddress),
            ("xn--bucket", BadName::Reserved),
            ("bucket-s3alias", BadName::Reserved),
            (".abc", BadName::Edges),
        ] {
            assert_eq!(check_bucket_name(bad), Err(why), "{bad}");
        }
    }
}
