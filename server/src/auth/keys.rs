//! The keys that sign and verify access tokens.
//!
//! One signing key (a PKCS#8 PEM file, Ed25519 or ECDSA P-256) plus any
//! number of previous keys kept for verification after a rotation. Each key
//! is known by its RFC 7638 JWK thumbprint, sent as `kid` in token headers
//! and published in the JWKS at `/.well-known/jwks.json`, so replicas and
//! other services can verify tokens without sharing the private key.
//!
//! When the signing key file does not exist it is generated (Ed25519) and
//! written with mode 0600. Replicas starting together race safely: the file
//! is created exclusively, and a loser reads the winner's key.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read signing key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot create signing key {path}: {source}; make its directory writable or set `auth.signing_key_file`"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a PKCS#8 PEM Ed25519 or ECDSA P-256 private key ({reason}); \
         create one with `openssl genpkey -algorithm ed25519 -out {path}`"
    )]
    Invalid { path: PathBuf, reason: String },
}

/// A private key that signs tokens.
struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    key: EncodingKey,
}

/// All keys of the gateway: one to sign with, several to verify with.
pub struct KeyRing {
    signing: SigningKey,
    verifying: HashMap<String, (Algorithm, DecodingKey)>,
    jwks: JwkSet,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("signing_kid", &self.signing.kid)
            .field("verifying", &self.verifying.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyRing {
    /// Loads (or first creates) the signing key and loads previous keys.
    pub fn load(signing_file: &Path, previous_files: &[PathBuf]) -> Result<Self, KeyError> {
        let pem = read_or_generate(signing_file)?;
        let mut ring = Self::with_signing_key(signing_file, &pem)?;
        for path in previous_files {
            let pem = std::fs::read(path).map_err(|source| KeyError::Read {
                path: path.clone(),
                source,
            })?;
            let ((algorithm, _), jwk) = parse_private_pem(path, &pem)?;
            ring.add_verifying(jwk, algorithm, path)?;
        }
        Ok(ring)
    }

    /// A key that lives only in memory (auth off: tokens are never checked).
    pub fn ephemeral() -> Result<Self, KeyError> {
        let path = Path::new("(in memory)");
        let pem = generate_ed25519_pem().map_err(|source| KeyError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        Self::with_signing_key(path, pem.as_bytes())
    }

    fn with_signing_key(path: &Path, pem: &[u8]) -> Result<Self, KeyError> {
        let ((algorithm, key), jwk) = parse_private_pem(path, pem)?;
        let mut ring = KeyRing {
            verifying: HashMap::new(),
            jwks: JwkSet { keys: Vec::new() },
            signing: SigningKey {
                kid: String::new(),
                algorithm,
                key,
            },
        };
        ring.signing.kid = ring.add_verifying(jwk, algorithm, path)?;
        Ok(ring)
    }

    fn add_verifying(
        &mut self,
        mut jwk: Jwk,
        algorithm: Algorithm,
        path: &Path,
    ) -> Result<String, KeyError> {
        let invalid = |e: jsonwebtoken::errors::Error| KeyError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(invalid)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(invalid)?;
        if !self.verifying.contains_key(&kid) {
            self.verifying.insert(kid.clone(), (algorithm, decoding));
            self.jwks.keys.push(jwk);
        }
        Ok(kid)
    }

    /// The key id and algorithm new tokens are signed with.
    pub fn signing(&self) -> (&str, Algorithm, &EncodingKey) {
        (&self.signing.kid, self.signing.algorithm, &self.signing.key)
    }

    /// The verification key for a token header's `kid`.
    pub fn verifying(&self, kid: &str) -> Option<&(Algorithm, DecodingKey)> {
        self.verifying.get(kid)
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }
}

/// PKCS#8 v1 DER header of an Ed25519 private key; the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn read_or_generate(path: &Path) -> Result<Vec<u8>, KeyError> {
    match std::fs::read(path) {
        Ok(pem) => return Ok(pem),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(KeyError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    }
    let write_error = |source| KeyError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_error)?;
    }
    let pem = generate_ed25519_pem().map_err(write_error)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(pem.as_bytes()).map_err(write_error)?;
            file.sync_all().map_err(write_error)?;
            tracing::info!(path = %path.display(), "created a new token signing key");
            Ok(pem.into_bytes())
        }
        // Another replica won the race: use its key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read(path).map_err(|source| KeyError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
        Err(e) => Err(write_error(e)),
    }
}

/// A fresh Ed25519 key as a PKCS#8 PEM document.
pub fn generate_ed25519_pem() -> std::io::Result<String> {
    let mut der = ED25519_PKCS8_PREFIX.to_vec();
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| std::io::Error::other(e.to_string()))?;
    der.extend_from_slice(&seed);
    let body = base64::engine::general_purpose::STANDARD.encode(&der);
    Ok(format!(
        "-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    ))
}

type PrivateKey = (Algorithm, EncodingKey);

fn parse_private_pem(path: &Path, pem: &[u8]) -> Result<(PrivateKey, Jwk), KeyError> {
    let invalid = |reason: String| KeyError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let (algorithm, key) = if let Ok(key) = EncodingKey::from_ed_pem(pem) {
        (Algorithm::EdDSA, key)
    } else if let Ok(key) = EncodingKey::from_ec_pem(pem) {
        (Algorithm::ES256, key)
    } else {
        return Err(invalid("not an Ed25519 or EC private key".into()));
    };
    let jwk = Jwk::from_encoding_key(&key, algorithm).map_err(|e| invalid(e.to_string()))?;
    // Prove the key signs and verifies before any client sees a token.
    let probe = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        &serde_json::json!({ "exp": 1 }),
        &key,
    )
    .map_err(|e| invalid(e.to_string()))?;
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| invalid(e.to_string()))?;
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Value>(&probe, &decoding, &validation)
        .map_err(|e| invalid(e.to_string()))?;
    Ok(((algorithm, key), jwk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_then_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/signing.pem");
        let first = KeyRing::load(&path, &[]).unwrap();
        let second = KeyRing::load(&path, &[]).unwrap();
        assert_eq!(first.signing().0, second.signing().0);
        assert_eq!(first.signing().1, Algorithm::EdDSA);
        assert_eq!(first.jwks().keys.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn previous_keys_verify_but_do_not_sign() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.pem");
        let new = dir.path().join("new.pem");
        let old_kid = KeyRing::load(&old, &[]).unwrap().signing().0.to_string();
        let ring = KeyRing::load(&new, std::slice::from_ref(&old)).unwrap();
        assert_ne!(ring.signing().0, old_kid);
        assert!(ring.verifying(&old_kid).is_some());
        assert_eq!(ring.jwks().keys.len(), 2);
    }

    /// A throwaway ECDSA P-256 key made with
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`.
    const TEST_P256_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgPhuiLfgZGggqMKa0\nB73m4KEosl12BvWD30LTrJ2oLxChRANCAARfda8zNiAc77bLv8AGVIAgY36zstwa\nFPfDKyfPYRfqYwCugRJM31mVVEYTiUQep2TbAi8dessRZvSc88MnM5kg\n-----END PRIVATE KEY-----\n";

    #[test]
    fn p256_keys_sign_es256_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ec.pem");
        std::fs::write(&path, TEST_P256_KEY).unwrap();
        let ring = KeyRing::load(&path, &[]).unwrap();
        assert_eq!(ring.signing().1, Algorithm::ES256);
        let jwks = serde_json::to_value(ring.jwks()).unwrap();
        assert_eq!(jwks["keys"][0]["kty"], "EC");
        assert_eq!(jwks["keys"][0]["crv"], "P-256");
        let (token, _) = crate::auth::jwt::issue(
            &ring,
            crate::auth::jwt::TokenRequest {
                issuer: "i",
                audience: "a",
                subject: "s",
                ttl: std::time::Duration::from_secs(60),
                access: Vec::new(),
                kind: None,
                token_id: None,
                epoch: None,
            },
        )
        .unwrap();
        assert!(crate::auth::jwt::verify(&ring, &token, "i", "a").is_ok());
    }

    #[test]
    fn garbage_is_refused_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.pem");
        std::fs::write(&path, "not a key").unwrap();
        let err = KeyRing::load(&path, &[]).unwrap_err().to_string();
        assert!(err.contains("openssl genpkey"), "{err}");
    }
}
