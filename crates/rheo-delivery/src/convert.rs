//! DataFormatConversion: JSON records into Parquet, with the columns of a table in Rheo's data
//! catalog (Glue's Hive type names).
//!
//! Conversion runs in two steps, so that a record that does not fit the table fails alone (to
//! the error prefix, as `format-conversion-failed`) and an object's Parquet file is made from
//! records already checked:
//! 1. [`Conversion::rows`] reads one record with the deserializer's rules (OpenX or Hive JSON)
//!    into rows (a record may hold several JSON objects). A row is a JSON array with one
//!    canonical value per column: `null`; a string (string, binary, a decimal's unscaled
//!    value); a boolean; an integer (integers, a date's days since 1970-01-01, a timestamp's
//!    microseconds since the epoch, UTC); a number (float, double); an array (an array's items,
//!    a map's `[key, value]` pairs, a struct's fields in order). The staged path appends rows
//!    to its partition files, one per line.
//! 2. [`write_parquet`] reads the rows back and writes them as one Parquet file, in row groups
//!    of at most `BlockSizeBytes` (and 64 MiB).

use arrow_array::builder::BooleanBufferBuilder;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int8Array,
    Int16Array, Int32Array, Int64Array, ListArray, MapArray, RecordBatch, StringArray, StructArray,
    TimestampMicrosecondArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde_json::{Map, Value};
use std::io::{BufRead, Write};
use std::sync::Arc;

/// A column's type, from its Hive type name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HiveType {
    String,
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    /// `decimal(precision, scale)`; `decimal` alone is `decimal(10,0)`, as in Hive.
    Decimal(u8, i8),
    Timestamp,
    Date,
    Binary,
    Array(Box<HiveType>),
    Map(Box<HiveType>, Box<HiveType>),
    Struct(Vec<(String, HiveType)>),
}

impl HiveType {
    /// Parses a Hive type name (`int`, `varchar(10)`, `array<struct<a:int,b:string>>`, ...).
    pub fn parse(s: &str) -> Result<HiveType, String> {
        let mut p = TypeParser { s: s.as_bytes(), at: 0 };
        let t = p
            .parse()
            .map_err(|e| format!("The column type {s} is not a Hive type: {e}"))?;
        p.blank();
        if p.at != p.s.len() {
            return Err(format!(
                "The column type {s} is not a Hive type: unexpected text after the type."
            ));
        }
        Ok(t)
    }

    /// The type's Hive name (canonical: `varchar(n)` and `char(n)` are `string`).
    pub fn name(&self) -> String {
        match self {
            HiveType::String => "string".into(),
            HiveType::Boolean => "boolean".into(),
            HiveType::TinyInt => "tinyint".into(),
            HiveType::SmallInt => "smallint".into(),
            HiveType::Int => "int".into(),
            HiveType::BigInt => "bigint".into(),
            HiveType::Float => "float".into(),
            HiveType::Double => "double".into(),
            HiveType::Decimal(p, s) => format!("decimal({p},{s})"),
            HiveType::Timestamp => "timestamp".into(),
            HiveType::Date => "date".into(),
            HiveType::Binary => "binary".into(),
            HiveType::Array(t) => format!("array<{}>", t.name()),
            HiveType::Map(k, v) => format!("map<{},{}>", k.name(), v.name()),
            HiveType::Struct(fields) => {
                let fields: Vec<String> = fields.iter().map(|(n, t)| format!("{n}:{}", t.name())).collect();
                format!("struct<{}>", fields.join(","))
            }
        }
    }

    /// The Arrow type a column of this type is written as.
    pub fn arrow(&self) -> DataType {
        match self {
            HiveType::String => DataType::Utf8,
            HiveType::Boolean => DataType::Boolean,
            HiveType::TinyInt => DataType::Int8,
            HiveType::SmallInt => DataType::Int16,
            HiveType::Int => DataType::Int32,
            HiveType::BigInt => DataType::Int64,
            HiveType::Float => DataType::Float32,
            HiveType::Double => DataType::Float64,
            HiveType::Decimal(p, s) => DataType::Decimal128(*p, *s),
            HiveType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            HiveType::Date => DataType::Date32,
            HiveType::Binary => DataType::Binary,
            HiveType::Array(t) => DataType::List(Arc::new(Field::new("element", t.arrow(), true))),
            HiveType::Map(k, v) => DataType::Map(Arc::new(map_entries(k, v)), false),
            HiveType::Struct(fields) => DataType::Struct(struct_fields(fields)),
        }
    }
}

fn map_entries(k: &HiveType, v: &HiveType) -> Field {
    let fields = Fields::from(vec![
        Field::new("key", k.arrow(), false),
        Field::new("value", v.arrow(), true),
    ]);
    Field::new("key_value", DataType::Struct(fields), false)
}

fn struct_fields(fields: &[(String, HiveType)]) -> Fields {
    fields.iter().map(|(n, t)| Field::new(n, t.arrow(), true)).collect()
}

struct TypeParser<'a> {
    s: &'a [u8],
    at: usize,
}

impl TypeParser<'_> {
    fn blank(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn word(&mut self) -> String {
        self.blank();
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.at]).to_lowercase()
    }

    fn eat(&mut self, c: u8) -> bool {
        self.blank();
        if self.s.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}'", c as char))
        }
    }

    fn number(&mut self) -> Result<u32, String> {
        self.word().parse().map_err(|_| "expected a number".to_owned())
    }

    fn parse(&mut self) -> Result<HiveType, String> {
        let name = self.word();
        Ok(match name.as_str() {
            "string" => HiveType::String,
            "varchar" | "char" => {
                self.expect(b'(')?;
                self.number()?;
                self.expect(b')')?;
                HiveType::String
            }
            "boolean" => HiveType::Boolean,
            "tinyint" => HiveType::TinyInt,
            "smallint" => HiveType::SmallInt,
            "int" | "integer" => HiveType::Int,
            "bigint" => HiveType::BigInt,
            "float" => HiveType::Float,
            "double" => HiveType::Double,
            "timestamp" => HiveType::Timestamp,
            "date" => HiveType::Date,
            "binary" => HiveType::Binary,
            "decimal" => {
                let (mut p, mut s) = (10, 0);
                if self.eat(b'(') {
                    p = self.number()?;
                    s = if self.eat(b',') { self.number()? } else { 0 };
                    self.expect(b')')?;
                }
                if !(1..=38).contains(&p) || s > p {
                    return Err("a decimal's precision is 1 to 38 and its scale at most its precision".into());
                }
                HiveType::Decimal(p as u8, s as i8)
            }
            "array" => {
                self.expect(b'<')?;
                let t = self.parse()?;
                self.expect(b'>')?;
                HiveType::Array(Box::new(t))
            }
            "map" => {
                self.expect(b'<')?;
                let k = self.parse()?;
                if matches!(k, HiveType::Array(_) | HiveType::Map(..) | HiveType::Struct(_)) {
                    return Err("a map's key must be a primitive type".into());
                }
                self.expect(b',')?;
                let v = self.parse()?;
                self.expect(b'>')?;
                HiveType::Map(Box::new(k), Box::new(v))
            }
            "struct" => {
                self.expect(b'<')?;
                let mut fields = Vec::new();
                loop {
                    let name = self.word();
                    if name.is_empty() {
                        return Err("expected a field name".into());
                    }
                    self.expect(b':')?;
                    fields.push((name, self.parse()?));
                    if !self.eat(b',') {
                        break;
                    }
                }
                self.expect(b'>')?;
                HiveType::Struct(fields)
            }
            "" => return Err("expected a type name".into()),
            other => return Err(format!("{other} is not a supported type")),
        })
    }
}

/// How records are read (the deserializer's options).
#[derive(Debug, Clone)]
pub enum Deserializer {
    /// OpenXJsonSerDe.
    OpenX {
        case_insensitive: bool,
        dots_to_underscores: bool,
        /// Column (lowercase) → the JSON key it reads.
        mappings: Vec<(String, String)>,
    },
    /// HiveJsonSerDe, with its timestamp formats (none: `yyyy-[M]M-[d]d HH:mm:ss[.S]`).
    Hive { timestamp_formats: Vec<TimestampFormat> },
}

#[derive(Debug, Clone)]
pub enum TimestampFormat {
    /// `millis`: epoch milliseconds.
    Millis,
    /// A Joda pattern, as a `strptime` format.
    Pattern { joda: String, strptime: String },
}

impl TimestampFormat {
    /// A Hive `TimestampFormats` entry: `millis` or a Joda-Time pattern.
    pub fn parse(joda: &str) -> Result<TimestampFormat, String> {
        if joda == "millis" {
            return Ok(TimestampFormat::Millis);
        }
        Ok(TimestampFormat::Pattern {
            joda: joda.to_owned(),
            strptime: joda_to_strptime(joda)?,
        })
    }
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// Translates a Joda-Time pattern into `strptime` directives (the letters Firehose's users
/// write; a letter without an equivalent is refused).
fn joda_to_strptime(p: &str) -> Result<String, String> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == '\'' {
            // Quoted text; '' is a quote.
            i += 1;
            if chars.get(i) == Some(&'\'') {
                out.push('\'');
                i += 1;
                continue;
            }
            while let Some(&q) = chars.get(i) {
                i += 1;
                if q == '\'' {
                    if chars.get(i) == Some(&'\'') {
                        out.push('\'');
                        i += 1;
                        continue;
                    }
                    break;
                }
                push_literal(&mut out, q);
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let n = chars[i..].iter().take_while(|&&x| x == c).count();
        i += n;
        let d = match (c, n) {
            ('y' | 'Y' | 'u', 2) => "%y",
            ('y' | 'Y' | 'u', _) => "%Y",
            ('M', 1 | 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', _) => "%d",
            ('D', _) => "%j",
            ('H', _) => "%H",
            ('h', _) => "%I",
            ('m', _) => "%M",
            ('s', _) => "%S",
            ('S', _) => "%f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('Z', 1) => "%z",
            ('Z', 2) => "%:z",
            ('Z', _) => "%Q",
            ('z', _) => "%Z",
            _ => {
                return Err(format!(
                    "The timestamp format {p} uses the pattern letter {c}, which Rheo does not read."
                ));
            }
        };
        out.push_str(d);
    }
    Ok(out)
}

/// Parquet's settings (ParquetSerDe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetOptions {
    pub block_size: usize,
    pub page_size: usize,
    pub compression: parquet::basic::Compression,
    pub dictionary: bool,
    pub v2: bool,
}

impl Default for ParquetOptions {
    fn default() -> ParquetOptions {
        ParquetOptions {
            block_size: 256 << 20,
            page_size: 1 << 20,
            compression: parquet::basic::Compression::SNAPPY,
            dictionary: false,
            v2: false,
        }
    }
}

/// The table a stream converts with, as its destination names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    pub catalog_id: Option<String>,
    pub database: String,
    pub table: String,
    pub region: Option<String>,
    pub version_id: String,
}

/// A destination's conversion settings.
#[derive(Debug, Clone)]
pub struct Conversion {
    pub table: TableRef,
    pub deserializer: Deserializer,
    pub parquet: ParquetOptions,
}

/// A table's columns, as conversion reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns(pub Vec<(String, HiveType)>);

impl Columns {
    /// The columns of a table's description (GetTable's `Table`): its `StorageDescriptor`'s
    /// `Columns` (partition keys are in the object's key, not its rows).
    pub fn of_table(table: &Value) -> Result<Columns, String> {
        let cols = table
            .get("StorageDescriptor")
            .and_then(|s| s.get("Columns"))
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
            .ok_or("The table has no columns.")?;
        let mut out = Vec::new();
        for c in cols {
            let name = c.get("Name").and_then(Value::as_str).unwrap_or_default().to_lowercase();
            let ty = c.get("Type").and_then(Value::as_str).unwrap_or_default();
            if name.is_empty() {
                return Err("A column of the table has no name.".into());
            }
            out.push((name, HiveType::parse(ty)?));
        }
        Ok(Columns(out))
    }

    /// The columns as names and Hive type names (to save them).
    pub fn raw(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(n, t)| (n.clone(), t.name())).collect()
    }

    /// Columns saved by [`Columns::raw`].
    pub fn parse(raw: &[(String, String)]) -> Result<Columns, String> {
        raw.iter()
            .map(|(n, t)| Ok((n.clone(), HiveType::parse(t)?)))
            .collect::<Result<_, String>>()
            .map(Columns)
    }

    pub fn schema(&self) -> Arc<Schema> {
        Arc::new(Schema::new(
            self.0
                .iter()
                .map(|(n, t)| Field::new(n, t.arrow(), true))
                .collect::<Vec<_>>(),
        ))
    }
}

/// The columns of the table a stream converts with, or why there are none (every record then
/// fails with AWS's code for a missing table).
pub fn columns_of(glue: &crate::glue::Glue, table: &TableRef) -> Result<Columns, RowError> {
    let t = glue.table(&table.database, &table.table).map_err(|_| RowError {
        code: "DataFormatConversion.EntityNotFound",
        message: "The specified table/database could not be found. Please ensure that the table/database exists and that the values provided in the schema configuration are correct, especially with regards to casing.".into(),
    })?;
    Columns::of_table(&t).map_err(|m| RowError {
        code: "DataFormatConversion.InvalidSchema",
        message: m,
    })
}

/// Why a record cannot be converted (AWS's code for a record that is not JSON, or that does
/// not fit the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub code: &'static str,
    pub message: String,
}

pub const PARSE_ERROR: &str = "DataFormatConversion.ParseError";
pub const MALFORMED: &str = "DataFormatConversion.MalformedData";

fn malformed(message: String) -> RowError {
    RowError {
        code: MALFORMED,
        message,
    }
}

impl Conversion {
    /// One record as rows of `columns` (see the module's description): a JSON object, or
    /// several concatenated (`{"a":1}{"a":2}`), each a row; the record fails whole.
    pub fn rows(&self, columns: &Columns, data: &[u8]) -> Result<Vec<Value>, RowError> {
        if data.iter().all(u8::is_ascii_whitespace) {
            return Err(malformed("The record was empty or contained only whitespace.".into()));
        }
        let mut rows = Vec::new();
        for doc in serde_json::Deserializer::from_slice(data).into_iter::<Value>() {
            let doc = doc.map_err(|e| RowError {
                code: PARSE_ERROR,
                message: format!("Encountered malformed JSON. {e}"),
            })?;
            match doc {
                Value::Object(obj) => rows.push(Value::Array(self.object(&obj, &columns.0)?)),
                Value::Array(_) => {
                    return Err(malformed(
                        "Data does not match the schema. An array of JSON documents is not a valid input.".into(),
                    ));
                }
                _ => {
                    return Err(malformed(
                        "The input JSON contained a primitive at the top level. The top level must be an object or array."
                            .into(),
                    ));
                }
            }
        }
        Ok(rows)
    }

    /// An object's values in the order of `fields`.
    fn object(&self, obj: &Map<String, Value>, fields: &[(String, HiveType)]) -> Result<Vec<Value>, RowError> {
        let keyed = self.keys(obj);
        fields
            .iter()
            .map(|(name, ty)| {
                let key = match &self.deserializer {
                    Deserializer::OpenX { mappings, .. } => mappings
                        .iter()
                        .find(|(c, _)| c == name)
                        .map_or_else(|| name.clone(), |(_, k)| self.key(k)),
                    Deserializer::Hive { .. } => name.clone(),
                };
                match keyed.get(&key) {
                    None => Ok(Value::Null),
                    Some(v) => self
                        .value(v, ty)
                        .map_err(|m| malformed(format!("Data does not match the schema. The column {name}: {m}"))),
                }
            })
            .collect()
    }

    /// An object's members by their names as columns match them.
    fn keys<'v>(&self, obj: &'v Map<String, Value>) -> std::collections::HashMap<String, &'v Value> {
        let mut out = std::collections::HashMap::with_capacity(obj.len());
        for (k, v) in obj {
            out.entry(self.key(k)).or_insert(v);
        }
        out
    }

    fn key(&self, k: &str) -> String {
        match &self.deserializer {
            Deserializer::OpenX {
                case_insensitive,
                dots_to_underscores,
                ..
            } => {
                let k = if *dots_to_underscores {
                    k.replace('.', "_")
                } else {
                    k.to_owned()
                };
                if *case_insensitive { k.to_lowercase() } else { k }
            }
            Deserializer::Hive { .. } => k.to_lowercase(),
        }
    }

    /// A JSON value as `ty`'s canonical value.
    fn value(&self, v: &Value, ty: &HiveType) -> Result<Value, String> {
        self.value_of(v, ty, true)
    }

    /// `strict`: Hive's SerDe reads numbers only from numbers and strings only from scalars
    /// (a map's keys, JSON strings, are read from their text).
    fn value_of(&self, v: &Value, ty: &HiveType, strict: bool) -> Result<Value, String> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        let hive = strict && matches!(self.deserializer, Deserializer::Hive { .. });
        let numeric = matches!(
            ty,
            HiveType::TinyInt
                | HiveType::SmallInt
                | HiveType::Int
                | HiveType::BigInt
                | HiveType::Float
                | HiveType::Double
        );
        if hive && numeric && v.is_string() {
            return Err("a string where the column is a number".into());
        }
        if hive && *ty == HiveType::String && (v.is_object() || v.is_array()) {
            return Err("nested JSON where the column is a string".into());
        }
        Ok(match ty {
            HiveType::String => Value::String(match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            HiveType::Binary => Value::String(text(v)?.to_owned()),
            HiveType::Boolean => match v {
                Value::Bool(b) => Value::Bool(*b),
                // Hive: Boolean.valueOf of the text.
                Value::String(s) if hive => Value::Bool(s.eq_ignore_ascii_case("true")),
                Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
                Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
                _ => return Err("not a boolean".into()),
            },
            HiveType::TinyInt => int(v, i64::from(i8::MIN), i64::from(i8::MAX))?,
            HiveType::SmallInt => int(v, i64::from(i16::MIN), i64::from(i16::MAX))?,
            HiveType::Int => int(v, i64::from(i32::MIN), i64::from(i32::MAX))?,
            HiveType::BigInt => int(v, i64::MIN, i64::MAX)?,
            HiveType::Float | HiveType::Double => {
                let f: f64 = match v {
                    Value::Number(n) => n.as_f64().ok_or("not a number")?,
                    Value::String(s) => s.trim().parse().map_err(|_| "not a number")?,
                    _ => return Err("not a number".into()),
                };
                if !f.is_finite() {
                    return Err("not a finite number".into());
                }
                if *ty == HiveType::Float && !(f as f32).is_finite() {
                    return Err("out of a float's range".into());
                }
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or("not a number")?
            }
            HiveType::Decimal(p, s) => {
                let t = match v {
                    Value::Number(n) if n.to_string().contains(['e', 'E']) => {
                        n.as_f64().ok_or("not a number")?.to_string()
                    }
                    Value::Number(n) => n.to_string(),
                    other => text(other)?.to_owned(),
                };
                Value::String(decimal(&t, *p, *s)?.to_string())
            }
            HiveType::Date => {
                let d = lenient_date(text(v)?.trim()).ok_or("not a date (yyyy-[M]M-[d]d)")?;
                let days = d
                    .since(jiff::civil::date(1970, 1, 1))
                    .map_err(|e| e.to_string())?
                    .get_days();
                Value::from(days)
            }
            HiveType::Timestamp => Value::from(self.timestamp(v)?),
            HiveType::Array(t) => match v {
                Value::Array(items) => Value::Array(items.iter().map(|x| self.value(x, t)).collect::<Result<_, _>>()?),
                _ => return Err("not an array".into()),
            },
            HiveType::Map(k, t) => match v {
                Value::Object(m) => Value::Array(
                    m.iter()
                        .map(|(key, x)| {
                            let key = self.value_of(&Value::String(key.clone()), k, false)?;
                            Ok(Value::Array(vec![key, self.value(x, t)?]))
                        })
                        .collect::<Result<_, String>>()?,
                ),
                _ => return Err("not an object".into()),
            },
            HiveType::Struct(fields) => match v {
                Value::Object(m) => Value::Array(self.object(m, fields).map_err(|e| e.message)?),
                _ => return Err("not an object".into()),
            },
        })
    }

    /// A timestamp as microseconds since the epoch (a time without an offset is UTC).
    fn timestamp(&self, v: &Value) -> Result<i64, String> {
        match &self.deserializer {
            Deserializer::OpenX { .. } => openx_timestamp(v),
            Deserializer::Hive { timestamp_formats } => {
                // The value's text (a number's too), tried with each format, then as
                // `Timestamp.valueOf` reads it.
                let owned;
                let s = match v {
                    Value::Number(n) => {
                        owned = n.to_string();
                        owned.as_str()
                    }
                    other => text(other)?,
                };
                for f in timestamp_formats {
                    let found = match f {
                        TimestampFormat::Millis => s.trim().parse::<i64>().ok().map(|ms| ms.saturating_mul(1000)),
                        TimestampFormat::Pattern { strptime, .. } => strptime_micros(strptime, s),
                    };
                    if let Some(us) = found {
                        return Ok(us);
                    }
                }
                sql_timestamp(s)
                    .ok_or_else(|| "not a timestamp in any of the TimestampFormats, nor yyyy-MM-dd HH:mm:ss[.S]".into())
            }
        }
    }
}

fn text(v: &Value) -> Result<&str, String> {
    match v {
        Value::String(s) => Ok(s),
        _ => Err("not a string".into()),
    }
}

fn int(v: &Value, min: i64, max: i64) -> Result<Value, String> {
    let n = match v {
        Value::Number(n) => n.as_i64().ok_or("not an integer")?,
        Value::String(s) => {
            let s = s.trim();
            let (neg, digits) = match s.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, s.strip_prefix('+').unwrap_or(s)),
            };
            // OpenX also reads hexadecimal (`0x1f`).
            let n = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
                Some(hex) => i64::from_str_radix(hex, 16),
                None => digits.parse::<i64>(),
            }
            .map_err(|_| format!("For input string: \"{s}\""))?;
            if neg { -n } else { n }
        }
        _ => return Err("not an integer".into()),
    };
    if n < min || n > max {
        return Err(format!("{n} is out of the column's range"));
    }
    Ok(Value::from(n))
}

/// A decimal's text as its unscaled value at `scale` (rounded half up), if it has at most
/// `precision` digits.
fn decimal(s: &str, precision: u8, scale: i8) -> Result<i128, String> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int_part, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int_part.is_empty() && frac.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("not a decimal".into());
    }
    let scale = scale.max(0) as usize;
    let mut unscaled: i128 = 0;
    let push = |u: i128, d: u8| u.checked_mul(10).and_then(|u| u.checked_add(i128::from(d - b'0')));
    for b in int_part.bytes() {
        unscaled = push(unscaled, b).ok_or("too many digits")?;
    }
    for i in 0..scale {
        unscaled = push(unscaled, frac.as_bytes().get(i).copied().unwrap_or(b'0')).ok_or("too many digits")?;
    }
    if frac.as_bytes().get(scale).is_some_and(|d| *d >= b'5') {
        unscaled = unscaled.checked_add(1).ok_or("too many digits")?;
    }
    if unscaled >= 10i128.pow(u32::from(precision)) {
        return Err(format!("more than {precision} digits"));
    }
    Ok(if neg { -unscaled } else { unscaled })
}

/// `yyyy-[M]M-[d]d`, as `java.sql.Date.valueOf` reads it.
fn lenient_date(s: &str) -> Option<jiff::civil::Date> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || !(1..=2).contains(&m.len()) || !(1..=2).contains(&d.len()) {
        return None;
    }
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y) && digits(m) && digits(d)) {
        return None;
    }
    jiff::civil::Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

fn micros(ts: jiff::Timestamp) -> i64 {
    ts.as_microsecond()
}

fn civil_micros(dt: jiff::civil::DateTime) -> Option<i64> {
    dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| micros(z.timestamp()))
}

/// `yyyy-[M]M-[d]d HH:mm:ss[.S]` (up to 9 fraction digits), as `java.sql.Timestamp.valueOf`.
fn sql_timestamp(s: &str) -> Option<i64> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('-');
    let (y, m, day) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some() || y.len() != 4 || !(1..=2).contains(&m.len()) || !(1..=2).contains(&day.len()) {
        return None;
    }
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':');
    let (h, mi, sec) = (t.next()?, t.next()?, t.next()?);
    if t.next().is_some() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse::<i32>().ok()?
    };
    let dt = jiff::civil::DateTime::new(
        y.parse().ok()?,
        m.parse().ok()?,
        day.parse().ok()?,
        h.parse().ok()?,
        mi.parse().ok()?,
        sec.parse().ok()?,
        nanos,
    )
    .ok()?;
    civil_micros(dt)
}

/// The timestamps OpenX reads: ISO 8601 with `T` (and `Z` or an offset; none is UTC), the
/// SQL form, and epoch seconds, milliseconds or fractional seconds.
fn openx_timestamp(v: &Value) -> Result<i64, String> {
    let epoch = |s: &str| -> Option<i64> {
        if let Ok(n) = s.parse::<i64>() {
            // Epoch milliseconds from 13 digits on (1e12; 2001-09-09 in seconds has 10).
            return Some(if n.unsigned_abs() >= 1_000_000_000_000 {
                n.saturating_mul(1000)
            } else {
                n.saturating_mul(1_000_000)
            });
        }
        let f: f64 = s.parse().ok().filter(|f: &f64| f.is_finite())?;
        Some((f * 1e6).round() as i64)
    };
    let s = match v {
        Value::Number(n) => return epoch(&n.to_string()).ok_or_else(|| "not a timestamp".into()),
        Value::String(s) => s.trim(),
        _ => return Err("not a timestamp".into()),
    };
    if let Some(us) = epoch(s) {
        return Ok(us);
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(micros(ts));
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>()
        && let Some(us) = civil_micros(dt)
    {
        return Ok(us);
    }
    sql_timestamp(s).ok_or_else(|| "not a timestamp".into())
}

/// A time read with a `strptime` format (UTC when it has no offset).
fn strptime_micros(format: &str, s: &str) -> Option<i64> {
    let tm = jiff::fmt::strtime::parse(format, s.trim()).ok()?;
    if let Ok(ts) = tm.to_timestamp() {
        return Some(micros(ts));
    }
    let date = tm.to_date().ok()?;
    let time = tm.to_time().unwrap_or(jiff::civil::Time::midnight());
    civil_micros(date.to_datetime(time))
}

/// Writes rows (one JSON array per line, as [`Conversion::rows`] makes them) as a Parquet file.
/// Says whether there were any.
pub fn write_parquet<W: Write + Send>(
    columns: &Columns,
    options: &ParquetOptions,
    rows: impl BufRead,
    out: W,
) -> std::io::Result<bool> {
    use parquet::file::properties::{WriterProperties, WriterVersion};
    let props = WriterProperties::builder()
        .set_compression(options.compression)
        .set_data_page_size_limit(options.page_size)
        .set_dictionary_enabled(options.dictionary)
        .set_writer_version(if options.v2 {
            WriterVersion::PARQUET_2_0
        } else {
            WriterVersion::PARQUET_1_0
        })
        // A row group is built in memory: at most 64 MiB of it, whatever BlockSizeBytes says.
        .set_max_row_group_bytes(Some(options.block_size.min(MAX_ROW_GROUP)))
        .set_created_by(format!("rheo version {}", env!("CARGO_PKG_VERSION")))
        .build();
    let schema = columns.schema();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(out, schema.clone(), Some(props)).map_err(std::io::Error::other)?;
    let mut batch: Vec<Value> = Vec::with_capacity(BATCH_ROWS);
    let mut any = false;
    let flush = |batch: &mut Vec<Value>, writer: &mut parquet::arrow::ArrowWriter<W>| -> std::io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let arrays = columns
            .0
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| {
                let vals: Vec<&Value> = batch.iter().map(|r| r.get(i).unwrap_or(&Value::Null)).collect();
                build(ty, &vals)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rb = RecordBatch::try_new(schema.clone(), arrays).map_err(std::io::Error::other)?;
        writer.write(&rb).map_err(std::io::Error::other)?;
        batch.clear();
        Ok(())
    };
    for line in rows.lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        batch.push(serde_json::from_str(&line).map_err(std::io::Error::other)?);
        any = true;
        if batch.len() == BATCH_ROWS {
            flush(&mut batch, &mut writer)?;
        }
    }
    flush(&mut batch, &mut writer)?;
    writer.close().map_err(std::io::Error::other)?;
    Ok(any)
}

const BATCH_ROWS: usize = 8192;

/// Most bytes of a row group in memory.
const MAX_ROW_GROUP: usize = 64 << 20;

fn bad(what: &str) -> std::io::Error {
    std::io::Error::other(format!("a staged row is not canonical: {what}"))
}

/// Builds one column's array from canonical values.
fn build(ty: &HiveType, vals: &[&Value]) -> std::io::Result<ArrayRef> {
    let ints = |v: &&Value| v.as_i64();
    Ok(match ty {
        HiveType::String => Arc::new(vals.iter().map(|v| v.as_str()).collect::<StringArray>()),
        HiveType::Binary => Arc::new(
            vals.iter()
                .map(|v| v.as_str().map(str::as_bytes))
                .collect::<BinaryArray>(),
        ),
        HiveType::Boolean => Arc::new(vals.iter().map(|v| v.as_bool()).collect::<BooleanArray>()),
        HiveType::TinyInt => Arc::new(vals.iter().map(|v| ints(v).map(|n| n as i8)).collect::<Int8Array>()),
        HiveType::SmallInt => Arc::new(vals.iter().map(|v| ints(v).map(|n| n as i16)).collect::<Int16Array>()),
        HiveType::Int => Arc::new(vals.iter().map(|v| ints(v).map(|n| n as i32)).collect::<Int32Array>()),
        HiveType::BigInt => Arc::new(vals.iter().map(ints).collect::<Int64Array>()),
        HiveType::Float => Arc::new(
            vals.iter()
                .map(|v| v.as_f64().map(|f| f as f32))
                .collect::<Float32Array>(),
        ),
        HiveType::Double => Arc::new(vals.iter().map(|v| v.as_f64()).collect::<Float64Array>()),
        HiveType::Decimal(p, s) => Arc::new(
            vals.iter()
                .map(|v| v.as_str().and_then(|s| s.parse::<i128>().ok()))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(*p, *s)
                .map_err(std::io::Error::other)?,
        ),
        HiveType::Timestamp => Arc::new(vals.iter().map(ints).collect::<TimestampMicrosecondArray>()),
        HiveType::Date => Arc::new(vals.iter().map(|v| ints(v).map(|n| n as i32)).collect::<Date32Array>()),
        HiveType::Array(t) => {
            let (offsets, nulls, items) = lists(vals)?;
            let child = build(t, &items)?;
            let field = Arc::new(Field::new("element", t.arrow(), true));
            Arc::new(ListArray::try_new(field, offsets, child, nulls).map_err(std::io::Error::other)?)
        }
        HiveType::Map(k, t) => {
            let (offsets, nulls, entries) = lists(vals)?;
            let nth = |i: usize| -> Vec<&Value> { entries.iter().map(|e| e.get(i).unwrap_or(&Value::Null)).collect() };
            let keys = build(k, &nth(0))?;
            let values = build(t, &nth(1))?;
            let field = map_entries(k, t);
            let DataType::Struct(fields) = field.data_type().clone() else {
                return Err(bad("map entries"));
            };
            let entries = StructArray::try_new(fields, vec![keys, values], None).map_err(std::io::Error::other)?;
            Arc::new(MapArray::try_new(Arc::new(field), offsets, entries, nulls, false).map_err(std::io::Error::other)?)
        }
        HiveType::Struct(fields) => {
            let mut valid = BooleanBufferBuilder::new(vals.len());
            for v in vals {
                valid.append(v.is_array());
            }
            let children = fields
                .iter()
                .enumerate()
                .map(|(i, (_, t))| {
                    let c: Vec<&Value> = vals.iter().map(|v| v.get(i).unwrap_or(&Value::Null)).collect();
                    build(t, &c)
                })
                .collect::<std::io::Result<Vec<_>>>()?;
            let nulls = Some(NullBuffer::new(valid.finish()));
            Arc::new(StructArray::try_new(struct_fields(fields), children, nulls).map_err(std::io::Error::other)?)
        }
    })
}

/// The offsets, validity and items of list values (JSON arrays; anything else is null).
#[allow(clippy::type_complexity)]
fn lists<'v>(vals: &[&'v Value]) -> std::io::Result<(OffsetBuffer<i32>, Option<NullBuffer>, Vec<&'v Value>)> {
    let mut offsets = Vec::with_capacity(vals.len() + 1);
    offsets.push(0i32);
    let mut valid = BooleanBufferBuilder::new(vals.len());
    let mut items = Vec::new();
    for v in vals {
        match v.as_array() {
            Some(a) => {
                items.extend(a.iter());
                valid.append(true);
            }
            None => valid.append(false),
        }
        offsets.push(i32::try_from(items.len()).map_err(|_| bad("a list column is too large"))?);
    }
    Ok((
        OffsetBuffer::new(offsets.into()),
        Some(NullBuffer::new(valid.finish())),
        items,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use serde_json::json;

    fn openx() -> Conversion {
        Conversion {
            table: TableRef {
                catalog_id: None,
                database: "d".into(),
                table: "t".into(),
                region: None,
                version_id: "LATEST".into(),
            },
            deserializer: Deserializer::OpenX {
                case_insensitive: true,
                dots_to_underscores: false,
                mappings: vec![],
            },
            parquet: ParquetOptions::default(),
        }
    }

    #[test]
    fn hive_types_parse() {
        let t = "array<struct<a:int,b:map<string,decimal(5,2)>>>";
        assert_eq!(HiveType::parse(t).unwrap().name(), t);
        assert_eq!(HiveType::parse("INT").unwrap(), HiveType::Int);
        assert_eq!(HiveType::parse("varchar(10)").unwrap(), HiveType::String);
        assert_eq!(HiveType::parse("decimal(10, 2)").unwrap(), HiveType::Decimal(10, 2));
        assert_eq!(
            HiveType::parse("array<struct<a:int, b:map<string,double>>>").unwrap(),
            HiveType::Array(Box::new(HiveType::Struct(vec![
                ("a".into(), HiveType::Int),
                (
                    "b".into(),
                    HiveType::Map(Box::new(HiveType::String), Box::new(HiveType::Double))
                )
            ])))
        );
        for bad in [
            "",
            "int>",
            "array<int",
            "decimal(40,2)",
            "uniontype<int,string>",
            "map<array<int>,int>",
        ] {
            assert!(HiveType::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rows_follow_openx_rules() {
        let cols = Columns(vec![
            ("id".into(), HiveType::BigInt),
            ("name".into(), HiveType::String),
            ("price".into(), HiveType::Decimal(6, 2)),
            ("at".into(), HiveType::Timestamp),
            ("day".into(), HiveType::Date),
            ("ok".into(), HiveType::Boolean),
            ("missing".into(), HiveType::Int),
        ]);
        let c = openx();
        let row = c
            .rows(
                &cols,
                br#"{"ID": "42", "Name": 7, "price": 12.345, "at": "2024-02-29T12:00:00.5Z", "day": "2024-03-01", "ok": "TRUE", "extra": 1}"#,
            )
            .unwrap();
        assert_eq!(
            row,
            vec![json!([42, "7", "1235", 1_709_208_000_500_000i64, 19783, true, null])]
        );
        assert_eq!(c.rows(&cols, br#"{"id": 1} {"id": 2}"#).unwrap().len(), 2);
        assert_eq!(
            c.rows(&cols, br#"{"id": "0x1f", "day": "2024-3-1"}"#).unwrap()[0][0],
            31
        );
        assert_eq!(
            c.rows(&cols, br#"{"price": "170141183460469231731687303715884105727.5"}"#)
                .unwrap_err()
                .code,
            MALFORMED
        );
        assert_eq!(c.rows(&cols, b"not json").unwrap_err().code, PARSE_ERROR);
        assert_eq!(c.rows(&cols, br#"{"id": 1} {"#).unwrap_err().code, PARSE_ERROR);
        for bad in [&b"[1]"[..], b" \n", b"5", br#"{"id": "x"}"#, br#"{"price": 12345.6}"#] {
            assert_eq!(c.rows(&cols, bad).unwrap_err().code, MALFORMED);
        }
        // Epoch seconds, milliseconds and fractional seconds; the SQL form.
        for (v, us) in [
            (json!(1_518_033_528), 1_518_033_528_000_000i64),
            (json!(1_518_033_528_123i64), 1_518_033_528_123_000),
            (json!(1_518_033_528.5), 1_518_033_528_500_000),
            (json!("2018-2-7 19:58:48.123"), 1_518_033_528_123_000),
            (json!(999_999_999_999i64), 999_999_999_999_000_000),
        ] {
            assert_eq!(openx_timestamp(&v).unwrap(), us, "{v}");
        }
    }

    #[test]
    fn openx_options_and_hive_formats() {
        let cols = Columns(vec![("a_b".into(), HiveType::Int), ("ts".into(), HiveType::Timestamp)]);
        let mut c = openx();
        c.deserializer = Deserializer::OpenX {
            case_insensitive: true,
            dots_to_underscores: true,
            mappings: vec![("ts".into(), "Time".into())],
        };
        assert_eq!(
            c.rows(&cols, br#"{"A.b": 1, "time": 1518033528}"#).unwrap(),
            vec![json!([1, 1_518_033_528_000_000i64])]
        );
        c.deserializer = Deserializer::Hive {
            timestamp_formats: vec![
                TimestampFormat::parse("millis").unwrap(),
                TimestampFormat::parse("yyyy-MM-dd'T'HH:mm:ss.SSSZZ").unwrap(),
            ],
        };
        assert_eq!(
            c.rows(&cols, br#"{"ts": "2018-02-07T20:58:48.123+01:00"}"#).unwrap(),
            vec![json!([null, 1_518_033_528_123_000i64])]
        );
        assert_eq!(
            c.rows(&cols, br#"{"ts": "1518033528123"}"#).unwrap(),
            vec![json!([null, 1_518_033_528_123_000i64])]
        );
        // Hive's SerDe takes no number from a string; `millis` reads numbers too.
        assert_eq!(c.rows(&cols, br#"{"a_b": "1"}"#).unwrap_err().code, MALFORMED);
        assert_eq!(
            c.rows(&cols, br#"{"ts": 1518033528123}"#).unwrap(),
            vec![json!([null, 1_518_033_528_123_000i64])]
        );
        let map = Columns(vec![(
            "m".into(),
            HiveType::Map(Box::new(HiveType::Int), Box::new(HiveType::Boolean)),
        )]);
        assert_eq!(
            c.rows(&map, br#"{"m": {"7": "yes"}}"#).unwrap(),
            vec![json!([[[7, false]]])]
        );
        assert!(TimestampFormat::parse("yyyy G").is_err());
    }

    #[test]
    fn rows_become_parquet() {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let cols = Columns(vec![
            ("id".into(), HiveType::Int),
            ("tags".into(), HiveType::Array(Box::new(HiveType::String))),
            (
                "attrs".into(),
                HiveType::Map(Box::new(HiveType::String), Box::new(HiveType::BigInt)),
            ),
            (
                "who".into(),
                HiveType::Struct(vec![("n".into(), HiveType::String), ("k".into(), HiveType::Double)]),
            ),
            ("p".into(), HiveType::Decimal(5, 1)),
        ]);
        let c = openx();
        let mut staged = Vec::new();
        for r in [
            r#"{"id": 1, "tags": ["a", "b"], "attrs": {"x": 1}, "who": {"N": "ann", "k": 1.5}, "p": "2.25"}"#,
            r#"{"id": 2}"#,
        ] {
            staged.extend(serde_json::to_vec(&c.rows(&cols, r.as_bytes()).unwrap()[0]).unwrap());
            staged.push(b'\n');
        }
        let mut out = Vec::new();
        assert!(write_parquet(&cols, &c.parquet, &staged[..], &mut out).unwrap());
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out))
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        let tags = b.column(1).as_any().downcast_ref::<ListArray>().unwrap();
        assert_eq!(tags.value_length(0), 2);
        assert!(tags.is_null(1));
        let who = b.column(3).as_any().downcast_ref::<StructArray>().unwrap();
        let n = who.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(n.value(0), "ann");
        let p = b.column(4).as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(p.value(0), 23);
    }
}
