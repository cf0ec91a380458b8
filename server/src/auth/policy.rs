//! Which route needs which right: the gateway's whole authorization table.

use axum::http::Method;

use super::pattern::Action;

/// What a request needs before its handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Anyone (health, metrics, discovery, the token endpoint itself).
    Public,
    /// Any authenticated caller; anonymous callers get a challenge so that
    /// clients learn where to log in (`GET /v2/`).
    Authenticated,
    /// An action on one repository (the full OCI name).
    Repository { repository: String, action: Action },
    /// A listing the handler filters to what the caller may pull.
    /// `challenge_anonymous` asks anonymous callers to log in first (the
    /// OCI catalog, as Docker registries do); the package API instead
    /// shows anonymous callers what they may pull.
    Listing { challenge_anonymous: bool },
    /// `admin` on `*`.
    Admin,
    /// A known user (not anonymous): personal token management.
    User,
}

impl Requirement {
    /// Whether this request changes or guards something worth an audit
    /// record: pushes, deletes and administration.
    pub fn audited_action(&self) -> Option<&'static str> {
        match self {
            Requirement::Repository {
                action: Action::Push,
                ..
            } => Some("push"),
            Requirement::Repository {
                action: Action::Delete,
                ..
            } => Some("delete"),
            Requirement::Admin => Some("admin"),
            Requirement::User => Some("token"),
            _ => None,
        }
    }

    /// The Docker token scope that would satisfy this requirement.
    pub fn scope(&self) -> Option<String> {
        match self {
            Requirement::Repository { repository, action } => Some(format!(
                "repository:{repository}:{}",
                match action {
                    Action::Pull => "pull",
                    Action::Push => "pull,push",
                    Action::Delete => "delete",
                    Action::Admin => "*",
                }
            )),
            Requirement::Listing { .. } => Some("registry:catalog:*".to_string()),
            _ => None,
        }
    }
}

/// The requirement of a matched route template, its method and its
/// (decoded) path parameters. Unmatched requests are `Public`: they end
/// in a 404 that reveals nothing.
pub fn requirement(
    template: Option<&str>,
    method: &Method,
    params: &[(String, String)],
    namespace_prefix: &str,
) -> Requirement {
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let read = matches!(*method, Method::GET | Method::HEAD);
    let Some(template) = template else {
        return Requirement::Public;
    };
    let repository = |action| Requirement::Repository {
        repository: param("name"),
        action,
    };
    let package = |action| Requirement::Repository {
        repository: format!("{namespace_prefix}{}/{}", param("namespace"), param("name")),
        action,
    };
    match template {
        "/v2/" => Requirement::Authenticated,
        "/v2/_catalog" => Requirement::Listing {
            challenge_anonymous: true,
        },
        "/v2/{name}/blobs/{digest}" | "/v2/{name}/manifests/{reference}" => {
            if read {
                repository(Action::Pull)
            } else if *method == Method::DELETE {
                repository(Action::Delete)
            } else {
                repository(Action::Push)
            }
        }
        "/v2/{name}/blobs/uploads/" | "/v2/{name}/blobs/uploads/{id}" => repository(Action::Push),
        "/v2/{name}/tags/list" | "/v2/{name}/referrers/{digest}" => repository(Action::Pull),
        "/api/v1/packages" => Requirement::Listing {
            challenge_anonymous: false,
        },
        t if t.starts_with("/api/v1/packages/") => {
            if read {
                package(Action::Pull)
            } else {
                // yank and unyank
                package(Action::Push)
            }
        }
        t if t.starts_with("/api/v1/admin/") || t == "/api/v1/admin" => Requirement::Admin,
        "/api/v1/tokens" | "/api/v1/tokens/{id}" | "/api/v1/sessions" => Requirement::User,
        _ => Requirement::Public,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_actions() {
        let params = vec![("name".to_string(), "acme/x".to_string())];
        let req = requirement(
            Some("/v2/{name}/manifests/{reference}"),
            &Method::PUT,
            &params,
            "",
        );
        assert_eq!(req.audited_action(), Some("push"));
        assert_eq!(req.scope().unwrap(), "repository:acme/x:pull,push");
        let req = requirement(
            Some("/v2/{name}/blobs/{digest}"),
            &Method::DELETE,
            &params,
            "",
        );
        assert_eq!(req.audited_action(), Some("delete"));
        let params = vec![
            ("namespace".to_string(), "acme".to_string()),
            ("name".to_string(), "x".to_string()),
        ];
        let req = requirement(
            Some("/api/v1/packages/{namespace}/{name}"),
            &Method::GET,
            &params,
            "wasm/",
        );
        assert_eq!(
            req,
            Requirement::Repository {
                repository: "wasm/acme/x".into(),
                action: Action::Pull
            }
        );
    }
}
