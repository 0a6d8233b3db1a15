//! A Glue-compatible data catalog of one tenant (the AWS Glue API's CreateDatabase,
//! GetDatabase, GetDatabases, DeleteDatabase, CreateTable, GetTable, GetTables, DeleteTable):
//! the schemas delivery streams convert records with, and later queries read. Names are
//! lowercased, as Glue stores them. Kept in `<tenant>/glue/catalog.json` (replaced whole on each
//! change: temporary file, fsync, rename, fsync of the directory), holding each database's and
//! table's input as given and their times.

use rheo_log::Disk;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlueError {
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    EntityNotFound(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Internal(String),
}

type Result<T> = std::result::Result<T, GlueError>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Table {
    input: Value,
    create_ms: i64,
    update_ms: i64,
    version: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Database {
    input: Value,
    create_ms: i64,
    tables: BTreeMap<String, Table>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CatalogFile {
    databases: BTreeMap<String, Database>,
}

/// One tenant's catalog. Cheap to clone.
#[derive(Clone)]
pub struct Glue {
    disk: Arc<dyn Disk>,
    dir: PathBuf,
    account: String,
    file: Arc<Mutex<CatalogFile>>,
}

const FILE: &str = "catalog.json";
const MAX_PAGE: usize = 100;

fn name_of(v: &Value, member: &str) -> Result<String> {
    let name = v.get(member).and_then(Value::as_str).unwrap_or_default();
    if name.is_empty() {
        return Err(GlueError::InvalidInput(format!("{member} is required.")));
    }
    Ok(name.to_lowercase())
}

/// One page of a listing by name (`MaxResults` at most 100; `NextToken` the last name given):
/// `{<member>: [...], NextToken}`.
fn page<'a>(input: &Value, member: &str, all: impl Iterator<Item = (&'a String, Value)>) -> Value {
    let max = input
        .get("MaxResults")
        .and_then(Value::as_u64)
        .map_or(MAX_PAGE, |m| m as usize)
        .min(MAX_PAGE);
    let after = input.get("NextToken").and_then(Value::as_str);
    let mut rest = all.filter(|(n, _)| after.is_none_or(|a| n.as_str() > a)).peekable();
    let mut list = Vec::new();
    let mut last = None;
    while list.len() < max {
        let Some((n, v)) = rest.next() else { break };
        list.push(v);
        last = Some(n.clone());
    }
    let mut out = json!({ member: list });
    if rest.peek().is_some() {
        out["NextToken"] = json!(last);
    }
    out
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

impl Glue {
    pub fn open(disk: Arc<dyn Disk>, dir: PathBuf, account: String) -> std::io::Result<Glue> {
        let file = match rheo_log::disk::read_all(&*disk, &dir.join(FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CatalogFile::default(),
            Err(e) => return Err(e),
        };
        Ok(Glue {
            disk,
            dir,
            account,
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// Applies `f` and saves, or leaves the catalog as it was.
    fn change<T>(&self, f: impl FnOnce(&mut CatalogFile) -> Result<T>) -> Result<T> {
        let mut cat = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = cat.clone();
        let out = f(&mut next)?;
        let bytes = serde_json::to_vec(&next).map_err(|e| GlueError::Internal(e.to_string()))?;
        self.disk
            .create_dir_all(&self.dir)
            .and_then(|()| rheo_log::disk::replace_file(&*self.disk, &self.dir.join(FILE), &bytes))
            .map_err(|e| GlueError::Internal(e.to_string()))?;
        *cat = next;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&CatalogFile) -> Result<T>) -> Result<T> {
        f(&self.file.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn no_database(name: &str) -> GlueError {
        GlueError::EntityNotFound(format!("Database {name} not found."))
    }

    fn describe_database(&self, name: &str, d: &Database) -> Value {
        let mut v = d.input.clone();
        v["Name"] = json!(name);
        v["CreateTime"] = json!(seconds(d.create_ms));
        v["CatalogId"] = json!(self.account);
        v
    }

    fn describe_table(&self, db: &str, name: &str, t: &Table) -> Value {
        let mut v = t.input.clone();
        v["Name"] = json!(name);
        v["DatabaseName"] = json!(db);
        v["CreateTime"] = json!(seconds(t.create_ms));
        v["UpdateTime"] = json!(seconds(t.update_ms));
        v["CatalogId"] = json!(self.account);
        v["VersionId"] = json!(t.version.to_string());
        v["IsRegisteredWithLakeFormation"] = json!(false);
        v
    }

    /// CreateDatabase.
    pub fn create_database(&self, input: &Value, now_ms: i64) -> Result<Value> {
        let db = input.get("DatabaseInput").cloned().unwrap_or_default();
        let name = name_of(&db, "Name")?;
        self.change(|cat| {
            if cat.databases.contains_key(&name) {
                return Err(GlueError::AlreadyExists("Database already exists.".into()));
            }
            let d = Database {
                input: db,
                create_ms: now_ms,
                tables: BTreeMap::new(),
            };
            cat.databases.insert(name, d);
            Ok(json!({}))
        })
    }

    /// GetDatabase.
    pub fn get_database(&self, input: &Value) -> Result<Value> {
        let name = name_of(input, "Name")?;
        self.read(|cat| {
            let d = cat.databases.get(&name).ok_or_else(|| Glue::no_database(&name))?;
            Ok(json!({ "Database": self.describe_database(&name, d) }))
        })
    }

    /// GetDatabases: by name, NextToken the last name given.
    pub fn get_databases(&self, input: &Value) -> Result<Value> {
        self.read(|cat| {
            let all = cat.databases.iter().map(|(n, d)| (n, self.describe_database(n, d)));
            Ok(page(input, "DatabaseList", all))
        })
    }

    /// DeleteDatabase, with its tables.
    pub fn delete_database(&self, input: &Value) -> Result<Value> {
        let name = name_of(input, "Name")?;
        self.change(|cat| {
            cat.databases.remove(&name).ok_or_else(|| Glue::no_database(&name))?;
            Ok(json!({}))
        })
    }

    /// CreateTable.
    pub fn create_table(&self, input: &Value, now_ms: i64) -> Result<Value> {
        let db = name_of(input, "DatabaseName")?;
        let table = input.get("TableInput").cloned().unwrap_or_default();
        let name = name_of(&table, "Name")?;
        self.change(|cat| {
            let d = cat.databases.get_mut(&db).ok_or_else(|| Glue::no_database(&db))?;
            if d.tables.contains_key(&name) {
                return Err(GlueError::AlreadyExists("Table already exists.".into()));
            }
            let t = Table {
                input: table,
                create_ms: now_ms,
                update_ms: now_ms,
                version: 0,
            };
            d.tables.insert(name, t);
            Ok(json!({}))
        })
    }

    /// The table's description (also what delivery streams convert records with).
    pub fn table(&self, db: &str, name: &str) -> Result<Value> {
        let (db, name) = (db.to_lowercase(), name.to_lowercase());
        self.read(|cat| {
            let d = cat.databases.get(&db).ok_or_else(|| Glue::no_database(&db))?;
            let t = d
                .tables
                .get(&name)
                .ok_or_else(|| GlueError::EntityNotFound(format!("Table {name} not found.")))?;
            Ok(self.describe_table(&db, &name, t))
        })
    }

    /// GetTable.
    pub fn get_table(&self, input: &Value) -> Result<Value> {
        let table = self.table(&name_of(input, "DatabaseName")?, &name_of(input, "Name")?)?;
        Ok(json!({ "Table": table }))
    }

    /// GetTables: by name, filtered by `Expression` (a regular expression on the name).
    pub fn get_tables(&self, input: &Value) -> Result<Value> {
        let db = name_of(input, "DatabaseName")?;
        let pattern =
            match input.get("Expression").and_then(Value::as_str) {
                Some(e) => Some(regex_lite::Regex::new(&format!("^(?:{e})$")).map_err(|_| {
                    GlueError::InvalidInput(format!("Expression {e} is not a valid regular expression."))
                })?),
                None => None,
            };
        self.read(|cat| {
            let d = cat.databases.get(&db).ok_or_else(|| Glue::no_database(&db))?;
            let all = d
                .tables
                .iter()
                .filter(|(n, _)| pattern.as_ref().is_none_or(|p| p.is_match(n)))
                .map(|(n, t)| (n, self.describe_table(&db, n, t)));
            Ok(page(input, "TableList", all))
        })
    }

    /// DeleteTable.
    pub fn delete_table(&self, input: &Value) -> Result<Value> {
        let db = name_of(input, "DatabaseName")?;
        let name = name_of(input, "Name")?;
        self.change(|cat| {
            let d = cat.databases.get_mut(&db).ok_or_else(|| Glue::no_database(&db))?;
            d.tables
                .remove(&name)
                .ok_or_else(|| GlueError::EntityNotFound(format!("Table {name} not found.")))?;
            Ok(json!({}))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_and_tables() {
        let dir = tempfile::tempdir().unwrap();
        let disk: Arc<dyn Disk> = Arc::new(rheo_log::RealDisk);
        let g = Glue::open(disk.clone(), dir.path().join("glue"), "000000000000".into()).unwrap();
        g.create_database(&json!({"DatabaseInput": {"Name": "Lake"}}), 1000)
            .unwrap();
        assert!(matches!(
            g.create_database(&json!({"DatabaseInput": {"Name": "lake"}}), 1000),
            Err(GlueError::AlreadyExists(_))
        ));
        let cols = json!([{"Name": "id", "Type": "bigint"}, {"Name": "page", "Type": "string"}]);
        for n in ["clicks", "views", "orders"] {
            g.create_table(
                &json!({"DatabaseName": "lake", "TableInput": {"Name": n, "StorageDescriptor": {"Columns": cols}}}),
                2000,
            )
            .unwrap();
        }
        let t = g.get_table(&json!({"DatabaseName": "LAKE", "Name": "Clicks"})).unwrap();
        assert_eq!(t["Table"]["StorageDescriptor"]["Columns"][0]["Type"], "bigint");
        assert_eq!(t["Table"]["DatabaseName"], "lake");
        let page = g.get_tables(&json!({"DatabaseName": "lake", "MaxResults": 2})).unwrap();
        assert_eq!(page["TableList"].as_array().unwrap().len(), 2);
        let next = page["NextToken"].as_str().unwrap().to_owned();
        let rest = g
            .get_tables(&json!({"DatabaseName": "lake", "NextToken": next}))
            .unwrap();
        assert_eq!(rest["TableList"][0]["Name"], "views");
        let filtered = g
            .get_tables(&json!({"DatabaseName": "lake", "Expression": "c.*"}))
            .unwrap();
        assert_eq!(filtered["TableList"].as_array().unwrap().len(), 1);
        // Saved and read back.
        let again = Glue::open(disk, dir.path().join("glue"), "000000000000".into()).unwrap();
        g.delete_table(&json!({"DatabaseName": "lake", "Name": "views"}))
            .unwrap();
        assert!(
            again
                .get_table(&json!({"DatabaseName": "lake", "Name": "orders"}))
                .is_ok()
        );
        assert!(matches!(
            g.get_table(&json!({"DatabaseName": "lake", "Name": "views"})),
            Err(GlueError::EntityNotFound(_))
        ));
        g.delete_database(&json!({"Name": "lake"})).unwrap();
        assert!(matches!(
            g.get_database(&json!({"Name": "lake"})),
            Err(GlueError::EntityNotFound(_))
        ));
    }
}
