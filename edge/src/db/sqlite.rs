//! SQLite through rusqlite, for native tests and tools: the same SQL and migrations as D1.

use std::cell::RefCell;
use std::path::Path;

use rusqlite::types::{Value as SqliteValue, ValueRef};
use rusqlite::Connection;
use serde_json::{Map, Number, Value};

use super::{Database, DbError, SqlValue, Statement};

/// An SQLite database with the worker's migrations applied.
pub struct SqliteDatabase {
    connection: RefCell<Connection>,
}

fn query_error(error: rusqlite::Error) -> DbError {
    DbError::Query(error.to_string())
}

fn to_sqlite(value: &SqlValue) -> SqliteValue {
    match value {
        SqlValue::Null => SqliteValue::Null,
        SqlValue::Integer(n) => SqliteValue::Integer(*n),
        SqlValue::Real(x) => SqliteValue::Real(*x),
        SqlValue::Text(text) => SqliteValue::Text(text.clone()),
    }
}

fn to_json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::from(n),
        ValueRef::Real(x) => Number::from_f64(x).map_or(Value::Null, Value::Number),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
    }
}

impl SqliteDatabase {
    /// Opens an in-memory database and applies every migration in `migrations_dir` in name order.
    pub fn in_memory_with_migrations(migrations_dir: &Path) -> Result<SqliteDatabase, DbError> {
        let connection = Connection::open_in_memory().map_err(query_error)?;
        let mut files: Vec<_> = std::fs::read_dir(migrations_dir)
            .map_err(|e| DbError::Query(format!("cannot read migrations in {}: {e}", migrations_dir.display())))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        for file in files {
            let sql = std::fs::read_to_string(&file)
                .map_err(|e| DbError::Query(format!("cannot read {}: {e}", file.display())))?;
            connection.execute_batch(&sql).map_err(query_error)?;
        }
        Ok(SqliteDatabase { connection: RefCell::new(connection) })
    }

    /// Opens the database with the migrations shipped in this crate.
    pub fn for_tests() -> SqliteDatabase {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        SqliteDatabase::in_memory_with_migrations(&dir).expect("the crate's own migrations apply to a new database")
    }

    fn run(connection: &Connection, statement: &Statement) -> Result<Vec<Value>, DbError> {
        let mut prepared = connection.prepare(&statement.sql).map_err(query_error)?;
        let names: Vec<String> = prepared.column_names().into_iter().map(str::to_owned).collect();
        let params: Vec<SqliteValue> = statement.params.iter().map(to_sqlite).collect();
        let mut rows = prepared.query(rusqlite::params_from_iter(params)).map_err(query_error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(query_error)? {
            let mut object = Map::new();
            for (index, name) in names.iter().enumerate() {
                object.insert(name.clone(), to_json(row.get_ref(index).map_err(query_error)?));
            }
            out.push(Value::Object(object));
        }
        Ok(out)
    }
}

impl Database for SqliteDatabase {
    async fn query(&self, statement: Statement) -> Result<Vec<Value>, DbError> {
        SqliteDatabase::run(&self.connection.borrow(), &statement)
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<(), DbError> {
        let mut connection = self.connection.borrow_mut();
        let transaction = connection.transaction().map_err(query_error)?;
        for statement in &statements {
            SqliteDatabase::run(&transaction, statement)?;
        }
        transaction.commit().map_err(query_error)
    }
}
