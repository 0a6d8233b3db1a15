//! Violations of rules the service model does not state (the model's own constraints are
//! checked by [`crate::model`]), reported in AWS's ValidationException wording:
//! `1 validation error detected: Value '...' at 'records.1.member.data' failed to satisfy
//! constraint: Member must ...`.

/// One violation as AWS words it; `shown` is the value already rendered (`'x'`, or `null`).
pub fn violation(shown: &str, field: &str, constraint: &str) -> String {
    format!("Value {shown} at '{field}' failed to satisfy constraint: {constraint}")
}

/// The ValidationException message for `all`, or `None` when nothing failed.
pub fn message(all: &[String]) -> Option<String> {
    match all {
        [] => None,
        [one] => Some(format!("1 validation error detected: {one}")),
        all => Some(format!("{} validation errors detected: {}", all.len(), all.join("; "))),
    }
}

#[derive(Debug, Default)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn push(&mut self, value: Option<&str>, field: &str, constraint: &str) {
        let value = value.map_or_else(|| "null".to_owned(), |v| format!("'{v}'"));
        self.0.push(violation(&value, field, &format!("Member {constraint}")));
    }

    /// The ValidationException message, or `None` when nothing failed.
    pub fn message(&self) -> Option<String> {
        message(&self.0)
    }

    /// A blob's size bound; AWS shows blobs as the Java buffer that held them.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_aws_wording() {
        let mut v = Violations::default();
        assert_eq!(v.message(), None);
        v.blob("records.1.member.data", 11, 10);
        assert_eq!(
            v.message().unwrap(),
            "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=11 cap=11]' at 'records.1.member.data' failed to satisfy constraint: Member must have length less than or equal to 10"
        );
        v.push(None, "shardCount", "must not be null");
        assert!(v.message().unwrap().starts_with("2 validation errors detected: "));
        assert!(
            v.message()
                .unwrap()
                .ends_with("; Value null at 'shardCount' failed to satisfy constraint: Member must not be null")
        );
    }
}
