//! What a grant names: repository patterns and the actions allowed on them.
//!
//! Patterns are matched against the package path of a repository, that is
//! its name without the configured `namespace_prefix` (`acme/hello`, not
//! `webassembly/acme/hello`), so the same grant covers the OCI API and the
//! package API. `*` matches any run of characters, `/` included:
//! `*` is everything, `acme/*` everything in namespace `acme`, `wasi/http`
//! exactly one repository. `acme:*` is accepted as a spelling of `acme/*`.

use std::fmt;

/// A glob over repository paths (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoPattern(String);

#[derive(Debug, thiserror::Error)]
#[error(
    "{0:?} is not a repository pattern; use `*`, `namespace/*` or `namespace/name` \
     (lowercase letters, digits, `.`, `_`, `-`, `/` and `*`)"
)]
pub struct PatternError(String);

impl RepoPattern {
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let normalized = text.trim().replace(':', "/");
        let valid = !normalized.is_empty()
            && normalized.len() <= 256
            && normalized
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/*".contains(c));
        if valid {
            Ok(Self(normalized))
        } else {
            Err(PatternError(crate::names::bounded(text, 300)))
        }
    }

    /// A pattern matching exactly `path` (which never contains `*`).
    pub fn exact(path: &str) -> Self {
        Self(path.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, path: &str) -> bool {
        glob_match(self.0.as_bytes(), path.as_bytes())
    }
}

impl fmt::Display for RepoPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Iterative glob with `*` only: linear backtracking to the last star.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// One thing a caller may do to a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pull,
    Push,
    Delete,
    /// Administration; on `*` it opens the admin API. It implies the others.
    Admin,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Pull, Action::Push, Action::Delete, Action::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
            Action::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Action::Pull => 1,
            Action::Push => 2,
            Action::Delete => 4,
            Action::Admin => 8,
        }
    }
}

/// A set of [`Action`]s; `admin` implies the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Actions(u8);

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a list of actions; use a comma-separated list of pull, push, delete, admin")]
pub struct ActionsError(String);

impl Actions {
    pub const NONE: Actions = Actions(0);
    pub const EVERYTHING: Actions = Actions(15);

    pub fn of(action: Action) -> Self {
        Self(action.bit())
    }

    /// Parses `pull,push` (the Docker token scope's `*` means everything).
    pub fn parse(text: &str) -> Result<Self, ActionsError> {
        let mut set = Actions::NONE;
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            set = set.union(match word {
                "pull" => Actions::of(Action::Pull),
                "push" => Actions::of(Action::Push),
                "delete" => Actions::of(Action::Delete),
                "admin" => Actions::of(Action::Admin),
                "*" => Actions::EVERYTHING,
                _ => return Err(ActionsError(crate::names::bounded(text, 64))),
            });
        }
        if set.is_empty() {
            return Err(ActionsError(crate::names::bounded(text, 64)));
        }
        Ok(set)
    }

    /// With `admin` expanded into everything it implies.
    fn effective(self) -> u8 {
        if self.0 & Action::Admin.bit() != 0 {
            Actions::EVERYTHING.0
        } else {
            self.0
        }
    }

    pub fn allows(self, action: Action) -> bool {
        self.effective() & action.bit() != 0
    }

    pub fn union(self, other: Actions) -> Actions {
        Actions(self.0 | other.0)
    }

    pub fn intersect(self, other: Actions) -> Actions {
        Actions(self.effective() & other.effective())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Action> {
        Action::ALL
            .into_iter()
            .filter(move |a| self.0 & a.bit() != 0)
    }
}

impl fmt::Display for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.iter().map(Action::as_str).collect();
        f.write_str(&words.join(","))
    }
}

/// A pattern and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub pattern: RepoPattern,
    pub actions: Actions,
}

/// What a set of rules allows on `path`.
pub fn allowed(rules: &[Rule], path: &str) -> Actions {
    rules
        .iter()
        .filter(|rule| rule.pattern.matches(path))
        .fold(Actions::NONE, |acc, rule| acc.union(rule.actions))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> RepoPattern {
        RepoPattern::parse(text).unwrap()
    }

    #[test]
    fn patterns_match() {
        assert!(p("*").matches("a/b"));
        assert!(p("acme/*").matches("acme/hello"));
        assert!(p("acme/*").matches("acme/deep/er"));
        assert!(!p("acme/*").matches("acme"));
        assert!(!p("acme/*").matches("acmecorp/x"));
        assert!(p("wasi/http").matches("wasi/http"));
        assert!(!p("wasi/http").matches("wasi/http2"));
        assert!(p("acme:*").matches("acme/x"));
        assert!(p("*/http").matches("wasi/http"));
        assert!(p("a*b*c").matches("a-x-b-y-c"));
        assert!(!p("a*b*c").matches("a-x-b-y"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["", "ACME/*", "a b", "a?b", "🙂"] {
            assert!(RepoPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn actions_parse_and_imply() {
        let set = Actions::parse("pull, push").unwrap();
        assert!(set.allows(Action::Pull) && set.allows(Action::Push));
        assert!(!set.allows(Action::Delete));
        assert_eq!(set.to_string(), "pull,push");
        let admin = Actions::parse("admin").unwrap();
        assert!(admin.allows(Action::Delete));
        assert_eq!(
            admin.intersect(Actions::parse("push").unwrap()),
            Actions::of(Action::Push)
        );
        assert!(Actions::parse("pull,fly").is_err());
        assert!(Actions::parse("").is_err());
        assert_eq!(Actions::parse("*").unwrap(), Actions::EVERYTHING);
    }

    #[test]
    fn rules_combine() {
        let rules = vec![
            Rule {
                pattern: p("acme/*"),
                actions: Actions::parse("pull").unwrap(),
            },
            Rule {
                pattern: p("acme/tools"),
                actions: Actions::parse("push").unwrap(),
            },
        ];
        assert_eq!(allowed(&rules, "acme/tools").to_string(), "pull,push");
        assert_eq!(allowed(&rules, "acme/x").to_string(), "pull");
        assert!(allowed(&rules, "other/x").is_empty());
    }
}
