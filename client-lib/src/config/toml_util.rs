//! Small TOML helpers shared by the config reader and writer.
//!
//! The reader walks a parsed `toml::Table` by hand instead of deriving `Deserialize`, for
//! two reasons: every error can name the exact dotted key the user must fix, and unknown
//! keys inside registry tables can be kept verbatim (serde `flatten` loses TOML datetimes
//! and cannot mix with a strict top level). The writer lays the file out like the
//! upstream README example: one `[section]` per table, values inline under it.

use std::fmt::Write as _;

use toml::{Table, Value};

use crate::error::{Error, Result};

/// A dotted key path such as `registry."example.com".oci`, used in error messages.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyPath(String);

impl KeyPath {
    /// The path of a child key.
    pub(crate) fn join(&self, key: &str) -> KeyPath {
        if self.0.is_empty() {
            KeyPath(quote_key(key))
        } else {
            KeyPath(format!("{}.{}", self.0, quote_key(key)))
        }
    }

    /// The path of an array element, e.g. `extra_root_certificates[0]`.
    pub(crate) fn index(&self, i: usize) -> KeyPath {
        KeyPath(format!("{}[{i}]", self.0))
    }

    /// An `InvalidConfig` error about this key.
    pub(crate) fn error(&self, message: impl Into<String>) -> Error {
        Error::invalid_config(self.0.clone(), message)
    }

    /// A "wrong type" error about this key.
    pub(crate) fn type_error(&self, expected: &str, found: &Value) -> Error {
        self.error(format!("expected {expected}, found {}", type_name(found)))
    }
}

/// Quotes a key only when TOML requires it, so `wasi` stays bare and `"wasi.dev"` is quoted.
pub(crate) fn quote_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

/// "a string", "a table", ... for error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

pub(crate) fn expect_string(value: Value, at: &KeyPath) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(at.type_error("a string", &other)),
    }
}

pub(crate) fn expect_bool(value: Value, at: &KeyPath) -> Result<bool> {
    match value {
        Value::Boolean(b) => Ok(b),
        other => Err(at.type_error("`true` or `false`", &other)),
    }
}

pub(crate) fn expect_table(value: Value, at: &KeyPath) -> Result<Table> {
    match value {
        Value::Table(t) => Ok(t),
        other => Err(at.type_error("a table", &other)),
    }
}

pub(crate) fn expect_array(value: Value, at: &KeyPath) -> Result<Vec<Value>> {
    match value {
        Value::Array(a) => Ok(a),
        other => Err(at.type_error("an array", &other)),
    }
}

/// Whether secrets are written as-is (saving) or masked (showing the config to a person).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Render {
    Full,
    Redacted,
}

/// The text written in place of a secret when rendering for display.
pub(crate) const REDACTED: &str = "<redacted>";

/// Builds a TOML document section by section.
#[derive(Default)]
pub(crate) struct Doc {
    out: String,
}

impl Doc {
    /// A top-level `key = value` line; must come before the first section.
    pub(crate) fn top_level(&mut self, key: &str, value: &Value) {
        self.line(key, value);
    }

    /// Starts `[a."b".c]`, separated from what came before by a blank line.
    pub(crate) fn section(&mut self, path: &[&str]) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        let header: Vec<String> = path.iter().map(|k| quote_key(k)).collect();
        let _ = writeln!(self.out, "[{}]", header.join("."));
    }

    /// A `key = value` line with the value written inline.
    pub(crate) fn line(&mut self, key: &str, value: &Value) {
        let _ = writeln!(self.out, "{} = {value}", quote_key(key));
    }

    /// A `key = <text>` line where the value is already rendered (see [`inline_table`]).
    pub(crate) fn line_text(&mut self, key: &str, text: &str) {
        let _ = writeln!(self.out, "{} = {text}", quote_key(key));
    }

    /// A `# text` line.
    pub(crate) fn comment(&mut self, text: &str) {
        let _ = writeln!(self.out, "# {text}");
    }

    /// The finished document.
    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// `{ a = 1, b = "x" }` with the keys in the given order.
///
/// `toml::Table` sorts its keys, which would write `{ password = .., username = .. }`;
/// known inline tables are written in the order the README documents them instead.
pub(crate) fn inline_table(pairs: &[(&str, Value)]) -> String {
    let fields: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{} = {value}", quote_key(key)))
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_quoted_only_when_needed() {
        assert_eq!(quote_key("wasi"), "wasi");
        assert_eq!(quote_key("a_b-c1"), "a_b-c1");
        assert_eq!(quote_key("wasi.dev"), "\"wasi.dev\"");
        assert_eq!(quote_key("example:foo"), "\"example:foo\"");
        assert_eq!(quote_key(""), "\"\"");
        let path = KeyPath::default().join("registry").join("a.b").join("oci");
        assert_eq!(path.0, "registry.\"a.b\".oci");
    }

    #[test]
    fn doc_layout() {
        let mut doc = Doc::default();
        doc.top_level("default_registry", &Value::String("x.dev".into()));
        doc.section(&["registry", "x.dev", "oci"]);
        doc.line("protocol", &Value::String("http".into()));
        assert_eq!(
            doc.finish(),
            "default_registry = \"x.dev\"\n\n[registry.\"x.dev\".oci]\nprotocol = \"http\"\n"
        );
    }
}
