//! Lambda-compatible functions, run as local processes: each tenant's function definitions
//! and code (`catalog`, the on-disk layout there), the runtimes Rheo runs (`runtime`: a
//! package's `bootstrap`, or Python through AWS's runtime client), execution environments
//! (`instance`: a process and the Lambda Runtime API it polls), pools of them per function
//! (`pool`), their logs (`logs`), asynchronous invocations waiting to run (`pending`, durable),
//! and the service that creates, updates and invokes functions
//! (`service`).
//!
//! Errors are values (`FunctionError`); their AWS names are the server's concern.

#![forbid(unsafe_code)]

pub mod catalog;
pub mod error;
pub mod instance;
pub mod logs;
pub mod pending;
pub mod pool;
pub mod runtime;
pub mod service;

pub use error::FunctionError;
pub use service::{
    ConfigChanges, Destinations, FunctionView, Functions, FunctionsConfig, InvokeKind, Invoked, NewFunction, State,
};
