//! MovieLens-100k, read at run time from the `recbole==1.2.1` wheel on PyPI.
//!
//! The wheel ships RecBole's "atomic files" under `recbole/dataset_example/ml-100k/`. Both
//! used here are tab-separated with a header of `name:type` columns:
//!
//! - `ml-100k.inter`: `user_id:token`, `item_id:token`, `rating:float`, `timestamp:float`,
//!   100,000 rows;
//! - `ml-100k.item`: `item_id:token`, `movie_title:token_seq`, `release_year:token`,
//!   `class:token_seq` (genres separated by spaces), 1,682 rows.
//!
//! The MovieLens licence forbids redistribution, so the data is only ever read from the
//! downloaded wheel and never written anywhere else.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::EvalError;

/// The PyPI requirement whose wheel contains the data.
pub const REQUIREMENT: &str = "recbole==1.2.1";
/// File name of that wheel.
pub const WHEEL_NAME: &str = "recbole-1.2.1-py3-none-any.whl";

const INTER_ENTRY: &str = "recbole/dataset_example/ml-100k/ml-100k.inter";
const ITEM_ENTRY: &str = "recbole/dataset_example/ml-100k/ml-100k.item";

/// MovieLens-100k with users and items numbered densely in ascending order of their ids.
#[derive(Debug, Clone)]
pub struct MovieLens {
    /// Number of users.
    pub user_count: usize,
    /// Item index of each (user, item) pair, grouped per user index.
    pub items_per_user: Vec<Vec<u32>>,
    /// Content terms of each item: `cat:<genre>` per genre and `decade:<1990s>`.
    pub item_terms: Vec<Vec<String>>,
    /// Number of rows in `ml-100k.inter`.
    pub interaction_count: usize,
}

impl MovieLens {
    /// Number of items in the catalog.
    pub fn item_count(&self) -> usize {
        self.item_terms.len()
    }
}

/// Returns the path of the wheel in `cache_dir`, downloading it with pip when absent.
pub fn obtain_wheel(cache_dir: &Path, python: &str) -> Result<PathBuf, EvalError> {
    let wheel = cache_dir.join(WHEEL_NAME);
    if wheel.is_file() {
        return Ok(wheel);
    }
    std::fs::create_dir_all(cache_dir).map_err(|source| EvalError::CacheDir { path: cache_dir.to_owned(), source })?;

    let mut command = Command::new(python);
    command
        .args(["-m", "pip", "download", REQUIREMENT, "--no-deps", "--only-binary=:all:"])
        .args(["--disable-pip-version-check", "--quiet", "-d"])
        .arg(cache_dir);
    let command_line = format!("{command:?}");
    eprintln!("downloading {REQUIREMENT} into {}", cache_dir.display());
    let output =
        command.output().map_err(|source| EvalError::PipNotStarted { command: command_line.clone(), source })?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        return Err(EvalError::PipFailed { command: command_line, status: output.status, output: text });
    }
    if wheel.is_file() {
        Ok(wheel)
    } else {
        Err(EvalError::WheelMissing(wheel))
    }
}

/// Reads the interactions and item metadata out of the wheel.
pub fn load(wheel: &Path) -> Result<MovieLens, EvalError> {
    let archive_error =
        |entry: &str, source| EvalError::Wheel { wheel: wheel.to_owned(), entry: entry.to_owned(), source };
    let file = File::open(wheel).map_err(|source| EvalError::WheelOpen { path: wheel.to_owned(), source })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|source| archive_error("the zip directory", source))?;

    let mut read_entry = |entry: &str| -> Result<String, EvalError> {
        let mut text = String::new();
        archive
            .by_name(entry)
            .map_err(|source| archive_error(entry, source))?
            .read_to_string(&mut text)
            .map_err(|source| EvalError::Entry { wheel: wheel.to_owned(), entry: entry.to_owned(), source })?;
        Ok(text)
    };
    let items = read_entry(ITEM_ENTRY)?;
    let inter = read_entry(INTER_ENTRY)?;
    parse(&items, &inter)
}

/// Builds the data set from the text of `ml-100k.item` and `ml-100k.inter`.
pub fn parse(items: &str, inter: &str) -> Result<MovieLens, EvalError> {
    let catalog = parse_items(items)?;
    let index_of: BTreeMap<u64, u32> = catalog.keys().enumerate().map(|(index, &id)| (id, index as u32)).collect();
    let item_terms: Vec<Vec<String>> = catalog.into_values().collect();

    let table = Table::new("ml-100k.inter", inter)?;
    let user_column = table.column("user_id:token")?;
    let item_column = table.column("item_id:token")?;
    let mut pairs: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    let mut interaction_count = 0;
    for row in table.rows() {
        let (line, fields) = row?;
        let user = table.number(line, fields[user_column], "user id")?;
        let item_id = table.number(line, fields[item_column], "item id")?;
        let item = *index_of.get(&item_id).ok_or_else(|| EvalError::Format {
            file: table.file,
            line,
            reason: format!("item {item_id} is not in ml-100k.item"),
        })?;
        pairs.entry(user).or_default().push(item);
        interaction_count += 1;
    }

    Ok(MovieLens {
        user_count: pairs.len(),
        items_per_user: pairs.into_values().collect(),
        item_terms,
        interaction_count,
    })
}

/// Reads each item's genres and release decade, keyed by item id.
fn parse_items(text: &str) -> Result<BTreeMap<u64, Vec<String>>, EvalError> {
    let table = Table::new("ml-100k.item", text)?;
    let id_column = table.column("item_id:token")?;
    let year_column = table.column("release_year:token")?;
    let genre_column = table.column("class:token_seq")?;

    let mut catalog = BTreeMap::new();
    for row in table.rows() {
        let (line, fields) = row?;
        let id = table.number(line, fields[id_column], "item id")?;
        let mut terms: Vec<String> = fields[genre_column]
            .split(' ')
            .filter(|genre| !genre.is_empty() && *genre != "unknown")
            .map(|genre| format!("cat:{genre}"))
            .collect();
        // Two rows have no usable year ("unkonwn" and "V"); they simply get no decade term.
        if let Ok(year) = fields[year_column].parse::<u32>() {
            terms.push(format!("decade:{}s", year / 10 * 10));
        }
        if catalog.insert(id, terms).is_some() {
            return Err(EvalError::Format { file: table.file, line, reason: format!("item {id} appears twice") });
        }
    }
    Ok(catalog)
}

/// A tab-separated atomic file: a header of column names and rows of fields.
struct Table<'a> {
    file: &'static str,
    header: Vec<&'a str>,
    body: &'a str,
}

impl<'a> Table<'a> {
    fn new(file: &'static str, text: &'a str) -> Result<Self, EvalError> {
        let (header, body) = text.split_once('\n').ok_or(EvalError::Format {
            file,
            line: 1,
            reason: "the file has no header line".to_owned(),
        })?;
        Ok(Table { file, header: header.trim_end_matches('\r').split('\t').collect(), body })
    }

    fn column(&self, name: &str) -> Result<usize, EvalError> {
        self.header.iter().position(|column| *column == name).ok_or_else(|| EvalError::Format {
            file: self.file,
            line: 1,
            reason: format!("column `{name}` is missing from the header {:?}", self.header),
        })
    }

    /// Yields (one-based line number, fields) for each non-empty line after the header.
    fn rows(&self) -> impl Iterator<Item = Result<(usize, Vec<&'a str>), EvalError>> + '_ {
        self.body.lines().enumerate().filter(|(_, line)| !line.is_empty()).map(|(index, line)| {
            let fields: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
            if fields.len() == self.header.len() {
                Ok((index + 2, fields))
            } else {
                Err(EvalError::Format {
                    file: self.file,
                    line: index + 2,
                    reason: format!("expected {} tab-separated fields, found {}", self.header.len(), fields.len()),
                })
            }
        })
    }

    fn number(&self, line: usize, field: &str, what: &str) -> Result<u64, EvalError> {
        field.parse().map_err(|_| EvalError::Format {
            file: self.file,
            line,
            reason: format!("invalid {what} `{field}`: expected a non-negative integer"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEMS: &str = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n\
                         20\tA\t1995\tAnimation Comedy\n\
                         3\tB\tunkonwn\tunknown\n\
                         7\tC\t1962\tDrama\n";
    const INTER: &str = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n\
                         9\t20\t3\t881250949\n\
                         2\t3\t1\t878887116\n\
                         9\t7\t5\t878887117\n";

    #[test]
    fn parse_numbers_ids_densely() {
        let data = parse(ITEMS, INTER).expect("valid files");
        assert_eq!(data.item_count(), 3);
        assert_eq!(data.user_count, 2);
        assert_eq!(data.interaction_count, 3);
        // Items 3, 7, 20 become 0, 1, 2; users 2 and 9 become 0 and 1.
        assert_eq!(data.items_per_user, vec![vec![0], vec![2, 1]]);
        assert_eq!(data.item_terms[2], vec!["cat:Animation", "cat:Comedy", "decade:1990s"]);
        assert!(data.item_terms[0].is_empty(), "unknown genre and year give no terms");
        assert_eq!(data.item_terms[1], vec!["cat:Drama", "decade:1960s"]);
    }

    #[test]
    fn parse_rejects_unknown_items() {
        let inter = "user_id:token\titem_id:token\n1\t99\n";
        let error = parse(ITEMS, inter).expect_err("item 99 is unknown");
        assert!(error.to_string().contains("item 99 is not in ml-100k.item"), "{error}");
    }

    #[test]
    fn parse_rejects_bad_rows() {
        let short = "user_id:token\titem_id:token\n1\n";
        let error = parse(ITEMS, short).expect_err("row too short");
        assert!(error.to_string().contains("line 2"), "{error}");

        let no_column = "user:token\titem_id:token\n1\t3\n";
        assert!(parse(ITEMS, no_column).is_err());

        let not_number = "user_id:token\titem_id:token\nx\t3\n";
        assert!(parse(ITEMS, not_number).is_err());
    }
}
