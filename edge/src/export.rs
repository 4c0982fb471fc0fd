//! Tabular responses in JSON, CSV or NDJSON, for analytics exports and admin reports.
//!
//! An export is built as a [`Table`]: named columns and rows of JSON values. JSON responses keep
//! their own envelope (with totals or metadata); CSV and NDJSON write the table's rows only,
//! one line per row, in a shape spreadsheets and analytics warehouses load directly.

use loci_shared::api::QueryError;
use serde_json::{Map, Value};

use crate::http::ApiResponse;

/// The format an export is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON document (the default).
    Json,
    /// Comma-separated values with a header line (RFC 4180).
    Csv,
    /// Newline-delimited JSON: one object per row.
    Ndjson,
}

impl Format {
    /// Parses the `format` query parameter.
    pub fn parse(value: &str, accepted: &[Format]) -> Result<Format, QueryError> {
        let format = match value {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "ndjson" => Some(Format::Ndjson),
            _ => None,
        };
        format.filter(|f| accepted.contains(f)).ok_or_else(|| {
            let names: Vec<&str> = accepted.iter().map(|f| f.as_str()).collect();
            QueryError::Invalid {
                parameter: "format",
                reason: format!("`{}` is not one of {}", shorten(value), names.join(", ")),
            }
        })
    }

    /// Returns the name used in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }
}

/// Cuts a client-supplied value for echoing it in an error message.
pub fn shorten(value: &str) -> String {
    value.chars().take(40).collect()
}

/// Rows under named columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column names, in order.
    pub columns: Vec<&'static str>,
    /// Rows, each with one value per column.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// Creates an empty table with these columns.
    pub fn new(columns: &[&'static str]) -> Table {
        Table { columns: columns.to_vec(), rows: Vec::new() }
    }

    /// Appends a row; its values must follow the column order.
    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len(), "a row must have one value per column");
        self.rows.push(row);
    }

    /// Returns the rows as JSON objects keyed by column name.
    pub fn objects(&self) -> Vec<Value> {
        self.rows.iter().map(|row| Value::Object(self.object(row))).collect()
    }

    fn object(&self, row: &[Value]) -> Map<String, Value> {
        self.columns.iter().zip(row).map(|(column, value)| ((*column).to_owned(), value.clone())).collect()
    }

    /// Writes the table as CSV with a header line.
    pub fn to_csv(&self) -> String {
        let mut out = self.columns.join(",");
        out.push('\n');
        for row in &self.rows {
            let fields: Vec<String> = row.iter().map(csv_value).collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    /// Writes the table as NDJSON, one object per line.
    pub fn to_ndjson(&self) -> String {
        let mut out = String::new();
        for row in &self.rows {
            out.push_str(&Value::Object(self.object(row)).to_string());
            out.push('\n');
        }
        out
    }

    /// Builds the response in `format`: `envelope` for JSON, the rows for CSV and NDJSON, which are
    /// offered as a download named `{file_stem}.csv` or `{file_stem}.ndjson`.
    pub fn respond(&self, format: Format, envelope: &Value, file_stem: &str) -> ApiResponse {
        let (content_type, body) = match format {
            Format::Json => return ApiResponse::json(200, envelope),
            Format::Csv => ("text/csv; charset=utf-8", self.to_csv()),
            Format::Ndjson => ("application/x-ndjson; charset=utf-8", self.to_ndjson()),
        };
        let mut response = ApiResponse::text(200, content_type, body);
        response.set_header("content-disposition", format!("attachment; filename=\"{file_stem}.{}\"", format.as_str()));
        response
    }
}

fn csv_value(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => csv_field(text),
        Value::Array(items) => {
            let parts: Vec<String> =
                items.iter().map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_owned)).collect();
            csv_field(&parts.join("; "))
        }
        other => other.to_string(),
    }
}

/// Quotes a CSV field when needed, and neutralises a leading `=`, `+`, `-` or `@` so that a
/// spreadsheet opening the export does not run a title as a formula.
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_field_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("@sum, x"), "\"'@sum, x\"");
    }

    #[test]
    fn tables_write_csv_and_ndjson() {
        let mut table = Table::new(&["key", "clicks", "keywords"]);
        table.push(vec![json!("sea, sky"), json!(3), json!(["a", "b"])]);
        table.push(vec![Value::Null, json!(0.5), json!([])]);

        assert_eq!(table.to_csv(), "key,clicks,keywords\n\"sea, sky\",3,a; b\n,0.5,\n");
        assert_eq!(
            table.to_ndjson(),
            "{\"clicks\":3,\"key\":\"sea, sky\",\"keywords\":[\"a\",\"b\"]}\n{\"clicks\":0.5,\"key\":null,\"keywords\":[]}\n"
        );
    }

    #[test]
    fn format_lists_what_is_accepted() {
        let error = Format::parse("xml", &[Format::Json, Format::Csv]).unwrap_err();
        assert!(error.to_string().contains("json, csv"), "{error}");
        assert_eq!(Format::parse("ndjson", &[Format::Ndjson]).unwrap(), Format::Ndjson);
    }
}
