//! The filesystem seam: everything the log does to files goes through [`Disk`].
//!
//! [`RealDisk`] is the operating system. [`SimDisk`] keeps files in memory and remembers which
//! bytes were synced, so a test can cut the power ([`SimDisk::power_cut`]) and lose exactly what
//! a real machine could lose.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub trait Disk: Send + Sync + 'static {
    /// Creates a directory and its parents, and syncs the parents' entries.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Files directly in `dir`, sorted by name.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// Opens a file for positional reads and writes, creating it if asked.
    fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn DiskFile>>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (created, removed and renamed files) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Renames a file, replacing `to` if it exists (durable once the directory is synced).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Bytes free for unprivileged writes on the filesystem holding `dir` (or its nearest
    /// existing ancestor).
    fn free_bytes(&self, dir: &Path) -> io::Result<u64>;
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

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn free_bytes(&self, dir: &Path) -> io::Result<u64> {
        let mut d = dir;
        while !d.exists() {
            match d.parent() {
                Some(p) if !p.as_os_str().is_empty() => d = p,
                _ => {
                    d = Path::new(".");
                    break;
                }
            }
        }
        let st = rustix::fs::statvfs(d).map_err(io::Error::from)?;
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }
}

/// Whether an error means the disk is full.
pub fn is_no_space(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error()) || e.kind() == io::ErrorKind::StorageFull
}

/// Reads a whole (small) file.
pub fn read_all(disk: &dyn Disk, path: &Path) -> io::Result<Vec<u8>> {
    let file = disk.open(path, false)?;
    let len = usize::try_from(file.size()?).map_err(io::Error::other)?;
    let mut buf = vec![0u8; len];
    let n = read_full_at(&*file, &mut buf, 0)?;
    buf.truncate(n);
    Ok(buf)
}

/// Replaces `path` with `bytes` atomically and durably: written to `path.tmp`, synced,
/// renamed over `path`, and the directory synced. A reader (or a restart after a power cut)
/// sees the old content or the new, never a mix.
pub fn replace_file(disk: &dyn Disk, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = disk.open(&tmp, true)?;
    file.set_len(0)?;
    file.write_all_at(bytes, 0)?;
    file.sync()?;
    disk.rename(&tmp, path)?;
    disk.sync_dir(path.parent().unwrap_or(Path::new(".")))
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

#[cfg(any(test, feature = "sim"))]
pub use sim::{EIO, ENOSPC, Op, SimDisk};

#[cfg(any(test, feature = "sim"))]
mod sim {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::{Condvar, Mutex, MutexGuard};

    /// An operation of the simulated disk that a test can make fail.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Op {
        Write,
        Sync,
        SetLen,
        Open,
        Rename,
        SyncDir,
    }

    /// An in-memory disk that models what survives a power cut, and that fails on demand: the
    /// next operations of a kind ([`SimDisk::fail`]), or writes past a capacity
    /// ([`SimDisk::set_capacity`], ENOSPC). A failed sync leaves the unsynced bytes in the "page
    /// cache", so a later sync would make them durable: what a writer must not let happen to bytes
    /// it reported as failed.
    #[derive(Clone, Default)]
    pub struct SimDisk {
        inner: Arc<Mutex<SimState>>,
        gate: Arc<(Mutex<Gate>, Condvar)>,
    }

    /// Syncs held back by [`SimDisk::hold_syncs`]: a disk that stops answering.
    #[derive(Default)]
    struct Gate {
        /// Syncs of files whose name starts with this wait until released.
        prefix: Option<String>,
        waiting: usize,
    }

    #[derive(Default)]
    struct SimState {
        files: BTreeMap<PathBuf, SimFileState>,
        /// Files renamed away whose old entry survives a power cut until the directory is synced.
        ghosts: BTreeMap<PathBuf, SimFileState>,
        dirs: BTreeSet<PathBuf>,
        faults: Vec<(Op, usize, i32)>,
        capacity: Option<u64>,
    }

    impl SimState {
        /// Takes one injected failure of `op`, if any is pending.
        fn fault(&mut self, op: Op) -> io::Result<()> {
            if let Some(f) = self.faults.iter_mut().find(|f| f.0 == op && f.1 > 0) {
                f.1 -= 1;
                return Err(io::Error::from_raw_os_error(f.2));
            }
            Ok(())
        }
        fn used(&self) -> u64 {
            self.files.values().map(|f| f.current.len() as u64).sum()
        }
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

    /// EIO and ENOSPC.
    pub const EIO: i32 = 5;
    pub const ENOSPC: i32 = 28;

    impl SimDisk {
        fn state(&self) -> MutexGuard<'_, SimState> {
            self.inner.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Makes the next `times` operations of kind `op` fail with the OS error `errno`
        /// ([`EIO`], [`ENOSPC`]).
        pub fn fail(&self, op: Op, times: usize, errno: i32) {
            self.state().faults.push((op, times, errno));
        }

        /// Bytes all files hold now.
        pub fn used(&self) -> u64 {
            self.state().used()
        }

        /// Makes every sync of a file whose name starts with `file_name_prefix` wait (without
        /// holding up any other operation) until [`SimDisk::release_syncs`].
        pub fn hold_syncs(&self, file_name_prefix: &str) {
            self.gate.0.lock().unwrap_or_else(|p| p.into_inner()).prefix = Some(file_name_prefix.to_owned());
        }

        /// Lets held syncs, and later ones, through.
        pub fn release_syncs(&self) {
            self.gate.0.lock().unwrap_or_else(|p| p.into_inner()).prefix = None;
            self.gate.1.notify_all();
        }

        /// How many syncs are waiting on [`SimDisk::hold_syncs`] now.
        pub fn held_syncs(&self) -> usize {
            self.gate.0.lock().unwrap_or_else(|p| p.into_inner()).waiting
        }

        fn wait_at_gate(&self, path: &Path) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (lock, cvar) = &*self.gate;
            let mut gate = lock.lock().unwrap_or_else(|p| p.into_inner());
            let held = |g: &Gate| g.prefix.as_deref().is_some_and(|p| name.starts_with(p));
            if !held(&gate) {
                return;
            }
            gate.waiting += 1;
            while held(&gate) {
                gate = cvar.wait(gate).unwrap_or_else(|p| p.into_inner());
            }
            gate.waiting -= 1;
        }

        /// Drops the failures still pending.
        pub fn clear_faults(&self) {
            self.state().faults.clear();
        }

        /// Limits the bytes all files may hold; writes and extensions past it fail with ENOSPC.
        pub fn set_capacity(&self, bytes: Option<u64>) {
            self.state().capacity = bytes;
        }

        /// Loses everything that was not synced. Of each file's unsynced appended bytes, the first
        /// `torn(path, unsynced_len)` bytes survive, as pages written back before the cut would.
        pub fn power_cut(&self, mut torn: impl FnMut(&Path, usize) -> usize) {
            let mut st = self.state();
            let ghosts = std::mem::take(&mut st.ghosts);
            st.files.retain(|_, f| f.entry_durable);
            for (path, ghost) in ghosts {
                st.files.insert(path, ghost);
            }
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
            st.faults.clear();
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

        /// The files whose names are in `dir`.
        pub fn files_in(&self, dir: &Path) -> Vec<PathBuf> {
            self.state()
                .files
                .keys()
                .filter(|p| p.parent() == Some(dir))
                .cloned()
                .collect()
        }
    }

    impl Disk for SimDisk {
        fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
            self.state().dirs.insert(dir.to_path_buf());
            Ok(())
        }
        fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
            Ok(self.files_in(dir))
        }
        fn open(&self, path: &Path, create: bool) -> io::Result<Arc<dyn DiskFile>> {
            let mut st = self.state();
            st.fault(Op::Open)?;
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
            let mut st = self.state();
            st.fault(Op::SyncDir)?;
            for (p, f) in st.files.iter_mut() {
                if p.parent() == Some(dir) {
                    f.entry_durable = true;
                }
            }
            st.ghosts.retain(|p, _| p.parent() != Some(dir));
            Ok(())
        }
        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            let mut st = self.state();
            st.fault(Op::Rename)?;
            let mut f = st
                .files
                .remove(from)
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
            if f.entry_durable {
                // Until the directory is synced, a power cut brings the old name back.
                st.ghosts.insert(from.to_path_buf(), f.clone());
            }
            if let Some(old) = st.files.get(to).filter(|o| o.entry_durable) {
                let old = old.clone();
                st.ghosts.entry(to.to_path_buf()).or_insert(old);
            }
            f.entry_durable = false;
            st.files.insert(to.to_path_buf(), f);
            Ok(())
        }
        fn free_bytes(&self, _dir: &Path) -> io::Result<u64> {
            let st = self.state();
            Ok(st.capacity.map_or(u64::MAX, |c| c.saturating_sub(st.used())))
        }
    }

    impl SimFile {
        fn with<R>(
            &self,
            op: Option<Op>,
            f: impl FnOnce(&mut SimFileState, Option<u64>, u64) -> io::Result<R>,
        ) -> io::Result<R> {
            let mut st = self.disk.state();
            if let Some(op) = op {
                st.fault(op)?;
            }
            let (capacity, used) = (st.capacity, st.used());
            let file = st
                .files
                .get_mut(&self.path)
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
            f(file, capacity, used)
        }
    }

    /// Whether growing a file from `from` to `to` bytes fits.
    fn fits(capacity: Option<u64>, used: u64, from: usize, to: usize) -> io::Result<()> {
        let grow = to.saturating_sub(from) as u64;
        match capacity {
            Some(c) if used + grow > c => Err(io::Error::from_raw_os_error(ENOSPC)),
            _ => Ok(()),
        }
    }

    impl DiskFile for SimFile {
        fn size(&self) -> io::Result<u64> {
            self.with(None, |f, _, _| Ok(f.current.len() as u64))
        }
        fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
            self.with(None, |f, _, _| {
                let pos = (pos as usize).min(f.current.len());
                let n = buf.len().min(f.current.len() - pos);
                buf[..n].copy_from_slice(&f.current[pos..pos + n]);
                Ok(n)
            })
        }
        fn write_all_at(&self, buf: &[u8], pos: u64) -> io::Result<()> {
            self.with(Some(Op::Write), |f, capacity, used| {
                let end = pos as usize + buf.len();
                fits(capacity, used, f.current.len(), end)?;
                if f.current.len() < end {
                    f.current.resize(end, 0);
                }
                f.current[pos as usize..end].copy_from_slice(buf);
                Ok(())
            })
        }
        fn set_len(&self, len: u64) -> io::Result<()> {
            self.with(Some(Op::SetLen), |f, capacity, used| {
                fits(capacity, used, f.current.len(), len as usize)?;
                f.current.resize(len as usize, 0);
                Ok(())
            })
        }
        fn sync(&self) -> io::Result<()> {
            self.disk.wait_at_gate(&self.path);
            self.with(Some(Op::Sync), |f, _, _| {
                f.durable = f.current.clone();
                Ok(())
            })
        }
    }
}
