//! Trusted publishers: which CI workflows may exchange their platform's OIDC
//! identity token for a short-lived access token, and for what. Shared by
//! `wkg-gateway admin publisher` and `/api/v1/admin/publishers`, so both
//! validate alike.
//!
//! A publisher binds an issuer and claim rules to a repository pattern and
//! actions. Choices where the issue left room, all on the side of refusing:
//!
//! - A publisher names at least one claim that identifies a workload:
//!   `repository` or `repository_owner_id` for GitHub, `project_path` or
//!   `namespace_id` for GitLab, any claim for a generic issuer. Without
//!   one, every workflow on the platform would be trusted.
//! - Its actions are `pull`, `push` and `delete`, never `admin`: a CI job
//!   publishes, it does not run the registry.
//! - Only the claims of its provider are accepted (a misspelt `workflow`
//!   would otherwise silently check nothing); numeric ids are decimal.
//! - Issuers are `https://` URLs; `http://` only for a loopback host. They
//!   are stored as given, since `iss` is compared as an exact string.
//!
//! Each publisher owns the robot user `publisher-<id>`, created and removed
//! with it in one transaction, whose one grant is the publisher's pattern
//! and actions: removing the publisher ends every token exchanged for it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::admin::AdminError;
use super::pattern::{Action, Actions, RepoPattern};
use crate::db::{Db, NewPublisher, PublisherRow};
use crate::names::bounded;

type Result<T> = std::result::Result<T, AdminError>;

/// GitHub Actions' issuer.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// GitLab.com's issuer (self-hosted GitLab sets `provider = gitlab`).
pub const GITLAB_ISSUER: &str = "https://gitlab.com";

/// Longest issuer URL (bytes), audience and claim value (characters).
const ISSUER_MAX: usize = 512;
const AUDIENCE_MAX: usize = 256;
const CLAIM_VALUE_MAX: usize = 512;
/// Most claims one publisher may check, and the longest claim name.
const CLAIMS_MAX: usize = 16;
const CLAIM_NAME_MAX: usize = 64;

/// Which rules a publisher's claims follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Github,
    Gitlab,
    Generic,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
            Provider::Generic => "generic",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "github" => Ok(Provider::Github),
            "gitlab" => Ok(Provider::Gitlab),
            "generic" => Ok(Provider::Generic),
            other => Err(AdminError::Invalid(format!(
                "provider {:?} is not one of github, gitlab, generic",
                bounded(other, 64)
            ))),
        }
    }

    /// The provider of a preset issuer, else generic.
    pub fn infer(issuer: &str) -> Self {
        match issuer {
            GITHUB_ISSUER => Provider::Github,
            GITLAB_ISSUER => Provider::Gitlab,
            _ => Provider::Generic,
        }
    }

    /// The claims a publisher of this provider may check (`None`: any).
    fn known_claims(self) -> Option<&'static [&'static str]> {
        match self {
            Provider::Github => Some(&[
                "repository",
                "repository_owner_id",
                "workflow",
                "job_workflow",
                "environment",
                "ref",
            ]),
            Provider::Gitlab => Some(&[
                "project_path",
                "namespace_id",
                "ci_config_ref_uri",
                "environment",
            ]),
            Provider::Generic => None,
        }
    }

    /// Claims of which at least one must be checked.
    fn identifying_claims(self) -> &'static [&'static str] {
        match self {
            Provider::Github => &["repository", "repository_owner_id"],
            Provider::Gitlab => &["project_path", "namespace_id"],
            Provider::Generic => &[],
        }
    }

    /// Claims compared as decimal numbers written as strings.
    fn numeric_claims(self) -> &'static [&'static str] {
        match self {
            Provider::Github => &["repository_owner_id"],
            Provider::Gitlab => &["namespace_id"],
            Provider::Generic => &[],
        }
    }
}

/// A publisher as given to the admin API (and built by the CLI).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublisherSpec {
    pub issuer: String,
    /// Absent: inferred from the issuer.
    pub provider: Option<String>,
    /// Absent: the gateway's `service`.
    pub audience: Option<String>,
    #[serde(default)]
    pub claims: BTreeMap<String, String>,
    pub pattern: String,
    pub actions: Vec<String>,
}

/// A publisher as the admin API and CLI show it.
#[derive(Debug, Clone, Serialize)]
pub struct PublisherView {
    pub id: String,
    pub issuer: String,
    pub provider: String,
    /// `null`: the gateway's `service`.
    pub audience: Option<String>,
    pub claims: BTreeMap<String, String>,
    pub pattern: String,
    pub actions: Vec<String>,
    /// The robot user that owns the tokens exchanged for this publisher.
    pub robot: String,
    pub created_at: i64,
}

/// The robot user of publisher `id`.
pub fn robot_name(id: &str) -> String {
    format!("publisher-{id}")
}

/// Checks an issuer URL, on its text as given (it is compared with `iss` as
/// a string, so no normalising parse may accept what it does not say):
/// `https://HOST[/PATH]`, where HOST is a lowercase DNS name whose last label
/// starts with a letter and PATH is up to 8 segments of letters, digits,
/// `_`, `~` and `-` (an optional trailing `/`); or `http://` with a loopback
/// host (`localhost`, `127.x.x.x`, `[::1]`) and an optional port. Bounded.
/// The same grammar is in openapi.yaml.
pub fn validate_issuer(issuer: &str) -> Result<()> {
    let invalid =
        |why: &str| AdminError::Invalid(format!("issuer {:?} {why}", bounded(issuer, 80)));
    if issuer.len() > ISSUER_MAX {
        return Err(invalid(&format!("is longer than {ISSUER_MAX} bytes")));
    }
    if issuer.contains('@') {
        return Err(invalid("has credentials in it"));
    }
    if issuer.contains(['?', '#']) {
        return Err(invalid("has a query or fragment; an issuer is a plain URL"));
    }
    let (secure, rest) = if let Some(rest) = issuer.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = issuer.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(invalid("is not a URL starting with https://"));
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host_ok = if secure {
        is_dns_name(authority)
    } else if is_loopback_authority(authority) {
        true
    } else {
        return Err(invalid(
            "is plain http; issuers must use https (http only on loopback, for local \
             identity providers)",
        ));
    };
    if !host_ok {
        return Err(invalid(
            "does not name a host as lowercase DNS labels (and no port), such as \
             https://token.actions.githubusercontent.com",
        ));
    }
    let path_ok = match path.strip_prefix('/') {
        None | Some("") => true,
        Some(body) => {
            let body = body.strip_suffix('/').unwrap_or(body);
            body.split('/').count() <= 8
                && body.split('/').all(|segment| {
                    (1..=64).contains(&segment.len())
                        && segment
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_~-".contains(&b))
                })
        }
    };
    if !path_ok {
        return Err(invalid(
            "has a path that is not up to 8 segments of letters, digits, '_', '~' and '-'",
        ));
    }
    Ok(())
}

/// Lowercase DNS labels of up to 63 characters, not starting or ending with
/// `-`, the last one starting with a letter (so it is no IP address).
fn is_dns_name(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|last| last.as_bytes()[0].is_ascii_lowercase())
}

/// `localhost`, `127.x.x.x` or `[::1]`, with an optional port.
fn is_loopback_authority(authority: &str) -> bool {
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|p| p > 0));
    let host_ok = host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    port_ok && host_ok
}

/// Checks what a publisher may check, for its provider.
fn validate_claims(provider: Provider, claims: &BTreeMap<String, String>) -> Result<()> {
    if claims.len() > CLAIMS_MAX {
        return Err(AdminError::Invalid(format!(
            "a publisher checks at most {CLAIMS_MAX} claims"
        )));
    }
    for (name, value) in claims {
        let shown = bounded(name, CLAIM_NAME_MAX);
        let name_ok = !name.is_empty()
            && name.len() <= CLAIM_NAME_MAX
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c));
        if !name_ok {
            return Err(AdminError::Invalid(format!(
                "claim name {shown:?} is not 1 to {CLAIM_NAME_MAX} letters, digits, '_', '-', \
                 '.' or ':'"
            )));
        }
        if let Some(known) = provider.known_claims()
            && !known.contains(&name.as_str())
        {
            return Err(AdminError::Invalid(format!(
                "claim {shown:?} is not checked for {} publishers; use {}",
                provider.as_str(),
                known.join(", ")
            )));
        }
        if value.is_empty()
            || value.chars().count() > CLAIM_VALUE_MAX
            || value.chars().any(char::is_control)
        {
            return Err(AdminError::Invalid(format!(
                "claim {shown:?} must be 1 to {CLAIM_VALUE_MAX} characters of text"
            )));
        }
        if provider.numeric_claims().contains(&name.as_str())
            && !(value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(AdminError::Invalid(format!(
                "claim {shown:?} is a numeric id, written as a string of digits such as \"123\""
            )));
        }
    }
    let identifying = provider.identifying_claims();
    let identified = if identifying.is_empty() {
        !claims.is_empty()
    } else {
        identifying.iter().any(|name| claims.contains_key(*name))
    };
    if !identified {
        let which = if identifying.is_empty() {
            "at least one claim".to_owned()
        } else {
            identifying.join(" or ")
        };
        return Err(AdminError::Invalid(format!(
            "a {} publisher must check {which}, or it would trust every workload of the issuer",
            provider.as_str()
        )));
    }
    Ok(())
}

/// The actions a publisher grants: `pull`, `push`, `delete`, never `admin`.
fn parse_actions(actions: &[String]) -> Result<Actions> {
    let parsed =
        Actions::parse(&actions.join(",")).map_err(|e| AdminError::Invalid(e.to_string()))?;
    if parsed.iter().any(|action| action == Action::Admin) {
        return Err(AdminError::Invalid(
            "a trusted publisher may grant pull, push and delete, never admin".into(),
        ));
    }
    Ok(parsed)
}

/// Adds a publisher (and its robot); returns it as stored.
pub async fn add_publisher(db: &Db, spec: PublisherSpec) -> Result<PublisherView> {
    validate_issuer(&spec.issuer)?;
    let provider = match spec.provider.as_deref() {
        Some(text) => Provider::parse(text)?,
        None => Provider::infer(&spec.issuer),
    };
    validate_claims(provider, &spec.claims)?;
    if let Some(audience) = &spec.audience
        && (audience.is_empty()
            || audience.chars().count() > AUDIENCE_MAX
            || audience.chars().any(char::is_control))
    {
        return Err(AdminError::Invalid(format!(
            "the audience must be 1 to {AUDIENCE_MAX} characters of text"
        )));
    }
    let pattern =
        RepoPattern::parse(&spec.pattern).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let actions = parse_actions(&spec.actions)?;
    let id = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
    let claims = serde_json::to_string(&spec.claims)
        .map_err(|e| AdminError::Internal(format!("cannot encode the claims: {e}")))?;
    let robot = robot_name(&id);
    let stored = db
        .insert_publisher(
            NewPublisher {
                id: &id,
                issuer: &spec.issuer,
                provider: provider.as_str(),
                audience: spec.audience.as_deref(),
                claims: &claims,
                pattern: pattern.as_str(),
                actions: &actions.to_string(),
            },
            &robot,
        )
        .await?;
    if !stored {
        return Err(AdminError::Exists(format!(
            "a user named {robot:?} already exists; remove it, or add the publisher again \
             (it gets a new id)"
        )));
    }
    let row = db
        .publisher(&id)
        .await?
        .ok_or_else(|| AdminError::Internal("the new publisher vanished".into()))?;
    view(row)
}

pub async fn list_publishers(db: &Db) -> Result<Vec<PublisherView>> {
    db.publishers().await?.into_iter().map(view).collect()
}

/// Removes a publisher, its robot and every token exchanged for it.
pub async fn remove_publisher(db: &Db, id: &str) -> Result<()> {
    if db.delete_publisher(id, &robot_name(id)).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "no trusted publisher with id {:?}; list them with `admin publisher list`",
            bounded(id, 64)
        )))
    }
}

fn view(row: PublisherRow) -> Result<PublisherView> {
    let claims = serde_json::from_str(&row.claims).map_err(|e| {
        AdminError::Internal(format!(
            "publisher {}: stored claims unreadable: {e}",
            row.id
        ))
    })?;
    Ok(PublisherView {
        robot: robot_name(&row.id),
        actions: row.actions.split(',').map(str::to_owned).collect(),
        id: row.id,
        issuer: row.issuer,
        provider: row.provider,
        audience: row.audience,
        claims,
        pattern: row.pattern,
        created_at: row.created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn issuers_are_https_or_loopback_http() {
        for ok in [
            GITHUB_ISSUER,
            "https://gitlab.example.com/",
            "http://127.0.0.1:4000",
            "http://localhost:9000/realms/ci",
            "http://[::1]:8080",
        ] {
            validate_issuer(ok).unwrap();
        }
        for (bad, needle) in [
            ("http://idp.example.com", "plain http"),
            ("ftp://idp.example.com", "https://"),
            ("https://user:pw@idp.example.com", "credentials"),
            ("https://idp.example.com/?x=1", "query"),
            ("not a url", "not a URL"),
            ("https://l*", "DNS labels"),
            ("https://IDP.example.com", "DNS labels"),
            ("https://idp.example.com:8443", "DNS labels"),
            ("https://idp.example.com/a b", "path"),
            ("https://idp.example.com//", "path"),
            ("https://10.0.0.1", "DNS labels"),
            ("http://127.0.0.1:99999", "plain http"),
        ] {
            let err = validate_issuer(bad).unwrap_err().to_string();
            assert!(err.contains(needle), "{bad}: {err}");
        }
        let long = format!("https://{}.com", "a".repeat(600));
        let err = validate_issuer(&long).unwrap_err().to_string();
        assert!(err.len() < 200, "bounded: {err}");
    }

    #[test]
    fn providers_are_inferred_from_the_presets() {
        assert_eq!(Provider::infer(GITHUB_ISSUER), Provider::Github);
        assert_eq!(Provider::infer(GITLAB_ISSUER), Provider::Gitlab);
        assert_eq!(
            Provider::infer("https://ghe.example.com/_services/token"),
            Provider::Generic
        );
    }

    #[test]
    fn claims_follow_the_provider() {
        let github = Provider::Github;
        validate_claims(
            github,
            &claims(&[("repository_owner_id", "123"), ("workflow", "release.yml")]),
        )
        .unwrap();
        for (set, needle) in [
            (claims(&[("workflow", "release.yml")]), "must check"),
            (claims(&[("repositry", "octo/app")]), "not checked"),
            (claims(&[("repository_owner_id", "octo")]), "numeric id"),
            (claims(&[("repository", "")]), "1 to"),
        ] {
            let err = validate_claims(github, &set).unwrap_err().to_string();
            assert!(err.contains(needle), "{set:?}: {err}");
        }
        let err = validate_claims(Provider::Generic, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least one claim"), "{err}");
        validate_claims(Provider::Generic, &claims(&[("sub", "job:1")])).unwrap();
        let many: BTreeMap<String, String> =
            (0..17).map(|i| (format!("c{i}"), "v".into())).collect();
        assert!(validate_claims(Provider::Generic, &many).is_err());
    }

    #[test]
    fn publishers_never_grant_admin() {
        assert!(parse_actions(&["pull".into(), "push".into()]).is_ok());
        for actions in [vec!["admin".to_string()], vec!["*".to_string()]] {
            let err = parse_actions(&actions).unwrap_err().to_string();
            assert!(err.contains("never admin"), "{actions:?}: {err}");
        }
    }
}
