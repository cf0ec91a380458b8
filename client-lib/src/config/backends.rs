//! `[registry."<name>"]` tables: which backend a registry uses and how to reach it.
//!
//! Each known backend table (`oci`, `warg`, `local`) is typed and validated when the file is
//! loaded, so a bad value is reported once, naming its key, instead of failing later in the
//! middle of a fetch. Keys we do not know are kept in `extra` and written back untouched:
//! other tools share this file (e.g. a `[registry."x".gateway]` table), and rewriting it
//! with `wkg config --default-registry` must not drop their settings.

use std::path::PathBuf;

use toml::{Table, Value};

use super::auth::{OciAuth, RootCertificate};
use super::extra::{Extra, shown};
use super::toml_util::{
    Doc, KeyPath, REDACTED, Render, expect_array, expect_bool, expect_string, expect_table,
};
use crate::error::Result;
use crate::secret::Secret;

/// A registry backend (protocol) wkg can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Oci,
    Warg,
    Local,
}

impl Backend {
    /// The name used in the config file (`default = "oci"`, `[registry."x".oci]`).
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Oci => "oci",
            Backend::Warg => "warg",
            Backend::Local => "local",
        }
    }

    fn parse(name: &str, at: &KeyPath) -> Result<Backend> {
        match name {
            "oci" => Ok(Backend::Oci),
            "warg" => Ok(Backend::Warg),
            "local" => Ok(Backend::Local),
            other => Err(at.error(format!(
                "unknown backend {other:?}; use \"oci\", \"warg\" or \"local\""
            ))),
        }
    }
}

/// Settings for one registry: `[registry."<name>"]` and its sub-tables.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegistryConfig {
    /// `default`: the backend to use when several are configured.
    pub default: Option<Backend>,
    pub oci: Option<OciConfig>,
    pub warg: Option<WargConfig>,
    pub local: Option<LocalConfig>,
    /// Every other key of the registry table, preserved verbatim.
    pub extra: Extra,
}

impl RegistryConfig {
    /// The backend to use: `default` if set, else the only backend table present, else OCI.
    ///
    /// Unknown extra tables (another tool's settings) do not count as backends.
    pub fn backend(&self) -> Backend {
        if let Some(backend) = self.default {
            return backend;
        }
        match (
            self.oci.is_some(),
            self.warg.is_some(),
            self.local.is_some(),
        ) {
            (false, true, false) => Backend::Warg,
            (false, false, true) => Backend::Local,
            _ => Backend::Oci,
        }
    }

    pub(crate) fn from_table(table: Table, at: &KeyPath) -> Result<Self> {
        let mut config = RegistryConfig::default();
        for (key, value) in table {
            let at = at.join(&key);
            match key.as_str() {
                "default" => {
                    config.default = Some(Backend::parse(&expect_string(value, &at)?, &at)?)
                }
                "oci" => config.oci = Some(OciConfig::from_table(expect_table(value, &at)?, &at)?),
                "warg" => {
                    config.warg = Some(WargConfig::from_table(expect_table(value, &at)?, &at)?)
                }
                "local" => {
                    config.local = Some(LocalConfig::from_table(expect_table(value, &at)?, &at)?)
                }
                _ => {
                    config.extra.insert(key, value);
                }
            }
        }
        Ok(config)
    }

    pub(crate) fn write(&self, doc: &mut Doc, name: &str, render: Render) -> Result<()> {
        let at = KeyPath::default().join("registry").join(name);
        let (tables, values): (Vec<_>, Vec<_>) = self
            .extra
            .iter()
            .partition(|(_, value)| matches!(value, Value::Table(_)));
        let has_sections =
            self.oci.is_some() || self.warg.is_some() || self.local.is_some() || !tables.is_empty();
        if self.default.is_some() || !values.is_empty() || !has_sections {
            doc.section(&["registry", name]);
            if let Some(backend) = self.default {
                doc.line("default", &Value::String(backend.as_str().into()));
            }
            for (key, value) in values {
                doc.line(key, &shown(key, value, render));
            }
        }
        if let Some(oci) = &self.oci {
            doc.section(&["registry", name, "oci"]);
            oci.write(doc, render);
        }
        if let Some(warg) = &self.warg {
            doc.section(&["registry", name, "warg"]);
            warg.write(doc, render, &at.join("warg"))?;
        }
        if let Some(local) = &self.local {
            doc.section(&["registry", name, "local"]);
            doc.line(
                "root",
                &path_value(&local.root, &at.join("local").join("root"))?,
            );
            local.extra.write(doc, render);
        }
        for (key, value) in tables {
            doc.section(&["registry", name, key]);
            if let Value::Table(table) = shown(key, value, render) {
                Extra(table).write(doc, Render::Full);
            } else {
                // The whole table has a secret-looking name and was masked (display only).
                doc.comment(REDACTED);
            }
        }
        Ok(())
    }
}

/// `[registry."<name>".oci]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OciConfig {
    pub auth: Option<OciAuth>,
    /// `protocol`: only "http" and "https" exist; anything else is rejected, as upstream does.
    pub protocol: Option<OciProtocol>,
    pub accept_invalid_certificates: Option<bool>,
    pub extra_root_certificates: Option<Vec<RootCertificate>>,
    pub extra: Extra,
}

/// The scheme the OCI client uses for a registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OciProtocol {
    Http,
    Https,
}

impl OciProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            OciProtocol::Http => "http",
            OciProtocol::Https => "https",
        }
    }
}

impl OciConfig {
    fn from_table(table: Table, at: &KeyPath) -> Result<Self> {
        let mut config = OciConfig::default();
        for (key, value) in table {
            let at = at.join(&key);
            match key.as_str() {
                "auth" => config.auth = Some(OciAuth::from_value(value, &at)?),
                "protocol" => {
                    config.protocol = Some(match expect_string(value, &at)?.as_str() {
                        "http" => OciProtocol::Http,
                        "https" => OciProtocol::Https,
                        other => {
                            return Err(at.error(format!(
                                "unknown protocol {other:?}; use \"http\" or \"https\" \
                                 (omit it for https)"
                            )));
                        }
                    })
                }
                "accept_invalid_certificates" => {
                    config.accept_invalid_certificates = Some(expect_bool(value, &at)?)
                }
                "extra_root_certificates" => {
                    let certs = expect_array(value, &at)?
                        .into_iter()
                        .enumerate()
                        .map(|(i, cert)| RootCertificate::from_value(cert, &at.index(i)))
                        .collect::<Result<_>>()?;
                    config.extra_root_certificates = Some(certs);
                }
                _ => {
                    config.extra.insert(key, value);
                }
            }
        }
        Ok(config)
    }

    fn write(&self, doc: &mut Doc, render: Render) {
        if let Some(auth) = &self.auth {
            doc.line_text("auth", &auth.to_inline(render));
        }
        if let Some(protocol) = self.protocol {
            doc.line("protocol", &Value::String(protocol.as_str().into()));
        }
        if let Some(accept) = self.accept_invalid_certificates {
            doc.line("accept_invalid_certificates", &Value::Boolean(accept));
        }
        if let Some(certs) = &self.extra_root_certificates {
            let certs: Vec<String> = certs.iter().map(RootCertificate::to_inline).collect();
            doc.line_text(
                "extra_root_certificates",
                &format!("[{}]", certs.join(", ")),
            );
        }
        self.extra.write(doc, render);
    }
}

/// `[registry."<name>".warg]`. Upstream wkg dropped Warg in 0.16; we keep it as documented.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WargConfig {
    pub url: Option<String>,
    pub config_file: Option<PathBuf>,
    pub auth_token: Option<Secret>,
    pub signing_key: Option<Secret>,
    pub extra: Extra,
}

impl WargConfig {
    fn from_table(table: Table, at: &KeyPath) -> Result<Self> {
        let mut config = WargConfig::default();
        for (key, value) in table {
            let at = at.join(&key);
            match key.as_str() {
                "url" => {
                    let url = expect_string(value, &at)?;
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        return Err(at.error("must be an http:// or https:// URL"));
                    }
                    config.url = Some(url);
                }
                "config_file" => config.config_file = Some(expect_string(value, &at)?.into()),
                "auth_token" => config.auth_token = Some(expect_string(value, &at)?.into()),
                "signing_key" => config.signing_key = Some(expect_string(value, &at)?.into()),
                _ => {
                    config.extra.insert(key, value);
                }
            }
        }
        Ok(config)
    }

    fn write(&self, doc: &mut Doc, render: Render, at: &KeyPath) -> Result<()> {
        if let Some(url) = &self.url {
            doc.line("url", &Value::String(url.clone()));
        }
        if let Some(path) = &self.config_file {
            doc.line("config_file", &path_value(path, &at.join("config_file"))?);
        }
        if let Some(token) = &self.auth_token {
            doc.line("auth_token", &secret_value(token, render));
        }
        if let Some(key) = &self.signing_key {
            doc.line("signing_key", &secret_value(key, render));
        }
        self.extra.write(doc, render);
        Ok(())
    }
}

/// `[registry."<name>".local]`: packages stored in a directory, for development and tests.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalConfig {
    pub root: PathBuf,
    pub extra: Extra,
}

impl LocalConfig {
    fn from_table(mut table: Table, at: &KeyPath) -> Result<Self> {
        let Some(root) = table.remove("root") else {
            return Err(at.error("`root` is required: the directory that holds the packages"));
        };
        Ok(LocalConfig {
            root: expect_string(root, &at.join("root"))?.into(),
            extra: Extra(table),
        })
    }
}

/// A secret as a TOML value, masked when rendering for display.
pub(crate) fn secret_value(secret: &Secret, render: Render) -> Value {
    match render {
        Render::Full => Value::String(secret.expose().to_owned()),
        Render::Redacted => Value::String(REDACTED.to_owned()),
    }
}

/// TOML strings are UTF-8, so a path that is not cannot be written.
fn path_value(path: &std::path::Path, at: &KeyPath) -> Result<Value> {
    match path.to_str() {
        Some(s) => Ok(Value::String(s.to_owned())),
        None => Err(at.error("the path is not valid UTF-8, which a TOML file cannot hold")),
    }
}
