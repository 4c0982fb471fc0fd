//! Errors of the evaluation run.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

use loci_shared::engine::EngineError;

/// Everything that can stop an evaluation run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The cache directory for the wheel could not be created.
    #[error("cannot create the cache directory {path}: {source}")]
    CacheDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// pip could not be started.
    #[error(
        "cannot run `{command}`: {source}; install Python 3 with pip, or pass --wheel with a \
         downloaded recbole-1.2.1 wheel"
    )]
    PipNotStarted {
        /// The command line.
        command: String,
        /// The cause.
        source: io::Error,
    },
    /// pip ran and failed.
    #[error("`{command}` failed ({status}); its output:\n{output}")]
    PipFailed {
        /// The command line.
        command: String,
        /// pip's exit status.
        status: ExitStatus,
        /// What pip printed on stderr and stdout.
        output: String,
    },
    /// pip succeeded but the wheel is not where it should be.
    #[error("pip finished but {0} is missing; pass --wheel with the wheel's path")]
    WheelMissing(PathBuf),
    /// The wheel file could not be opened.
    #[error("cannot open the wheel {path}: {source}")]
    WheelOpen {
        /// Path of the wheel.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The wheel is not a readable zip archive or lacks a data file.
    #[error(
        "cannot read {entry} in the wheel {wheel}: {source}; if the file is damaged, delete it to download it again"
    )]
    Wheel {
        /// Path of the wheel.
        wheel: PathBuf,
        /// The archive entry, or `the zip directory` for the archive's index.
        entry: String,
        /// The cause.
        source: zip::result::ZipError,
    },
    /// A data file entry could not be decompressed or is not UTF-8.
    #[error("cannot decompress {entry} in the wheel {wheel}: {source}")]
    Entry {
        /// Path of the wheel.
        wheel: PathBuf,
        /// The archive entry.
        entry: String,
        /// The cause.
        source: io::Error,
    },
    /// A data file does not have the expected format.
    #[error("{file}, line {line}: {reason}")]
    Format {
        /// Name of the data file.
        file: &'static str,
        /// One-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The engine rejected its input.
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
}
