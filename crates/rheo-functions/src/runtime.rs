//! The runtimes Rheo runs functions with, as local processes (no containers):
//!
//! - `provided`, `provided.al2`, `provided.al2023`: the package's `bootstrap`, executed (a Rust
//!   `lambda_runtime` binary, a shell script);
//! - `python3.x`: the handler run by AWS's runtime client, `python -m awslambdaric <handler>`,
//!   with the package as working directory (so its modules import) and an interpreter that has
//!   `awslambdaric` and `boto3`. By default Rheo prepares that interpreter once, a virtualenv in
//!   `<runtimes>/python` made with the machine's `python3` and filled from PyPI; a setting names
//!   one prepared beforehand instead (for machines without network access). The machine's
//!   Python version is used whatever `python3.x` the function declares.
//! - anything else (Node.js: AWS's runtime client needs Node 22 and a native build; Java, .NET,
//!   Ruby): refused at CreateFunction with InvalidParameterValueException.

use crate::error::{FunctionError, Result};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How a function's processes start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    Bootstrap,
    Python,
}

/// The launch of a runtime Rheo runs, or the refusal CreateFunction gives.
pub fn launch_for(runtime: &str) -> Result<Launch> {
    match runtime {
        "provided" | "provided.al2" | "provided.al2023" => Ok(Launch::Bootstrap),
        r if r.starts_with("python3.") => Ok(Launch::Python),
        r if r.starts_with("nodejs") => Err(FunctionError::InvalidParameter(format!(
            "The runtime parameter of {r} is not supported by this Rheo server: AWS's Node.js runtime client needs Node.js 22 or later and a native build. Use provided.al2023 with a bootstrap, or python3.x."
        ))),
        r => Err(FunctionError::InvalidParameter(format!(
            "The runtime parameter of {r} is not supported by this Rheo server: it runs provided, provided.al2, provided.al2023 and python3.x functions."
        ))),
    }
}

/// The runtime client and packages the managed Python environment holds.
pub const PYTHON_PACKAGES: &[&str] = &["awslambdaric==4.2.2", "boto3"];

/// Where Python functions' interpreter comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PythonSetup {
    /// A virtualenv Rheo makes in this directory on first need (`python3 -m venv`, then `pip
    /// install` of [`PYTHON_PACKAGES`] and `extra`), and reuses.
    Managed { dir: PathBuf, extra: Vec<String> },
    /// An interpreter that already has awslambdaric.
    Interpreter(PathBuf),
}

/// The state of the Python environment: made once, shared by every function and tenant.
#[derive(Debug)]
pub struct Python {
    setup: PythonSetup,
    ready: Mutex<Option<std::result::Result<PathBuf, String>>>,
}

impl Python {
    pub fn new(setup: PythonSetup) -> Arc<Python> {
        // Functions run in their code's directory: the interpreter's path must be absolute.
        let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        let setup = match setup {
            PythonSetup::Managed { dir, extra } => PythonSetup::Managed {
                dir: absolute(dir),
                extra,
            },
            PythonSetup::Interpreter(p) if p.components().count() > 1 => PythonSetup::Interpreter(absolute(p)),
            other => other,
        };
        Arc::new(Python {
            setup,
            ready: Mutex::new(None),
        })
    }

    /// The interpreter to run handlers with, preparing it on first call (blocking: minutes on
    /// a fresh machine). Its failure is remembered until the server restarts.
    pub fn interpreter(&self) -> std::result::Result<PathBuf, String> {
        let mut ready = self.ready.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = ready.as_ref() {
            return r.clone();
        }
        let r = match &self.setup {
            PythonSetup::Interpreter(p) => check(p).map(|()| p.clone()),
            PythonSetup::Managed { dir, extra } => prepare(dir, extra),
        };
        if let Err(e) = &r {
            tracing::error!(error = %e, "the Python runtime is not available");
        }
        *ready = Some(r.clone());
        r
    }
}

fn check(python: &Path) -> std::result::Result<(), String> {
    let out = std::process::Command::new(python)
        .args(["-c", "import awslambdaric"])
        .output()
        .map_err(|e| format!("{} cannot run: {e}", python.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} has no awslambdaric: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Makes (or reuses) the managed virtualenv. A lock file keeps two servers (or test
/// processes) sharing the directory from building it at once.
fn prepare(dir: &Path, extra: &[String]) -> std::result::Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let lock = std::fs::File::create(dir.join(".lock")).map_err(|e| e.to_string())?;
    lock.lock().map_err(|e| e.to_string())?;
    let venv = dir.join("venv");
    let python = venv.join("bin/python");
    let wanted: Vec<&str> = PYTHON_PACKAGES
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
        .collect();
    let stamp = dir.join("installed");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted.join("\n")) {
        return Ok(python);
    }
    tracing::info!(dir = %dir.display(), "preparing the Python runtime (a virtualenv with awslambdaric)");
    let run = |cmd: &mut std::process::Command| -> std::result::Result<(), String> {
        let out = cmd.output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    };
    if !python.exists() {
        run(std::process::Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .map_err(|e| format!("python3 -m venv failed: {e}"))?;
    }
    run(std::process::Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(&wanted))
    .map_err(|e| {
        format!(
            "pip install {} failed (is PyPI reachable? see --python-interpreter): {e}",
            wanted.join(" ")
        )
    })?;
    std::fs::write(&stamp, wanted.join("\n")).map_err(|e| e.to_string())?;
    Ok(python)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_are_run_or_refused_clearly() {
        assert_eq!(launch_for("provided.al2023").unwrap(), Launch::Bootstrap);
        assert_eq!(launch_for("python3.12").unwrap(), Launch::Python);
        let e = launch_for("nodejs20.x").unwrap_err().to_string();
        assert!(e.contains("Node.js 22"), "{e}");
        assert!(launch_for("java21").is_err());
    }
}
