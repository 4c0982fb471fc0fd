//! Operator logs: the Workers console in production, stderr natively.

/// Logs an informational line.
pub fn info(message: &str) {
    emit("INFO", message);
}

/// Logs a degraded-but-served condition.
pub fn warn(message: &str) {
    emit("WARN", message);
}

/// Logs an unexpected failure at a boundary.
pub fn error(message: &str) {
    emit("ERROR", message);
}

#[cfg(target_arch = "wasm32")]
fn emit(level: &str, message: &str) {
    worker::console_log!("{level} {message}");
}

#[cfg(not(target_arch = "wasm32"))]
fn emit(level: &str, message: &str) {
    eprintln!("{level} {message}");
}
