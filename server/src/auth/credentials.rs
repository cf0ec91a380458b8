//! How credentials are checked: HTTP Basic (a password, or an access token
//! as the password), Bearer access tokens, and JWTs minted here, each
//! traced back to the token or login it came from and re-checked against
//! what is live and granted now. Who the caller then is: `caller`; what
//! they may mint: `minting`.

use super::*;

impl Auth {
    pub(super) fn anonymous(&self) -> Caller {
        Caller::with_rules(None, Via::Nothing, self.anonymous.clone())
    }

    /// Identifies the caller from the `Authorization` header.
    pub async fn authenticate(
        &self,
        db: &Db,
        headers: &HeaderMap,
        client: Option<IpAddr>,
    ) -> Result<Arc<Caller>, AuthError> {
        self.authenticate_as(db, headers, client, true).await
    }

    /// Like [`Auth::authenticate`], for the token endpoint: a JWT is not a
    /// credential there, or any JWT would renew itself forever.
    pub async fn authenticate_to_mint(
        &self,
        db: &Db,
        headers: &HeaderMap,
        client: Option<IpAddr>,
    ) -> Result<Arc<Caller>, AuthError> {
        self.authenticate_as(db, headers, client, false).await
    }

    pub(super) async fn authenticate_as(
        &self,
        db: &Db,
        headers: &HeaderMap,
        client: Option<IpAddr>,
        accept_jwt: bool,
    ) -> Result<Arc<Caller>, AuthError> {
        if self.mode == AuthMode::None {
            return Ok(Arc::new(Caller::everything()));
        }
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Arc::new(self.anonymous()));
        };
        let value = value
            .to_str()
            .map_err(|_| AuthError::Credentials("the Authorization header is not text".into()))?;
        let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
        let credential = credential.trim();
        let caller = if scheme.eq_ignore_ascii_case("basic") {
            let (user, password) = decode_basic(credential)?;
            self.login(db, &user, &password, client).await?
        } else if scheme.eq_ignore_ascii_case("bearer") {
            if secret::looks_like_token(credential) {
                self.with_access_token(db, None, credential).await?
            } else if accept_jwt {
                let claims = self.verify_jwt(credential)?;
                self.caller_of_claims(db, &claims).await?
            } else {
                return Err(AuthError::Credentials(
                    "a token from /v2/token cannot be traded for another; send Basic \
                     credentials, an access token, or a refresh token (grant_type=refresh_token)"
                        .into(),
                ));
            }
        } else {
            return Err(AuthError::Credentials(format!(
                "unsupported Authorization scheme {:?}; use Basic or Bearer",
                crate::names::bounded(scheme, 32)
            )));
        };
        Ok(Arc::new(caller))
    }

    /// A user name with a password or an access token (Basic credentials,
    /// or the token endpoint's password grant).
    pub async fn login(
        &self,
        db: &Db,
        user: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Caller, AuthError> {
        if secret::looks_like_token(password) {
            return self.with_access_token(db, Some(user), password).await;
        }
        let wrong = || {
            AuthError::Credentials(format!(
                "wrong user name or password for {:?}",
                crate::names::bounded(user, 64)
            ))
        };
        // No user can have an invalid name: refuse before any throttle,
        // database or hashing work (this also caps names at 64 characters).
        if admin::validate_user_name(user).is_err() {
            return Err(wrong());
        }
        let row = db.user(user).await?;
        let stored = row.as_ref().and_then(|row| row.password_hash.clone());
        if let (Some(row), Some(hash)) = (&row, &stored)
            && self.recently_verified.contains(user, password, hash)
        {
            return self.password_caller(db, row.clone()).await;
        }
        let attempt = self.throttle.reserve(user, client).map_err(|r| match r {
            throttle::Refusal::User(wait) => AuthError::Throttled(wait),
            throttle::Refusal::Account(wait) => AuthError::AccountThrottled(wait),
            throttle::Refusal::Address(wait) => AuthError::AddressThrottled(wait),
        })?;
        let checked = self
            .verifications
            .verify(password.to_string(), stored.clone())
            .await;
        let ok = match checked {
            Ok(ok) => ok,
            Err(password::Busy) => {
                self.throttle.release(attempt);
                return Err(AuthError::Busy);
            }
        };
        let (Some(row), Some(hash), true) = (row, stored, ok) else {
            return Err(wrong());
        };
        self.throttle.succeeded(attempt);
        self.recently_verified.remember(user, password, &hash);
        self.password_caller(db, row).await
    }

    /// The caller a verified password login stands for.
    pub(super) async fn password_caller(&self, db: &Db, row: UserRow) -> Result<Caller, AuthError> {
        let mut caller = Caller::with_rules(
            Some(row.name.clone()),
            Via::Password,
            self.user_rules(db, &row.name).await?,
        );
        caller.epoch = Some(row.credential_epoch);
        Ok(caller)
    }

    /// An access token secret; `user`, when given (Basic), must own it.
    pub(super) async fn with_access_token(
        &self,
        db: &Db,
        user: Option<&str>,
        secret: &str,
    ) -> Result<Caller, AuthError> {
        let refused = || AuthError::Credentials("the access token is not valid".into());
        let row = db
            .access_token_by_secret(&secret::sha256_hex(secret))
            .await?
            .ok_or_else(refused)?;
        let row = live_token(row)?;
        if user.is_some_and(|user| user != row.user_name) {
            return Err(refused());
        }
        let _ = db.touch_access_token(&row.id).await;
        self.token_caller(db, row, Via::AccessToken).await
    }

    /// The caller an access token stands for: its owner's grants now,
    /// narrowed by its scopes.
    pub(super) async fn token_caller(
        &self,
        db: &Db,
        row: AccessTokenRow,
        via: impl FnOnce(String) -> Via,
    ) -> Result<Caller, AuthError> {
        let mut caller = Caller::with_rules(
            Some(row.user_name.clone()),
            via(row.id.clone()),
            self.user_rules(db, &row.user_name).await?,
        );
        caller.limits.extend(parse_scopes(&row.scopes));
        caller.token_id = Some(row.id);
        Ok(caller)
    }

    pub(super) fn verify_jwt(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = jwt::verify(&self.keys, token, &self.issuer, &self.service)
            .map_err(|e: TokenError| AuthError::Credentials(e.to_string()))?;
        if claims.kind.is_some() {
            return Err(AuthError::Credentials(
                "a refresh token cannot be used as an access token".into(),
            ));
        }
        Ok(claims)
    }

    /// Who stands behind a verified JWT or refresh token now: its access
    /// token (`tid`) if it came from one, else its user's credential epoch;
    /// an anonymous JWT has neither. Everything the holder could do when
    /// it was minted and can no longer do is cut away here.
    pub(super) async fn principal_of(&self, db: &Db, claims: &Claims) -> Result<Caller, AuthError> {
        let ended = || {
            AuthError::Credentials(
                "the credentials this token was minted from were revoked, changed or removed; \
                 sign in again"
                    .into(),
            )
        };
        if db.jwt_revoked(&claims.jti).await? {
            return Err(AuthError::Credentials(
                "this session was signed out; sign in again".into(),
            ));
        }
        if let Some(id) = &claims.tid {
            let row = db.access_token(id).await?.ok_or_else(ended)?;
            if row.user_name != claims.sub {
                return Err(ended());
            }
            let row = live_token(row)?;
            return self.token_caller(db, row, |_| Via::Jwt).await;
        }
        match &claims.epoch {
            None if claims.sub == ANONYMOUS => Ok(self.anonymous()),
            None => Err(ended()),
            Some(epoch) => {
                let row = db.user(&claims.sub).await?.ok_or_else(ended)?;
                if row.credential_epoch != *epoch {
                    return Err(ended());
                }
                let mut caller = Caller::with_rules(
                    Some(row.name),
                    Via::Jwt,
                    self.user_rules(db, &claims.sub).await?,
                );
                caller.epoch = Some(row.credential_epoch);
                Ok(caller)
            }
        }
    }

    /// The rights a JWT lists, within what stands behind it now. With
    /// `registry:catalog:*` the holder's pull rights apply too, so
    /// listings show what they may pull.
    pub(super) async fn caller_of_claims(
        &self,
        db: &Db,
        claims: &Claims,
    ) -> Result<Caller, AuthError> {
        let principal = self.principal_of(db, claims).await?;
        let mut rules: Vec<Rule> = claims
            .access
            .iter()
            .filter(|entry| entry.kind == "repository")
            .filter_map(|entry| {
                let actions = Actions::parse(&entry.actions.join(",")).ok()?;
                Some(Rule {
                    pattern: RepoPattern::exact(self.package_path(&entry.name)),
                    actions,
                })
            })
            .collect();
        let catalog = claims
            .access
            .iter()
            .any(|e| e.kind == "registry" && e.name == "catalog");
        if catalog {
            rules.extend(principal.rules.iter().map(|rule| Rule {
                actions: rule.actions.intersect(Actions::of(Action::Pull)),
                ..rule.clone()
            }));
        }
        let mut caller = Caller {
            via: Via::Jwt,
            rules,
            ..principal.clone()
        };
        caller.limits.push(principal.rules);
        Ok(caller)
    }

    /// A user's grants, plus what anyone may pull.
    pub async fn user_rules(&self, db: &Db, user: &str) -> Result<Vec<Rule>, crate::db::Error> {
        let mut rules = self.anonymous.clone();
        for grant in db.grants(Some(user)).await? {
            match (
                RepoPattern::parse(&grant.pattern),
                Actions::parse(&grant.actions),
            ) {
                (Ok(pattern), Ok(actions)) => rules.push(Rule { pattern, actions }),
                _ => tracing::warn!(user, pattern = %grant.pattern, "ignoring a malformed grant"),
            }
        }
        Ok(rules)
    }
}

/// A token row that is neither revoked nor expired.
pub(super) fn live_token(row: AccessTokenRow) -> Result<AccessTokenRow, AuthError> {
    if row.revoked_at.is_some() {
        return Err(AuthError::Credentials(format!(
            "access token {} has been revoked; ask an admin for a new one",
            row.id
        )));
    }
    if row
        .expires_at
        .is_some_and(|at| at <= crate::db::now_millis())
    {
        return Err(AuthError::Credentials(format!(
            "access token {} has expired; create a new one",
            row.id
        )));
    }
    Ok(row)
}

/// An access token's `scopes` column: lines `pattern=actions`.
pub(super) fn parse_scopes(text: &str) -> Option<Vec<Rule>> {
    let rules: Vec<Rule> = text
        .lines()
        .filter_map(|line| {
            let (pattern, actions) = line.split_once('=')?;
            Some(Rule {
                pattern: RepoPattern::parse(pattern).ok()?,
                actions: Actions::parse(actions).ok()?,
            })
        })
        .collect();
    (!text.trim().is_empty()).then_some(rules)
}

pub(super) fn decode_basic(credential: &str) -> Result<(String, String), AuthError> {
    let malformed =
        || AuthError::Credentials("malformed Basic credentials; send base64(user:password)".into());
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(credential)
        .map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (user, password) = text.split_once(':').ok_or_else(malformed)?;
    Ok((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_scopes_parse() {
        let limit = parse_scopes("acme/*=pull\n").unwrap();
        assert_eq!(limit.len(), 1);
        assert!(limit[0].pattern.matches("acme/x"));
        assert!(parse_scopes("").is_none());
    }
}
