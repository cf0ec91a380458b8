//! OCI credentials and extra TLS roots from `[registry."<name>".oci]`.
//!
//! Both accept more than one spelling in the file (credentials as a table or a base64
//! `user:pass` string; certificate data as text or a byte array). The spelling the user
//! chose is kept, so saving the file does not rewrite their credentials into another form;
//! the decoded value is checked at load time so a typo is reported up front.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use toml::{Table, Value};

use super::backends::secret_value;
use super::toml_util::{KeyPath, Render, expect_string, inline_table, type_name};
use crate::error::Result;
use crate::secret::Secret;

/// Standard base64 that accepts input with or without `=` padding, as upstream does.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `auth` for an OCI registry.
#[derive(Clone, Debug, PartialEq)]
pub enum OciAuth {
    /// `auth = { username = "...", password = "..." }`
    UsernamePassword { username: String, password: Secret },
    /// `auth = "<base64 of username:password>"`
    Base64(Secret),
}

/// A username and password ready for HTTP Basic or a token exchange.
#[derive(Clone, Debug, PartialEq)]
pub struct BasicCredentials {
    pub username: String,
    pub password: Secret,
}

impl OciAuth {
    /// The username and password, decoding the base64 form.
    pub fn credentials(&self) -> Result<BasicCredentials> {
        match self {
            OciAuth::UsernamePassword { username, password } => Ok(BasicCredentials {
                username: username.clone(),
                password: password.clone(),
            }),
            OciAuth::Base64(encoded) => decode_basic(encoded, &KeyPath::default().join("auth")),
        }
    }

    pub(crate) fn from_value(value: Value, at: &KeyPath) -> Result<Self> {
        match value {
            Value::String(encoded) => {
                let secret = Secret::new(encoded);
                decode_basic(&secret, at)?;
                Ok(OciAuth::Base64(secret))
            }
            Value::Table(mut table) => {
                let mut take = |key: &str| {
                    match table.remove(key) {
                    Some(value) => expect_string(value, &at.join(key)),
                    None => Err(at.error(format!(
                        "`{key}` is missing; write `auth = {{ username = \"...\", password = \"...\" }}`"
                    ))),
                }
                };
                let username = take("username")?;
                let password = Secret::new(take("password")?);
                reject_unknown(&table, at, "`username` and `password`")?;
                Ok(OciAuth::UsernamePassword { username, password })
            }
            other => Err(at.error(format!(
                "expected a {{ username, password }} table or a base64 \"username:password\" \
                 string, found {}",
                type_name(&other)
            ))),
        }
    }

    /// The value as written in the file: the base64 string or `{ username, password }`.
    pub(crate) fn to_inline(&self, render: Render) -> String {
        match self {
            OciAuth::Base64(encoded) => secret_value(encoded, render).to_string(),
            OciAuth::UsernamePassword { username, password } => inline_table(&[
                ("username", Value::String(username.clone())),
                ("password", secret_value(password, render)),
            ]),
        }
    }
}

/// Decodes base64 `user:pass`. Messages never include the (secret) input.
fn decode_basic(encoded: &Secret, at: &KeyPath) -> Result<BasicCredentials> {
    let bytes = BASE64
        .decode(encoded.expose().trim())
        .map_err(|_| at.error("is not valid base64; encode \"username:password\" with base64"))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        at.error("decodes to bytes that are not UTF-8; expected \"username:password\"")
    })?;
    let Some((username, password)) = text.split_once(':') else {
        return Err(
            at.error("decodes to text without a `:`; expected base64 of \"username:password\"")
        );
    };
    Ok(BasicCredentials {
        username: username.to_owned(),
        password: Secret::new(password),
    })
}

fn reject_unknown(table: &Table, at: &KeyPath, allowed: &str) -> Result<()> {
    match table.keys().next() {
        Some(key) => Err(at
            .join(key)
            .error(format!("unknown key; only {allowed} are allowed here"))),
        None => Ok(()),
    }
}

/// One entry of `extra_root_certificates = [{ encoding = "pem"|"der", data = ... }]`.
#[derive(Clone, Debug, PartialEq)]
pub struct RootCertificate {
    pub encoding: CertificateEncoding,
    pub data: CertificateData,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateEncoding {
    Pem,
    Der,
}

/// Certificate bytes as written: PEM text, base64 DER text, or an array of byte values.
#[derive(Clone, Debug, PartialEq)]
pub enum CertificateData {
    Text(String),
    Bytes(Vec<u8>),
}

impl RootCertificate {
    /// The certificate bytes in the given encoding (PEM text, or raw DER).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.bytes(&KeyPath::default().join("extra_root_certificates"))
    }

    fn bytes(&self, at: &KeyPath) -> Result<Vec<u8>> {
        match (&self.data, self.encoding) {
            (CertificateData::Bytes(bytes), _) => Ok(bytes.clone()),
            (CertificateData::Text(text), CertificateEncoding::Pem) => {
                if !text.contains("-----BEGIN") {
                    return Err(at
                        .join("data")
                        .error("is not PEM text (no `-----BEGIN` line)"));
                }
                Ok(text.clone().into_bytes())
            }
            (CertificateData::Text(text), CertificateEncoding::Der) => {
                let compact: String = text.split_whitespace().collect();
                BASE64.decode(compact).map_err(|_| {
                    at.join("data")
                        .error("DER data given as text must be base64")
                })
            }
        }
    }

    pub(crate) fn from_value(value: Value, at: &KeyPath) -> Result<Self> {
        let Value::Table(mut table) = value else {
            return Err(at.type_error("a { encoding, data } table", &value));
        };
        let encoding = match table.remove("encoding") {
            None => return Err(at.error("`encoding` is missing; use \"pem\" or \"der\"")),
            Some(value) => match expect_string(value, &at.join("encoding"))?.as_str() {
                "pem" => CertificateEncoding::Pem,
                "der" => CertificateEncoding::Der,
                other => {
                    return Err(at.join("encoding").error(format!(
                        "unknown encoding {other:?}; use \"pem\" or \"der\""
                    )));
                }
            },
        };
        let data = match table.remove("data") {
            None => return Err(at.error("`data` is missing: the certificate itself")),
            Some(Value::String(text)) => CertificateData::Text(text),
            Some(Value::Array(items)) => CertificateData::Bytes(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::Integer(n) => u8::try_from(n).ok(),
                        _ => None,
                    })
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        at.join("data")
                            .error("a byte array may hold only integers 0 to 255")
                    })?,
            ),
            Some(other) => {
                return Err(at
                    .join("data")
                    .type_error("a string or an array of bytes", &other));
            }
        };
        reject_unknown(&table, at, "`encoding` and `data`")?;
        let cert = RootCertificate { encoding, data };
        cert.bytes(at)?;
        Ok(cert)
    }

    /// `{ encoding = "...", data = ... }`, in that order.
    pub(crate) fn to_inline(&self) -> String {
        let encoding = match self.encoding {
            CertificateEncoding::Pem => "pem",
            CertificateEncoding::Der => "der",
        };
        let data = match &self.data {
            CertificateData::Text(text) => Value::String(text.clone()),
            CertificateData::Bytes(bytes) => Value::Array(
                bytes
                    .iter()
                    .map(|b| Value::Integer(i64::from(*b)))
                    .collect(),
            ),
        };
        inline_table(&[("encoding", Value::String(encoding.into())), ("data", data)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        crate::Config::from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn extra_root_certificates() {
        let text = r#"[registry.r.oci]
    accept_invalid_certificates = false
    extra_root_certificates = [{ encoding = "pem", data = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" }, { encoding = "der", data = "AAEC" }, { encoding = "der", data = [0, 1, 255] }]
    "#;
        let config = crate::Config::from_toml(text).unwrap();
        let oci = config.registries[&"r".parse().unwrap()]
            .oci
            .as_ref()
            .unwrap();
        let certs = oci.extra_root_certificates.as_ref().unwrap();
        assert_eq!(certs[0].encoding, CertificateEncoding::Pem);
        assert!(
            certs[0]
                .to_bytes()
                .unwrap()
                .starts_with(b"-----BEGIN CERTIFICATE-----\n")
        );
        assert_eq!(certs[1].to_bytes().unwrap(), vec![0, 1, 2]);
        assert_eq!(certs[2].data, CertificateData::Bytes(vec![0, 1, 255]));
        assert_eq!(
            crate::Config::from_toml(&config.to_toml().unwrap()).unwrap(),
            config
        );

        let bad = |cert: &str| {
            err(&format!(
                "[registry.r.oci]\nextra_root_certificates = [{cert}]"
            ))
        };
        assert!(
            bad("{ encoding = \"crt\", data = \"x\" }")
                .contains("extra_root_certificates[0].encoding`: unknown encoding")
        );
        assert!(bad("{ encoding = \"pem\", data = \"x\" }").contains("is not PEM text"));
        assert!(bad("{ encoding = \"der\", data = \"!!\" }").contains("must be base64"));
        assert!(bad("{ encoding = \"der\", data = [256] }").contains("integers 0 to 255"));
        assert!(bad("{ encoding = \"der\" }").contains("`data` is missing"));
        assert!(bad("\"pem\"").contains("expected a { encoding, data } table"));
    }
}
