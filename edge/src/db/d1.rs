//! Cloudflare D1, the worker's production database.

use serde_json::Value;
use wasm_bindgen::JsValue;
use worker::D1Database;

use super::{Database, DbError, SqlValue, Statement};

/// The D1 binding `DB`.
pub struct D1 {
    database: D1Database,
}

impl D1 {
    /// Wraps a D1 binding.
    pub fn new(database: D1Database) -> D1 {
        D1 { database }
    }

    fn prepare(&self, statement: &Statement) -> Result<worker::D1PreparedStatement, DbError> {
        let params: Vec<JsValue> = statement
            .params
            .iter()
            .map(|value| match value {
                SqlValue::Null => JsValue::NULL,
                // D1 numbers are JavaScript numbers; the worker's integers (timestamps in
                // milliseconds, counts) stay far below 2^53.
                SqlValue::Integer(n) => JsValue::from_f64(*n as f64),
                SqlValue::Real(x) => JsValue::from_f64(*x),
                SqlValue::Text(text) => JsValue::from_str(text),
            })
            .collect();
        self.database.prepare(&statement.sql).bind(&params).map_err(|e| DbError::Query(e.to_string()))
    }
}

impl Database for D1 {
    async fn query(&self, statement: Statement) -> Result<Vec<Value>, DbError> {
        let result = self.prepare(&statement)?.all().await.map_err(|e| DbError::Query(e.to_string()))?;
        result.results::<Value>().map_err(|e| DbError::Decode(e.to_string()))
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<(), DbError> {
        let prepared = statements.iter().map(|statement| self.prepare(statement)).collect::<Result<Vec<_>, _>>()?;
        self.database.batch(prepared).await.map_err(|e| DbError::Query(e.to_string()))?;
        Ok(())
    }
}
