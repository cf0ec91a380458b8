//! Who is calling and what they may do, once their credentials checked out.

use super::pattern::{Action, Actions, Rule, allowed};

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// No credentials (or auth is off).
    Nothing,
    Password,
    /// An access token, by id.
    AccessToken(String),
    /// A JWT from `/v2/token` (or a web session).
    Jwt,
}

/// An authenticated (or anonymous) caller and their rights.
///
/// The rights are `rules`, cut down by every one of `limits`: an access
/// token's scopes, and for a JWT the holder's grants as they are now, so
/// nothing a credential was minted from is ever widened by minting.
#[derive(Debug, Clone)]
pub struct Caller {
    /// User name; `None` for anonymous callers.
    pub user: Option<String>,
    pub via: Via,
    pub(super) everything: bool,
    pub(super) rules: Vec<Rule>,
    /// Each one must also allow an action.
    pub(super) limits: Vec<Vec<Rule>>,
    /// The access token this credential comes from (directly, or through
    /// the JWT or refresh token it minted): its revocation and scopes
    /// reach every descendant.
    pub(super) token_id: Option<String>,
    /// The user's credential epoch when they proved who they are with a
    /// password; tokens minted from that login carry it, and a password
    /// change or removal of the user ends them.
    pub(super) epoch: Option<String>,
    /// When a token minted for this caller must expire at the latest (Unix
    /// seconds): the refresh token's own expiry when the caller came from
    /// one, so refreshing, even with `access_type=offline`, never extends
    /// the login it started from.
    pub(super) not_after: Option<u64>,
}

impl Caller {
    /// Auth is off: anything goes.
    pub fn everything() -> Self {
        Self {
            user: None,
            via: Via::Nothing,
            everything: true,
            rules: Vec::new(),
            limits: Vec::new(),
            token_id: None,
            epoch: None,
            not_after: None,
        }
    }

    /// May do nothing at all.
    pub fn nobody() -> Self {
        Self {
            everything: false,
            ..Self::everything()
        }
    }

    /// A caller with `rules` (no limits yet).
    pub(super) fn with_rules(user: Option<String>, via: Via, rules: Vec<Rule>) -> Self {
        Self {
            user,
            via,
            everything: false,
            rules,
            ..Self::everything()
        }
    }

    /// Whether the caller is a user who proved it with their password, now
    /// or through a session or refresh token minted from that login (not
    /// through an access token).
    pub fn from_password_login(&self) -> bool {
        self.user.is_some() && self.token_id.is_none() && self.epoch.is_some()
    }

    /// What this caller may do to the repository at package path `path`.
    pub fn allowed(&self, path: &str) -> Actions {
        if self.everything {
            return Actions::EVERYTHING;
        }
        self.limits
            .iter()
            .fold(allowed(&self.rules, path), |granted, limit| {
                granted.intersect(allowed(limit, path))
            })
    }

    pub fn may(&self, action: Action, path: &str) -> bool {
        self.allowed(path).allows(action)
    }

    /// Whether a JWT that lacks `action` on `path` stands for a holder who
    /// could get a token with it (every limit allows it: the holder's
    /// grants now, and the scopes of the access token behind it).
    pub fn could_get(&self, action: Action, path: &str) -> bool {
        !self.limits.is_empty()
            && self
                .limits
                .iter()
                .all(|limit| allowed(limit, path).allows(action))
    }

    /// Holds `admin` on `*`: may use the admin API.
    pub fn is_admin(&self) -> bool {
        self.may(Action::Admin, "*")
    }

    /// Name for logs and the audit trail.
    pub fn name(&self) -> &str {
        self.user.as_deref().unwrap_or("anonymous")
    }
}

#[cfg(test)]
mod tests {
    use super::super::pattern::RepoPattern;
    use super::*;

    fn rules(text: &[(&str, &str)]) -> Vec<Rule> {
        text.iter()
            .map(|(pattern, actions)| Rule {
                pattern: RepoPattern::parse(pattern).unwrap(),
                actions: Actions::parse(actions).unwrap(),
            })
            .collect()
    }

    #[test]
    fn every_limit_narrows() {
        let mut caller = Caller::with_rules(
            Some("ci".into()),
            Via::AccessToken("t".into()),
            rules(&[("*", "admin")]),
        );
        caller.limits.push(rules(&[("acme/*", "pull")]));
        assert!(caller.may(Action::Pull, "acme/x"));
        assert!(!caller.may(Action::Push, "acme/x"));
        assert!(!caller.may(Action::Pull, "other/x"));
        assert!(!caller.is_admin());
        caller.limits.push(rules(&[("acme/y", "pull")]));
        assert!(!caller.may(Action::Pull, "acme/x"));
        assert!(caller.may(Action::Pull, "acme/y"));
    }
}
