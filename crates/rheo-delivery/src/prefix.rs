//! Firehose's S3 prefixes: `Prefix` and `ErrorOutputPrefix` with their `!{namespace:value}`
//! expressions, checked when a delivery stream is created or updated and evaluated, without
//! I/O, for each object delivered.
//!
//! Rules (the Firehose developer guide, "Custom prefixes for Amazon S3 objects"):
//! - `!{timestamp:<Java DateTimeFormatter pattern>}`: the arrival time of the object's oldest
//!   record, in UTC or the stream's `CustomTimeZone`; every instance is the same instant.
//! - `!{firehose:random-string}`: 11 random characters, new for every instance.
//! - `!{firehose:error-output-type}`: only in `ErrorOutputPrefix`, which must then hold it if it
//!   holds any expression.
//! - `!{partitionKeyFromQuery:k}` / `!{partitionKeyFromLambda:k}`: dynamic partitioning only.
//! - `!{` may appear only as an expression's start.
//! - A `Prefix` without expressions gets `yyyy/MM/dd/HH/` appended, by literal concatenation
//!   (no `/` is inserted); an empty one is that default.
//! - Without an `ErrorOutputPrefix` (allowed only when `Prefix` has no expression), errors go
//!   under `<Prefix><error-output-type>/yyyy/MM/dd/HH/`.
//! - Neither may exceed 512 characters once evaluated.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// One part of a prefix template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Timestamp(Vec<Field>),
    RandomString,
    ErrorOutputType,
    PartitionKeyFromQuery(String),
    PartitionKeyFromLambda(String),
}

/// A piece of a Java `DateTimeFormatter` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Literal(String),
    /// A pattern letter and how many times it repeats (`yyyy` is `('y', 4)`).
    Letter(char, usize),
}

/// A parsed prefix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// The longest an evaluated prefix may be.
pub const MAX_EVALUATED: usize = 512;

impl Template {
    /// Parses a prefix; the message says what is wrong.
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(at) = rest.find("!{") {
            if at > 0 {
                parts.push(Part::Literal(rest[..at].to_owned()));
            }
            let after = &rest[at + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("The expression starting at '{}' is not closed with '}}'.", &rest[at..]))?;
            parts.push(expression(&after[..end])?);
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    pub fn has_expressions(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Literal(_)))
    }

    pub fn has(&self, f: impl Fn(&Part) -> bool) -> bool {
        self.parts.iter().any(f)
    }

    pub fn has_partition_keys(&self) -> bool {
        self.has(|p| matches!(p, Part::PartitionKeyFromQuery(_) | Part::PartitionKeyFromLambda(_)))
    }
}

fn expression(body: &str) -> Result<Part, String> {
    let (ns, value) = body
        .split_once(':')
        .ok_or_else(|| format!("The expression '!{{{body}}}' has no namespace."))?;
    match (ns, value) {
        ("timestamp", pattern) => Ok(Part::Timestamp(pattern_fields(pattern)?)),
        ("firehose", "random-string") => Ok(Part::RandomString),
        ("firehose", "error-output-type") => Ok(Part::ErrorOutputType),
        ("firehose", other) => Err(format!(
            "The value '{other}' is not valid for the firehose namespace: use random-string or error-output-type."
        )),
        ("partitionKeyFromQuery", k) if !k.is_empty() => Ok(Part::PartitionKeyFromQuery(k.to_owned())),
        ("partitionKeyFromLambda", k) if !k.is_empty() => Ok(Part::PartitionKeyFromLambda(k.to_owned())),
        _ => Err(format!("The expression '!{{{body}}}' is not supported.")),
    }
}

/// The pattern letters a prefix may use (a subset of `DateTimeFormatter`'s that covers dates
/// and times of day).
const LETTERS: &str = "yuMLdDHhkKmsSaEeQqwWG";

fn pattern_fields(pattern: &str) -> Result<Vec<Field>, String> {
    if pattern.is_empty() {
        return Err("The timestamp expression has an empty pattern.".into());
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == '\'' {
            // Quoted text; '' is a quote.
            let mut text = String::new();
            i += 1;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('\''), Some('\'')) => {
                        text.push('\'');
                        i += 2;
                    }
                    (Some('\''), _) => {
                        i += 1;
                        break;
                    }
                    (Some(&ch), _) => {
                        text.push(ch);
                        i += 1;
                    }
                    (None, _) => return Err(format!("The timestamp pattern '{pattern}' has an unclosed quote.")),
                }
            }
            if text.is_empty() {
                text.push('\'');
            }
            out.push(Field::Literal(text));
        } else if c.is_ascii_alphabetic() {
            if !LETTERS.contains(c) {
                return Err(format!(
                    "The timestamp pattern '{pattern}' uses an unsupported letter '{c}'."
                ));
            }
            let n = chars[i..].iter().take_while(|&&x| x == c).count();
            out.push(Field::Letter(c, n));
            i += n;
        } else {
            out.push(Field::Literal(c.to_string()));
            i += 1;
        }
    }
    Ok(out)
}

/// What a delivery stream's prefixes are checked against.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub dynamic_partitioning: bool,
}

/// Checks a destination's two prefixes together, as Create and UpdateDestination do.
pub fn check(prefix: Option<&str>, error_prefix: Option<&str>, rules: Rules) -> Result<(), String> {
    let p = Template::parse(prefix.unwrap_or_default())?;
    let e = error_prefix.map(Template::parse).transpose()?;
    if p.has(|x| matches!(x, Part::ErrorOutputType)) {
        return Err("The Prefix cannot contain the expression !{firehose:error-output-type}.".into());
    }
    if let Some(e) = &e {
        if e.has_expressions() && !e.has(|x| matches!(x, Part::ErrorOutputType)) {
            return Err(
                "The ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains expressions.".into(),
            );
        }
        if e.has_partition_keys() {
            return Err("The ErrorOutputPrefix cannot contain partition key expressions.".into());
        }
    }
    let empty_error = error_prefix.is_none_or(str::is_empty);
    if p.has_expressions() && empty_error {
        return Err("ErrorOutputPrefix cannot be null or empty when Prefix contains expressions.".into());
    }
    if p.has_partition_keys() && !rules.dynamic_partitioning {
        return Err(
            "The Prefix can contain partitionKeyFromQuery or partitionKeyFromLambda expressions only when dynamic partitioning is enabled."
                .into(),
        );
    }
    if rules.dynamic_partitioning && !p.has_partition_keys() {
        return Err(
            "When dynamic partitioning is enabled, the Prefix must contain at least one partitionKeyFromQuery or partitionKeyFromLambda expression."
                .into(),
        );
    }
    Ok(())
}

/// What an evaluation needs besides the template.
pub struct Context<'a> {
    /// The arrival time of the object's oldest record, in milliseconds.
    pub instant_ms: i64,
    pub zone: &'a TimeZone,
    pub error_output_type: Option<&'a str>,
    pub partition_keys: &'a dyn Fn(&Part) -> Option<String>,
    pub random: &'a mut dyn FnMut() -> String,
}

/// The default time prefix: `yyyy/MM/dd/HH/`.
pub fn default_time() -> Vec<Field> {
    pattern_fields("yyyy/MM/dd/HH/").unwrap_or_default()
}

/// Evaluates an object's prefix, appending the default time part to a prefix without
/// expressions; `None` as the template means no ErrorOutputPrefix was given (errors then go
/// under the main prefix).
pub fn evaluate(template: &Template, cx: &mut Context<'_>) -> Result<String, String> {
    let mut out = String::new();
    for part in &template.parts {
        match part {
            Part::Literal(s) => out.push_str(s),
            Part::Timestamp(fields) => out.push_str(&format_time(fields, cx.instant_ms, cx.zone)),
            Part::RandomString => out.push_str(&(cx.random)()),
            Part::ErrorOutputType => out.push_str(cx.error_output_type.unwrap_or_default()),
            p => match (cx.partition_keys)(p) {
                Some(v) => out.push_str(&v),
                None => return Err(format!("The partition key for {p:?} has no value.")),
            },
        }
    }
    if !template.has_expressions() {
        if let Some(t) = cx.error_output_type {
            // Errors without an ErrorOutputPrefix: under the main prefix, by type.
            out.push_str(t);
            out.push('/');
        }
        out.push_str(&format_time(&default_time(), cx.instant_ms, cx.zone));
    }
    if out.chars().count() > MAX_EVALUATED {
        return Err(format!(
            "The evaluated prefix is longer than {MAX_EVALUATED} characters."
        ));
    }
    Ok(out)
}

/// Checks that a prefix stays within [`MAX_EVALUATED`] characters once evaluated (at a time
/// whose month and weekday names are the longest).
pub fn check_length(t: &Template, zone: &TimeZone, error_output_type: Option<&str>) -> Result<(), String> {
    // 2025-09-17, a Wednesday in September.
    const LONG_NAMES_MS: i64 = 1_758_067_200_000;
    let keys = |_: &Part| Some(String::new());
    let mut random = random_string;
    let mut cx = Context {
        instant_ms: LONG_NAMES_MS,
        zone,
        error_output_type,
        partition_keys: &keys,
        random: &mut random,
    };
    evaluate(t, &mut cx).map(|_| ())
}

/// The time `ms` formatted by a `DateTimeFormatter` pattern in `zone`.
pub fn format_time(fields: &[Field], ms: i64, zone: &TimeZone) -> String {
    let ts = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let t = ts.to_zoned(zone.clone());
    let mut out = String::new();
    for f in fields {
        match f {
            Field::Literal(s) => out.push_str(s),
            Field::Letter(c, n) => out.push_str(&letter(&t, *c, *n)),
        }
    }
    out
}

fn pad(v: i64, n: usize) -> String {
    format!("{v:0n$}")
}

fn letter(t: &jiff::Zoned, c: char, n: usize) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let hour = i64::from(t.hour());
    match c {
        // Two letters of a year are its last two digits; otherwise the full year.
        'y' | 'u' if n == 2 => pad(i64::from(t.year()).rem_euclid(100), 2),
        'y' | 'u' => pad(i64::from(t.year()), n),
        'M' | 'L' => {
            let m = usize::try_from(t.month()).unwrap_or(1).clamp(1, 12);
            match n {
                1 | 2 => pad(m as i64, n),
                3 => MONTHS[m - 1][..3].to_owned(),
                _ => MONTHS[m - 1].to_owned(),
            }
        }
        'd' => pad(i64::from(t.day()), n),
        'D' => pad(i64::from(t.day_of_year()), n),
        'H' => pad(hour, n),
        'k' => pad(if hour == 0 { 24 } else { hour }, n),
        'K' => pad(hour % 12, n),
        'h' => pad(if hour % 12 == 0 { 12 } else { hour % 12 }, n),
        'm' => pad(i64::from(t.minute()), n),
        's' => pad(i64::from(t.second()), n),
        'S' => {
            let nanos = format!("{:09}", t.subsec_nanosecond().max(0));
            nanos.chars().chain(std::iter::repeat('0')).take(n).collect()
        }
        'a' => (if hour < 12 { "AM" } else { "PM" }).to_owned(),
        'E' | 'e' => {
            let d = usize::try_from(t.weekday().to_monday_zero_offset()).unwrap_or(0).min(6);
            if n >= 4 {
                DAYS[d].to_owned()
            } else {
                DAYS[d][..3].to_owned()
            }
        }
        'Q' | 'q' => pad((i64::from(t.month()) - 1) / 3 + 1, n),
        'w' => pad(i64::from(t.date().iso_week_date().week()), n),
        'W' => pad((i64::from(t.day()) - 1) / 7 + 1, n),
        'G' => "AD".to_owned(),
        _ => String::new(),
    }
}

/// The time zone a `CustomTimeZone` names (UTC when empty).
pub fn zone(name: Option<&str>) -> Result<TimeZone, String> {
    match name.filter(|n| !n.is_empty()) {
        None => Ok(TimeZone::UTC),
        Some(n) => TimeZone::get(n).map_err(|_| format!("The CustomTimeZone '{n}' is not a supported time zone.")),
    }
}

/// 11 random characters of `[0-9a-z]`, as `!{firehose:random-string}` gives.
pub fn random_string() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..11)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(p: &str, ms: i64, zone: &TimeZone, error: Option<&str>) -> String {
        let t = Template::parse(p).unwrap();
        let mut n = 0;
        let mut random = || {
            n += 1;
            format!("r{n}")
        };
        let keys = |p: &Part| match p {
            Part::PartitionKeyFromQuery(k) => Some(format!("q-{k}")),
            Part::PartitionKeyFromLambda(k) => Some(format!("l-{k}")),
            _ => None,
        };
        let mut cx = Context {
            instant_ms: ms,
            zone,
            error_output_type: error,
            partition_keys: &keys,
            random: &mut random,
        };
        evaluate(&t, &mut cx).unwrap()
    }

    // 2018-08-27T10:30:05.123Z
    const T: i64 = 1_535_365_805_123;

    #[test]
    fn default_and_literal_concatenation() {
        let utc = TimeZone::UTC;
        assert_eq!(eval("", T, &utc, None), "2018/08/27/10/");
        assert_eq!(eval("legacy", T, &utc, None), "legacy2018/08/27/10/");
        assert_eq!(eval("logs/", T, &utc, None), "logs/2018/08/27/10/");
        assert_eq!(
            eval("logs/", T, &utc, Some("processing-failed")),
            "logs/processing-failed/2018/08/27/10/"
        );
    }

    #[test]
    fn expressions() {
        let utc = TimeZone::UTC;
        assert_eq!(
            eval("myApp/!{timestamp:'year='yyyy'/month='MM'/day='dd}/", T, &utc, None),
            "myApp/year=2018/month=08/day=27/"
        );
        assert_eq!(
            eval("!{timestamp:yyyy-MM-dd HH:mm:ss.SSS}/", T, &utc, None),
            "2018-08-27 10:30:05.123/"
        );
        assert_eq!(
            eval("a/!{firehose:random-string}/!{firehose:random-string}/", T, &utc, None),
            "a/r1/r2/"
        );
        assert_eq!(
            eval(
                "err/!{firehose:error-output-type}/!{timestamp:yyyy}/",
                T,
                &utc,
                Some("processing-failed")
            ),
            "err/processing-failed/2018/"
        );
        assert_eq!(
            eval(
                "c=!{partitionKeyFromQuery:c}/l=!{partitionKeyFromLambda:x}/",
                T,
                &utc,
                None
            ),
            "c=q-c/l=l-x/"
        );
        assert_eq!(eval("!{timestamp:yy MMM EEE a hh}", T, &utc, None), "18 Aug Mon AM 10");
    }

    #[test]
    fn time_zones() {
        let tokyo = zone(Some("Asia/Tokyo")).unwrap();
        assert_eq!(eval("", T, &tokyo, None), "2018/08/27/19/");
        assert!(zone(Some("Mars/Olympus")).is_err());
        assert_eq!(zone(Some("")).unwrap(), TimeZone::UTC);
    }

    #[test]
    fn rules() {
        let plain = Rules {
            dynamic_partitioning: false,
        };
        assert!(check(Some("a/"), None, plain).is_ok());
        assert!(check(Some("a/!{timestamp:yyyy}/"), None, plain).is_err());
        assert!(
            check(
                Some("a/!{timestamp:yyyy}/"),
                Some("e/!{firehose:error-output-type}/"),
                plain
            )
            .is_ok()
        );
        assert!(check(Some("a/!{timestamp:yyyy}/"), Some("e/!{timestamp:yyyy}/"), plain).is_err());
        assert!(check(Some("a/!{firehose:error-output-type}/"), Some("e/"), plain).is_err());
        assert!(check(Some("a/!{partitionKeyFromQuery:k}/"), Some("e/"), plain).is_err());
        assert!(check(Some("a/!{nope:k}/"), Some("e/"), plain).is_err());
        assert!(check(Some("a/!{timestamp:yyyy"), Some("e/"), plain).is_err());
        assert!(check(Some("a/!{timestamp:yyyy 'x}"), Some("e/"), plain).is_err());
        let dp = Rules {
            dynamic_partitioning: true,
        };
        assert!(check(Some("a/!{partitionKeyFromQuery:k}/"), Some("e/"), dp).is_ok());
        assert!(check(Some("a/"), Some("e/"), dp).is_err());
    }
}
