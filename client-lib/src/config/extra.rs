//! Keys of a registry table that wkg does not model, kept so saving does not drop them.
//!
//! They belong to other tools sharing the file, and may well be credentials (a gateway
//! token, say). So `Debug` lists only their names, and the redacted rendering masks values
//! whose key looks like a secret.

use std::fmt;
use std::ops::{Deref, DerefMut};

use toml::{Table, Value};

use super::toml_util::{Doc, REDACTED, Render};

/// Unknown keys of a registry or backend table, preserved verbatim.
#[derive(Clone, Default, PartialEq)]
pub struct Extra(pub Table);

impl Deref for Extra {
    type Target = Table;

    fn deref(&self) -> &Table {
        &self.0
    }
}

impl DerefMut for Extra {
    fn deref_mut(&mut self) -> &mut Table {
        &mut self.0
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: the values may be another tool's secrets.
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Extra {
    /// Writes each key as `key = <inline value>` into the current section.
    pub(crate) fn write(&self, doc: &mut Doc, render: Render) {
        for (key, value) in &self.0 {
            doc.line(key, &shown(key, value, render));
        }
    }
}

/// The value to write: itself, or with secret-looking entries masked when redacting.
pub(crate) fn shown(key: &str, value: &Value, render: Render) -> Value {
    if render == Render::Full {
        return value.clone();
    }
    if looks_secret(key) {
        return Value::String(REDACTED.into());
    }
    match value {
        Value::Table(table) => Value::Table(
            table
                .iter()
                .map(|(k, v)| (k.clone(), shown(k, v, render)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| shown(key, v, render)).collect()),
        other => other.clone(),
    }
}

/// Key names that usually hold credentials.
fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "token",
        "secret",
        "credential",
        "auth",
    ]
    .iter()
    .any(|word| key.contains(word))
        || key.ends_with("key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_names_only() {
        let extra = Extra(toml::from_str("token = \"t0p\"\nversion = \"1\"").unwrap());
        assert_eq!(format!("{extra:?}"), "{\"token\", \"version\"}");
    }

    #[test]
    fn redaction_masks_secret_looking_keys() {
        let value: Value = toml::from_str::<Table>(
            "v = { url = \"u\", api_token = \"t\", nested = { Password = \"p\", n = 1 }, \
             list = [{ signing_key = \"k\" }] }",
        )
        .unwrap()
        .remove("v")
        .unwrap();
        let masked = shown("v", &value, Render::Redacted).to_string();
        assert_eq!(
            masked,
            "{ api_token = \"<redacted>\", list = [{ signing_key = \"<redacted>\" }], \
             nested = { Password = \"<redacted>\", n = 1 }, url = \"u\" }"
        );
        assert_eq!(shown("v", &value, Render::Full), value);
    }
}
