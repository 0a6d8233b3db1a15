//! The filesystem seam: everything the log does to files goes through [`Disk`].
//!
//! [`RealDisk`] is the operating system. [`SimDisk`] keeps files in memory and remembers which
//! bytes were synced, so a test can cut the power ([`SimDisk::power_cut`]) and lose exactly what
//! a real machine could lose.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub trait Disk: Send + Sync + 'static {
    /// Creates a directory and its parents, and syncs the parents' entries.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Files directly in `dir`, sorted by name.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// Opens a file for positional reads and writes, creating it if asked.
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn DiskFile>>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (created and removed files) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

pub trait DiskFile: Send + Sync {
    fn size(&self) -> io::Result<u64>;
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize>;
    fn write_all_at(&self, buf: &[u8], pos: u64) -> io::Result<()>;
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes the file's data durable (`fdatasync`).
    fn sync(&self) -> io::Result<()>;
}

/// Reads exactly `buf.len()` bytes at `pos`, or fewer if the file ends first.
pub fn read_full_at(file: &dyn DiskFile, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], pos + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// The operating system's filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealDisk;

impl Disk for RealDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        std::fs::create_dir_all(dir)?;
        let mut d = dir;
        while let Some(parent) = d.parent() {
            if parent.as_os_str().is_empty() {
                break;
            }
            self.sync_dir(parent)?;
            d = parent;
        }
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                out.push(entry.path());
            }
        }
        out.sort();
        Ok(out)
    }

    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn DiskFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)?;
        Ok(Arc::new(RealFile(file)))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        match std::fs::remove_dir_all(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

struct RealFile(File);

impl DiskFile for RealFile {
    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        self.0.read_at(buf, pos)
    }
    fn write_all_at(&self, buf: &[u8], pos: u64) -> io::Result<()> {
        self.0.write_all_at(buf, pos)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn sync(&self) -> io::Result<()> {
        self.0.sync_data()
    }
}

/// An in-memory disk that models what survives a power cut.
#[derive(Clone, Default)]
pub struct SimDisk {
    inner: Arc<Mutex<SimState>>,
}

#[derive(Default)]
struct SimState {
    files: BTreeMap<PathBuf, SimFileState>,
    dirs: BTreeSet<PathBuf>,
}

#[derive(Default, Clone)]
struct SimFileState {
    current: Vec<u8>,
    durable: Vec<u8>,
    /// Whether the directory entry survives a power cut.
    entry_durable: bool,
}

struct SimFile {
    disk: SimDisk,
    path: PathBuf,
}

impl SimDisk {
    fn state(&self) -> MutexGuard<'_, SimState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loses everything that was not synced. Of each file's unsynced appended bytes, the first
    /// `torn(path, unsynced_len)` bytes survive, as pages written back before the cut would.
    pub fn power_cut(&self, mut torn: impl FnMut(&Path, usize) -> usize) {
        let mut st = self.state();
        st.files.retain(|_, f| f.entry_durable);
        for (path, f) in st.files.iter_mut() {
            let extends = f.current.len() > f.durable.len() && f.current.starts_with(&f.durable);
            let mut survived = f.durable.clone();
            if extends {
                let unsynced = &f.current[f.durable.len()..];
                let keep = torn(path, unsynced.len()).min(unsynced.len());
                survived.extend_from_slice(&unsynced[..keep]);
            }
            // What survived is on the medium now: durable by definition.
            f.durable = survived.clone();
            f.current = survived;
        }
    }

    /// Overwrites bytes of a file as if the medium had changed them (durably).
    pub fn corrupt(&self, path: &Path, pos: usize, bytes: &[u8]) {
        let mut st = self.state();
        if let Some(f) = st.files.get_mut(path) {
            let end = (pos + bytes.len()).min(f.current.len());
            if pos < end {
                f.current[pos..end].copy_from_slice(&bytes[..end - pos]);
                f.durable = f.current.clone();
            }
        }
    }
}

impl Disk for SimDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.state().dirs.insert(dir.to_path_buf());
        Ok(())
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        Ok(self
            .state()
            .files
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .cloned()
            .collect())
    }
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn DiskFile>> {
        let mut st = self.state();
        if !st.files.contains_key(path) {
            if !create {
                return Err(io::Error::from(io::ErrorKind::NotFound));
            }
            st.files.insert(path.to_path_buf(), SimFileState::default());
        }
        Ok(Arc::new(SimFile {
            disk: self.clone(),
            path: path.to_path_buf(),
        }))
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.state().files.remove(path);
        Ok(())
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.state().files.retain(|p, _| !p.starts_with(path));
        Ok(())
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        for (p, f) in self.state().files.iter_mut() {
            if p.parent() == Some(dir) {
                f.entry_durable = true;
            }
        }
        Ok(())
    }
}

impl SimFile {
    fn with<R>(&self, f: impl FnOnce(&mut SimFileState) -> R) -> io::Result<R> {
        let mut st = self.disk.state();
        st.files
            .get_mut(&self.path)
            .map(f)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

impl DiskFile for SimFile {
    fn size(&self) -> io::Result<u64> {
        self.with(|f| f.current.len() as u64)
    }
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        self.with(|f| {
            let pos = (pos as usize).min(f.current.len());
            let n = buf.len().min(f.current.len() - pos);
            buf[..n].copy_from_slice(&f.current[pos..pos + n]);
            n
        })
    }
    fn write_all_at(&self, buf: &[u8], pos: u64) -> io::Result<()> {
        self.with(|f| {
            let end = pos as usize + buf.len();
            if f.current.len() < end {
                f.current.resize(end, 0);
            }
            f.current[pos as usize..end].copy_from_slice(buf);
        })
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.with(|f| f.current.resize(len as usize, 0))
    }
    fn sync(&self) -> io::Result<()> {
        self.with(|f| f.durable = f.current.clone())
    }
}
