//! The SQL database the worker keeps its catalog cache and events in.
//!
//! In production this is Cloudflare D1 ([`d1`], wasm only); native tests run the same SQL on
//! SQLite through rusqlite ([`sqlite`]), with the same migrations, so handler tests exercise
//! the real queries. Both speak SQLite's dialect.
//!
//! D1 allows at most 100 bound parameters per statement, so bulk reads and writes pass one
//! JSON array as a single parameter and expand it with `json_each`.

#[cfg(target_arch = "wasm32")]
pub mod d1;
#[cfg(not(target_arch = "wasm32"))]
pub mod sqlite;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// A 64-bit integer (D1 carries it as a JavaScript number: exact up to 2^53).
    Integer(i64),
    /// A floating point number.
    Real(f64),
    /// Text.
    Text(String),
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> Self {
        SqlValue::Integer(value)
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> Self {
        SqlValue::Text(value.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(value: String) -> Self {
        SqlValue::Text(value)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(SqlValue::Null, Into::into)
    }
}

/// A statement with its parameters, bound as `?1`, `?2`, ...
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL text.
    pub sql: String,
    /// The parameters in order.
    pub params: Vec<SqlValue>,
}

impl Statement {
    /// A statement with the given parameters.
    pub fn new(sql: impl Into<String>, params: Vec<SqlValue>) -> Statement {
        Statement { sql: sql.into(), params }
    }
}

/// Why a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database rejected or failed the statement.
    #[error("database query failed: {0}")]
    Query(String),
    /// A row did not have the shape the caller expected.
    #[error("database row has an unexpected shape: {0}")]
    Decode(String),
}

/// The operations the worker needs from its database.
#[allow(async_fn_in_trait)] // The worker is single-threaded; no caller needs `Send` futures.
pub trait Database {
    /// Runs a query and returns its rows as JSON objects keyed by column name.
    async fn query(&self, statement: Statement) -> Result<Vec<Value>, DbError>;

    /// Runs statements in order as one transaction: all apply or none.
    async fn batch(&self, statements: Vec<Statement>) -> Result<(), DbError>;
}

/// Runs a query and decodes each row into `T`.
pub async fn query_as<T: DeserializeOwned>(db: &impl Database, statement: Statement) -> Result<Vec<T>, DbError> {
    let rows = db.query(statement).await?;
    rows.into_iter().map(|row| serde_json::from_value(row).map_err(|e| DbError::Decode(e.to_string()))).collect()
}

/// Runs a query expected to return at most one row and decodes it.
pub async fn query_optional<T: DeserializeOwned>(
    db: &impl Database,
    statement: Statement,
) -> Result<Option<T>, DbError> {
    Ok(query_as(db, statement).await?.into_iter().next())
}
