//! Checks of the model's constraints, reported in AWS's ValidationException wording:
//! `2 validation errors detected: Value 'x' at 'streamName' failed to satisfy constraint:
//! Member must ...; Value null at 'shardCount' failed to satisfy constraint: Member must not be
//! null`.

/// The model's pattern for stream and shard names, as AWS prints it.
pub const NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";
pub const STREAM_ARN_PATTERN: &str = "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+";
pub const RESOURCE_ARN_PATTERN: &str = "arn:aws.*:kinesis:.*:\\d{12}:.*(stream|channel|queue)/\\S+";
pub const CONSUMER_ARN_PATTERN: &str =
    "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+";
pub const HASH_KEY_PATTERN: &str = "0|([1-9]\\d{0,38})";
pub const SEQUENCE_PATTERN: &str = "0|([1-9]\\d{0,128})";

#[derive(Debug, Default)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn push(&mut self, value: Option<&str>, field: &str, constraint: &str) {
        let value = value.map_or_else(|| "null".to_owned(), |v| format!("'{v}'"));
        self.0.push(format!(
            "Value {value} at '{field}' failed to satisfy constraint: Member {constraint}"
        ));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ValidationException message, or `None` when nothing failed.
    pub fn message(&self) -> Option<String> {
        match self.0.as_slice() {
            [] => None,
            [one] => Some(format!("1 validation error detected: {one}")),
            all => Some(format!("{} validation errors detected: {}", all.len(), all.join("; "))),
        }
    }

    pub fn required<T>(&mut self, field: &str, value: &Option<T>) {
        if value.is_none() {
            self.push(None, field, "must not be null");
        }
    }

    /// Length bounds (in characters) and an optional pattern check for a string member.
    pub fn string(&mut self, field: &str, value: Option<&str>, min: usize, max: usize, pattern: Option<(&str, bool)>) {
        let Some(v) = value else { return };
        if let Some((p, false)) = pattern {
            self.push(Some(v), field, &format!("must satisfy regular expression pattern: {p}"));
        }
        let len = v.chars().count();
        if len < min {
            self.push(
                Some(v),
                field,
                &format!("must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.push(Some(v), field, &format!("must have length less than or equal to {max}"));
        }
    }

    /// A stream name: 1..=128 of `[a-zA-Z0-9_.-]`.
    pub fn stream_name(&mut self, field: &str, value: Option<&str>) {
        let ok = value.is_some_and(|v| v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)));
        self.string(field, value, 1, 128, Some((NAME_PATTERN, ok)));
    }

    pub fn shard_id(&mut self, field: &str, value: Option<&str>) {
        self.stream_name(field, value);
    }

    pub fn stream_arn(&mut self, field: &str, value: Option<&str>) {
        let ok = value.is_some_and(|v| rheo_types::Arn::parse(v).is_ok());
        self.string(field, value, 1, 2048, Some((STREAM_ARN_PATTERN, ok)));
    }

    pub fn consumer_arn(&mut self, field: &str, value: Option<&str>) {
        let ok = value.is_some_and(|v| rheo_types::ConsumerArn::parse(v).is_ok());
        self.string(field, value, 1, 2048, Some((CONSUMER_ARN_PATTERN, ok)));
    }

    pub fn resource_arn(&mut self, field: &str, value: Option<&str>) {
        let ok = value.is_some_and(|v| rheo_types::Arn::parse(v).is_ok());
        self.string(field, value, 1, 2048, Some((RESOURCE_ARN_PATTERN, ok)));
    }

    pub fn hash_key(&mut self, field: &str, value: Option<&str>) {
        let ok = value.is_some_and(|v| is_decimal(v, 39));
        self.string(field, value, 0, usize::MAX, Some((HASH_KEY_PATTERN, ok)));
    }

    pub fn sequence_number(&mut self, field: &str, value: Option<&str>) {
        let ok = value.is_some_and(|v| is_decimal(v, 129));
        self.string(field, value, 0, usize::MAX, Some((SEQUENCE_PATTERN, ok)));
    }

    /// An integer member's bounds.
    pub fn range(&mut self, field: &str, value: Option<i64>, min: Option<i64>, max: Option<i64>) {
        let Some(v) = value else { return };
        let shown = v.to_string();
        if min.is_some_and(|m| v < m) {
            self.push(
                Some(&shown),
                field,
                &format!("must have value greater than or equal to {}", min.unwrap_or_default()),
            );
        }
        if max.is_some_and(|m| v > m) {
            self.push(
                Some(&shown),
                field,
                &format!("must have value less than or equal to {}", max.unwrap_or_default()),
            );
        }
    }

    pub fn one_of(&mut self, field: &str, value: Option<&str>, allowed: &[&str]) {
        if let Some(v) = value.filter(|v| !allowed.contains(v)) {
            self.push(
                Some(v),
                field,
                &format!("must satisfy enum value set: [{}]", allowed.join(", ")),
            );
        }
    }

    /// A list's size bounds.
    pub fn list_len(&mut self, field: &str, shown: &str, len: usize, min: usize, max: usize) {
        if len < min {
            self.push(
                Some(shown),
                field,
                &format!("must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.push(
                Some(shown),
                field,
                &format!("must have length less than or equal to {max}"),
            );
        }
    }

    /// A blob's size bounds; AWS shows blobs as the Java buffer that held them.
    pub fn blob(&mut self, field: &str, len: usize, max: usize) {
        if len > max {
            let shown = format!("java.nio.HeapByteBuffer[pos=0 lim={len} cap={len}]");
            self.push(
                Some(&shown),
                field,
                &format!("must have length less than or equal to {max}"),
            );
        }
    }
}

/// `0` or a decimal without leading zeros of at most `max_digits` digits.
pub fn is_decimal(s: &str, max_digits: usize) -> bool {
    s == "0" || (!s.is_empty() && s.len() <= max_digits && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_aws_wording() {
        let mut v = Violations::default();
        assert_eq!(v.message(), None);
        v.stream_name("streamName", Some("a b"));
        assert_eq!(
            v.message().unwrap(),
            "1 validation error detected: Value 'a b' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        );
        v.required::<i64>("shardCount", &None);
        assert!(v.message().unwrap().starts_with("2 validation errors detected: "));
        assert!(
            v.message()
                .unwrap()
                .ends_with("; Value null at 'shardCount' failed to satisfy constraint: Member must not be null")
        );
    }

    #[test]
    fn decimals() {
        assert!(is_decimal("0", 39));
        assert!(is_decimal("123", 39));
        assert!(!is_decimal("0123", 39));
        assert!(!is_decimal("", 39));
        assert!(!is_decimal(&"9".repeat(40), 39));
    }
}
