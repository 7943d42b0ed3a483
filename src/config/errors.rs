//! Config errors with the place they point at (`FILE:LINE:COL: KEY: message`).

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a config file.
///
/// `line` and `col` are 1-based; both are 0 when the problem is about the file as a
/// whole (it cannot be read), and then [`fmt::Display`] leaves the position out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// 1-based line (0: the whole file).
    pub line: usize,
    /// 1-based column in characters (0: the whole file).
    pub col: usize,
    /// Where in the schema, e.g. `accounts[1].poll_interval` (empty: the whole file).
    pub key_path: String,
    /// What is wrong.
    pub message: String,
    /// What would be accepted, if that can be said briefly.
    pub expected: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.col)?;
        }
        f.write_str(": ")?;
        if !self.key_path.is_empty() {
            write!(f, "{}: ", self.key_path)?;
        }
        f.write_str(&self.message)?;
        if let Some(expected) = &self.expected {
            write!(f, " (expected: {expected})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a config file, in file order; never empty.
///
/// Displays as one [`ConfigError`] per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", display_lines(.errors))]
pub struct ConfigErrors {
    /// The problems, sorted by position.
    pub errors: Vec<ConfigError>,
}

fn display_lines(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigErrors {
    /// A single error.
    pub fn one(error: ConfigError) -> Self {
        ConfigErrors {
            errors: vec![error],
        }
    }

    /// Each error as one display line.
    pub fn lines(&self) -> Vec<String> {
        self.errors.iter().map(ToString::to_string).collect()
    }
}

/// Knows the text of the file, so it can turn byte offsets into `line:col` and
/// name the key an offset belongs to.
pub(crate) struct Source<'a> {
    pub(crate) path: &'a Path,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// An error at a byte offset.
    pub(crate) fn error_at(
        &self,
        offset: usize,
        key_path: impl Into<String>,
        message: impl Into<String>,
        expected: Option<String>,
    ) -> ConfigError {
        let (line, col) = self.line_col(offset);
        ConfigError {
            path: self.path.to_path_buf(),
            line,
            col,
            key_path: key_path.into(),
            message: message.into(),
            expected,
        }
    }

    /// The key path of the line holding `offset`, worked out from the text: the
    /// enclosing `[table]` or `[[array]]` header (counting array entries) plus the key
    /// written on that line. toml's errors carry a span but no key path; this is a
    /// best effort for them (dotted keys and inline tables give the outer key).
    pub(crate) fn key_path_at(&self, offset: usize) -> String {
        let offset = offset.min(self.text.len());
        let mut table = String::new();
        let mut counts: Vec<(String, usize)> = Vec::new();
        let mut line_start = 0;
        for line in self.text.split_inclusive('\n') {
            let line_end = line_start + line.len();
            let trimmed = line.trim();
            let header = header_name(trimmed);
            if let Some((name, is_array)) = &header {
                table = if *is_array {
                    let index = match counts.iter_mut().find(|(n, _)| n == name) {
                        Some((_, count)) => {
                            *count += 1;
                            *count - 1
                        }
                        None => {
                            counts.push((name.clone(), 1));
                            0
                        }
                    };
                    format!("{name}[{index}]")
                } else {
                    // `[accounts.x]` inside an array entry is not part of tete's schema,
                    // so a plain header always names a top-level path.
                    name.clone()
                };
            }
            if offset < line_end || line_end == self.text.len() {
                if header.is_some() {
                    return table;
                }
                let key = trimmed
                    .split_once('=')
                    .map(|(key, _)| key.trim().trim_matches('"').to_string())
                    .unwrap_or_default();
                return match (table.is_empty(), key.is_empty()) {
                    (_, true) => table,
                    (true, false) => key,
                    (false, false) => format!("{table}.{key}"),
                };
            }
            line_start = line_end;
        }
        table
    }
}

/// `[name]` → (`name`, false), `[[name]]` → (`name`, true), anything else → None.
fn header_name(line: &str) -> Option<(String, bool)> {
    let line = line.split('#').next().unwrap_or("").trim();
    if let Some(inner) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
        return Some((inner.trim().to_string(), true));
    }
    let inner = line.strip_prefix('[')?.strip_suffix(']')?;
    Some((inner.trim().to_string(), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source<'_> {
        Source {
            path: Path::new("t.toml"),
            text,
        }
    }

    #[test]
    fn offsets_become_one_based_line_and_column() {
        let s = source("a = 1\nbé = 2\n");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(s.line_col(9), (2, 3));
        assert_eq!(s.line_col(1000), (3, 1));
    }

    #[test]
    fn key_path_counts_array_of_tables_entries() {
        let text = "x = 1\n[[accounts]]\nname = \"a\"\n[[accounts]]\nname = \"b\"\n[mail.smtp]\nhost = \"h\"\n";
        let s = source(text);
        assert_eq!(s.key_path_at(0), "x");
        assert_eq!(
            s.key_path_at(text.find("name = \"b\"").unwrap()),
            "accounts[1].name"
        );
        assert_eq!(s.key_path_at(text.find("host").unwrap()), "mail.smtp.host");
        assert_eq!(s.key_path_at(text.find("[mail").unwrap()), "mail.smtp");
    }

    #[test]
    fn error_displays_file_line_col_key_message_and_expected() {
        let e = source("a = 1\nb = 2\n").error_at(6, "b", "bad", Some("a number".into()));
        assert_eq!(e.to_string(), "t.toml:2:1: b: bad (expected: a number)");
        let whole = ConfigError {
            path: "t.toml".into(),
            line: 0,
            col: 0,
            key_path: String::new(),
            message: "cannot read".into(),
            expected: None,
        };
        assert_eq!(whole.to_string(), "t.toml: cannot read");
    }
}
