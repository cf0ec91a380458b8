//! Minting tokens: JWT access tokens for the Docker token flow and web
//! sessions, and refresh tokens.
//!
//! Every minted token remembers where it came from: `tid`, the access
//! token the holder authenticated with, or else `epoch`, the user's
//! credential epoch at a password login. Each use and each refresh goes
//! back to that source ([`Auth::principal_of`]), so a token never holds
//! more than its source holds now, and ending the source ends it. A JWT
//! itself never mints anything: the token endpoint takes Basic credentials,
//! an access token or a refresh token ([`Auth::authenticate_to_mint`]).

use super::jwt::{self, AccessEntry, TokenError};
use super::pattern::Actions;
use super::{Auth, AuthError, Caller, Via};
use crate::db::Db;

/// A requested token scope, `repository:<name>:<actions>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Scope {
    /// Parses one scope; `None` when malformed (such scopes are ignored,
    /// as Docker registries do).
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, rest) = text.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(Self {
            kind: kind.to_string(),
            name: name.to_string(),
            actions: actions.split(',').map(str::to_string).collect(),
        })
    }
}

/// Whether `scope` can stand inside a quoted `WWW-Authenticate` parameter
/// as is: a scope of a valid repository name (or the catalog) and known
/// actions. Anything else (quotes, commas in names, control characters)
/// could rewrite the challenge, so it is left out.
pub fn is_safe_scope(scope: &str) -> bool {
    let plain = scope
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if !plain {
        return false;
    }
    let Some(parsed) = Scope::parse(scope) else {
        return false;
    };
    let actions_known = Actions::parse(&parsed.actions.join(",")).is_ok();
    match parsed.kind.as_str() {
        "repository" => crate::names::RepoName::parse(&parsed.name).is_ok() && actions_known,
        "registry" => parsed.name == "catalog" && parsed.actions == ["*"],
        _ => false,
    }
}

impl Auth {
    /// The repository actions a token for `caller` may carry: what was
    /// asked, intersected with what the caller holds.
    pub fn grant_scopes(&self, caller: &Caller, scopes: &[Scope]) -> Vec<AccessEntry> {
        let mut entries: Vec<AccessEntry> = Vec::new();
        for scope in scopes {
            let actions: Vec<String> = match scope.kind.as_str() {
                "repository" => {
                    let asked = Actions::parse(&scope.actions.join(",")).unwrap_or_default();
                    let granted = asked.intersect(caller.allowed(self.package_path(&scope.name)));
                    granted.iter().map(|a| a.as_str().to_string()).collect()
                }
                "registry" if scope.name == "catalog" => vec!["*".to_string()],
                _ => Vec::new(),
            };
            if actions.is_empty() {
                continue;
            }
            match entries
                .iter_mut()
                .find(|e| e.kind == scope.kind && e.name == scope.name)
            {
                Some(existing) => {
                    for action in actions {
                        if !existing.actions.contains(&action) {
                            existing.actions.push(action);
                        }
                    }
                }
                None => entries.push(AccessEntry {
                    kind: scope.kind.clone(),
                    name: scope.name.clone(),
                    actions,
                }),
            }
        }
        entries
    }

    fn token_request(
        &self,
        caller: &Caller,
        ttl: std::time::Duration,
        access: Vec<AccessEntry>,
        kind: Option<&'static str>,
    ) -> Result<(String, jwt::Claims), TokenError> {
        let ttl = match caller.not_after {
            Some(end) => ttl.min(std::time::Duration::from_secs(
                end.saturating_sub(jwt::now_secs()),
            )),
            None => ttl,
        };
        jwt::issue(
            &self.keys,
            jwt::TokenRequest {
                issuer: &self.issuer,
                audience: &self.service,
                subject: caller.name(),
                ttl,
                access,
                kind,
                token_id: caller.token_id.clone(),
                epoch: caller.epoch.clone(),
            },
        )
    }

    /// Signs an access token for `caller` with `access`.
    pub fn issue_access_token(
        &self,
        caller: &Caller,
        access: Vec<AccessEntry>,
    ) -> Result<(String, jwt::Claims), TokenError> {
        self.token_request(caller, self.token_ttl, access, None)
    }

    /// Signs a refresh token for a user, tied to the source of the
    /// caller's credentials like every minted token.
    pub fn issue_refresh_token(&self, caller: &Caller) -> Result<String, TokenError> {
        self.token_request(
            caller,
            self.refresh_token_ttl,
            Vec::new(),
            Some(jwt::REFRESH_KIND),
        )
        .map(|(token, _)| token)
    }

    /// The caller a refresh token stands for now: its user must still
    /// exist with the same credential epoch (or its access token be live),
    /// with the grants they hold today and the token's scopes. Tokens
    /// minted for it, a new refresh token included, end when this one does.
    pub async fn refresh(&self, db: &Db, token: &str) -> Result<Caller, AuthError> {
        let claims = jwt::verify(&self.keys, token, &self.issuer, &self.service)
            .map_err(|e| AuthError::Credentials(format!("refresh token: {e}")))?;
        if claims.kind.as_deref() != Some(jwt::REFRESH_KIND) {
            return Err(AuthError::Credentials("not a refresh token".into()));
        }
        let mut caller = self.principal_of(db, &claims).await?;
        if caller.user.is_none() {
            return Err(AuthError::Credentials(
                "refresh tokens are for users; anonymous callers need none".into(),
            ));
        }
        // Never `Via::Password`: only a password itself proves that (and
        // only that may create personal tokens).
        caller.via = Via::Jwt;
        caller.not_after = Some(claims.exp);
        Ok(caller)
    }

    /// Ends a web session's JWT before it expires. A token that no longer
    /// verifies needs no ending.
    pub async fn end_session(&self, db: &Db, token: &str) -> Result<(), crate::db::Error> {
        // Only a user's access JWT is a session; anonymous and refresh
        // tokens are not ended here, so nobody can fill the table with
        // rows kept for days. The row lives no longer than such a token.
        match jwt::verify(&self.keys, token, &self.issuer, &self.service) {
            Ok(claims) if claims.kind.is_none() && claims.epoch.is_some() => {
                let exp = claims.exp.min(jwt::now_secs() + self.token_ttl.as_secs());
                let expires_at = i64::try_from(exp.saturating_mul(1000)).unwrap_or(i64::MAX);
                db.revoke_jwt(&claims.jti, expires_at).await
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse() {
        let scope = Scope::parse("repository:acme/x:pull,push").unwrap();
        assert_eq!(scope.name, "acme/x");
        assert_eq!(scope.actions, ["pull", "push"]);
        assert_eq!(Scope::parse("registry:catalog:*").unwrap().kind, "registry");
        assert!(Scope::parse("nonsense").is_none());
    }

    #[test]
    fn only_plain_scopes_are_safe_in_a_challenge() {
        assert!(is_safe_scope("repository:acme/x:pull"));
        assert!(is_safe_scope("repository:acme/x:pull,push"));
        assert!(is_safe_scope("registry:catalog:*"));
        assert!(!is_safe_scope(
            "repository:x\",realm=\"https://evil.example/token:pull"
        ));
        assert!(!is_safe_scope("repository:Acme/X:pull"));
        assert!(!is_safe_scope("repository:acme/x:pull\r\n"));
        assert!(!is_safe_scope("repository:acme/x:steal"));
    }
}
