//! The functions' catalog and code on disk.
//!
//! Layout, under `<tenant>/lambda/`:
//! - `catalog.json`: every function's definition ([`FunctionDef`]), replaced whole on each
//!   change (temporary file, fsync, rename, fsync of the directory);
//! - `code/<sha>.zip`: each uploaded package, named by the hex SHA-256 of its bytes, written
//!   (temporary file, fsync, rename, fsync of the directory) before the catalog names it;
//! - `code/<sha>/`: the package unpacked, with a `.rheo-unpacked` marker written last. It is
//!   derived from the zip, so it is not fsynced: a directory without its marker is unpacked
//!   again before use.
//!
//! A package no function names any more is deleted after the catalog change that dropped it.

use crate::error::{FunctionError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const FILE: &str = "catalog.json";
const MARKER: &str = ".rheo-unpacked";
/// A zip uploaded in the request body may be 50 MB (AWS's limit for direct uploads), its
/// contents 250 MB unzipped.
pub const MAX_ZIP_BYTES: usize = 50 * 1024 * 1024;
pub const MAX_UNZIPPED_BYTES: u64 = 250 * 1024 * 1024;

/// A function as it was created and last updated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FunctionDef {
    pub name: String,
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub description: String,
    pub timeout_s: u32,
    pub memory_mb: u32,
    pub environment: BTreeMap<String, String>,
    pub architecture: String,
    pub ephemeral_storage_mb: u32,
    /// The hex SHA-256 of the package: its file name under `code/`.
    pub code_sha: String,
    /// CodeSha256 as Lambda reports it: the base64 SHA-256 of the package.
    pub code_sha256: String,
    pub code_size: u64,
    /// Changes with every update (Lambda's RevisionId).
    pub revision_id: String,
    pub last_modified_ms: i64,
    pub tags: BTreeMap<String, String>,
    pub reserved_concurrency: Option<u32>,
    /// The ARN of the function's DeadLetterConfig target, if any.
    pub dead_letter_target: Option<String>,
    /// Put/UpdateFunctionEventInvokeConfig, as given.
    #[serde(default)]
    pub event_invoke: Option<EventInvokeConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct EventInvokeConfig {
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_event_age_s: Option<u32>,
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
    pub last_modified_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct CatalogFile {
    pub version: u32,
    pub functions: BTreeMap<String, FunctionDef>,
}

impl CatalogFile {
    pub fn load(disk: &dyn rheo_log::Disk, dir: &Path) -> std::io::Result<CatalogFile> {
        match rheo_log::disk::read_all(disk, &dir.join(FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CatalogFile {
                version: 1,
                functions: BTreeMap::new(),
            }),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, disk: &dyn rheo_log::Disk, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        rheo_log::disk::replace_file(disk, &dir.join(FILE), &bytes)
    }
}

/// A package checked and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    pub sha: String,
    pub sha256_base64: String,
    pub size: u64,
}

/// Where packages live: `<tenant>/lambda/code`.
#[derive(Debug, Clone)]
pub struct CodeStore {
    dir: PathBuf,
}

impl CodeStore {
    pub fn new(dir: PathBuf) -> CodeStore {
        CodeStore { dir }
    }

    /// Checks that `zip` is a zip Lambda would take, and stores it durably (once per content).
    pub fn store(&self, zip: &[u8]) -> Result<StoredCode> {
        if zip.len() > MAX_ZIP_BYTES {
            return Err(FunctionError::RequestTooLarge(
                "Request must be smaller than 70167211 bytes for the CreateFunction operation".into(),
            ));
        }
        check_zip(zip)?;
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(zip);
        let sha: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        use base64::Engine as _;
        let sha256_base64 = base64::engine::general_purpose::STANDARD.encode(digest);
        std::fs::create_dir_all(&self.dir)?;
        let path = self.zip_path(&sha);
        if !path.exists() {
            let tmp = self.dir.join(format!("{sha}.zip.tmp"));
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(zip)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.dir)?.sync_all()?;
        }
        Ok(StoredCode {
            sha,
            sha256_base64,
            size: zip.len() as u64,
        })
    }

    fn zip_path(&self, sha: &str) -> PathBuf {
        self.dir.join(format!("{sha}.zip"))
    }

    /// The package's bytes (GetFunction's code location serves them).
    pub fn read(&self, sha: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.zip_path(sha))
    }

    /// The unpacked package's directory, unpacking it first if it is not complete.
    pub fn unpacked(&self, sha: &str) -> Result<PathBuf> {
        let dir = self.dir.join(sha);
        if dir.join(MARKER).exists() {
            return Ok(dir);
        }
        let zip = self.read(sha)?;
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        unpack(&zip, &dir)?;
        std::fs::write(dir.join(MARKER), b"")?;
        Ok(dir)
    }

    /// Deletes the packages no function names (and, with `dirs`, their unpacked directories;
    /// temporary files of stores in progress are left).
    pub fn collect(&self, keep: &[&str], dirs: bool) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if name.ends_with(".tmp") || (path.is_dir() && !dirs) {
                continue;
            }
            if keep.contains(&name.trim_end_matches(".zip")) {
                continue;
            }
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

fn unzip_error() -> FunctionError {
    FunctionError::InvalidParameter(
        "Could not unzip uploaded file. Please check your file, then try to upload again.".into(),
    )
}

/// A zip whose entries are readable and stay under the unzipped limit.
fn check_zip(zip: &[u8]) -> Result<()> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(|_| unzip_error())?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|_| unzip_error())?;
        total = total.saturating_add(entry.size());
        if entry.enclosed_name().is_none() {
            return Err(unzip_error());
        }
    }
    if total > MAX_UNZIPPED_BYTES {
        return Err(FunctionError::InvalidParameter(format!(
            "Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Unpacks `zip` into `dir`, keeping Unix permissions (a `bootstrap` stays executable).
fn unpack(zip: &[u8], dir: &Path) -> Result<()> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(|_| unzip_error())?;
    std::fs::create_dir_all(dir)?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|_| unzip_error())?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(unzip_error());
        };
        let path = dir.join(&rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&path)?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = std::fs::File::create(&path)?;
        std::io::copy(&mut entry, &mut out).map_err(|_| unzip_error())?;
        use std::os::unix::fs::PermissionsExt;
        // Lambda runs what the zip marks executable; a zip made without Unix modes (on
        // Windows) gets 0755 for a bootstrap, 0644 otherwise.
        let mode = entry
            .unix_mode()
            .unwrap_or(if rel.ends_with("bootstrap") { 0o755 } else { 0o644 });
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o777 | 0o400))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(files: &[(&str, &str, u32)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, body, mode) in files {
            let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            w.start_file(*name, opts).unwrap();
            w.write_all(body.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn packages_are_stored_once_and_unpacked_with_their_modes() {
        let dir = tempfile::tempdir().unwrap();
        let store = CodeStore::new(dir.path().join("code"));
        let zip = zip_of(&[("bootstrap", "#!/bin/sh\n", 0o755), ("lib/app.py", "x = 1\n", 0o644)]);
        let a = store.store(&zip).unwrap();
        let b = store.store(&zip).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.size, zip.len() as u64);
        let unpacked = store.unpacked(&a.sha).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(unpacked.join("bootstrap"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(std::fs::read_to_string(unpacked.join("lib/app.py")).unwrap(), "x = 1\n");
        store.collect(&[], false);
        assert!(unpacked.exists(), "a running revision's directory stays");
        store.collect(&[], true);
        assert!(!unpacked.exists());
    }

    #[test]
    fn bad_zips_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = CodeStore::new(dir.path().join("code"));
        assert!(matches!(
            store.store(b"not a zip"),
            Err(FunctionError::InvalidParameter(_))
        ));
        let escape = zip_of(&[("../evil", "x", 0o644)]);
        assert!(store.store(&escape).is_err());
    }
}
