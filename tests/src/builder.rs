//! [`TestApp::builder`]: a test gateway described step by step (auth mode,
//! config, upstreams, users and their grants, whom the harness client
//! signs in as) instead of TOML strings and setup calls repeated per file.
//!
//! ```ignore
//! let app = TestApp::builder()
//!     .token_mode()
//!     .auth("anonymous_pull = [\"acme/*\"]")
//!     .user("alice", "alice-password")
//!     .grant("alice", "secret/*", "pull")
//!     .client_as("alice", "alice-password")
//!     .spawn()
//!     .await;
//! ```

use crate::TestApp;

/// What [`TestApp::builder`] collects; [`TestAppBuilder::spawn`] starts it.
#[derive(Debug, Default, Clone)]
#[must_use = "a builder does nothing until spawned"]
pub struct TestAppBuilder {
    token_mode: bool,
    /// Lines of `[auth]`.
    auth: Vec<String>,
    /// Other top-level TOML: keys before any table, or whole tables.
    config: Vec<String>,
    /// `[[upstream]]` entries, each the TOML of one array element.
    upstreams: Vec<String>,
    /// Users, robots (no password) included, in the order they are added.
    users: Vec<(String, Option<String>)>,
    grants: Vec<(String, String, String)>,
    client_as: Option<(String, String)>,
}

impl TestApp {
    /// A gateway to be described, then [`TestAppBuilder::spawn`]ed.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }
}

impl TestAppBuilder {
    /// `[auth] mode = "token"`.
    pub fn token_mode(mut self) -> Self {
        self.token_mode = true;
        self
    }

    /// A line (or lines) of `[auth]`, e.g. `token_ttl = "2h"`; implies
    /// token mode unless the line sets `mode` itself.
    pub fn auth(mut self, lines: &str) -> Self {
        self.auth.push(lines.to_string());
        self
    }

    /// Other configuration: whole tables such as `"[packages]\n..."`.
    pub fn config(mut self, toml: &str) -> Self {
        self.config.push(toml.to_string());
        self
    }

    /// An `[[upstream]]` entry, as `WargServer::upstream_entry` and the
    /// proxy tests write one (the `[[upstream]]` header included).
    pub fn upstream(mut self, entry: &str) -> Self {
        self.upstreams.push(entry.to_string());
        self
    }

    /// A user with a password.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users
            .push((name.to_string(), Some(password.to_string())));
        self
    }

    /// A robot: a user without a password, reached through tokens.
    pub fn robot(mut self, name: &str) -> Self {
        self.users.push((name.to_string(), None));
        self
    }

    /// Grants `actions` (`pull,push`) on `pattern` (`acme/*`) to `user`.
    pub fn grant(mut self, user: &str, pattern: &str, actions: &str) -> Self {
        self.grants
            .push((user.to_string(), pattern.to_string(), actions.to_string()));
        self
    }

    /// The harness client ([`TestApp::client`]) sends these Basic
    /// credentials on every request.
    pub fn client_as(mut self, user: &str, password: &str) -> Self {
        self.client_as = Some((user.to_string(), password.to_string()));
        self
    }

    /// The configuration as [`TestApp::spawn_with`] takes it.
    fn toml(&self) -> String {
        let mut toml = String::new();
        if self.token_mode || !self.auth.is_empty() {
            toml.push_str("[auth]\n");
            let sets_mode = self
                .auth
                .iter()
                .any(|lines| lines.lines().any(|l| l.trim_start().starts_with("mode")));
            if !sets_mode {
                toml.push_str("mode = \"token\"\n");
            }
            for lines in &self.auth {
                toml.push_str(lines);
                toml.push('\n');
            }
        }
        for part in self.config.iter().chain(&self.upstreams) {
            toml.push('\n');
            toml.push_str(part);
            toml.push('\n');
        }
        toml
    }

    /// Starts the gateway, then adds the users and grants through the same
    /// admin operations the CLI uses.
    pub async fn spawn(self) -> TestApp {
        let mut app = TestApp::spawn_with(&self.toml()).await;
        for (name, password) in &self.users {
            app.add_user(name, password.as_deref()).await;
        }
        for (user, pattern, actions) in &self.grants {
            app.grant(user, pattern, actions).await;
        }
        if let Some((user, password)) = &self.client_as {
            app.authenticate_client_as(user, password);
        }
        app
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_mode_and_auth_lines_make_one_auth_table() {
        let toml = TestApp::builder()
            .auth("anonymous_pull = [\"acme/*\"]")
            .config("[packages]\nmax_concurrent_validations = 1")
            .toml();
        assert_eq!(
            toml,
            "[auth]\nmode = \"token\"\nanonymous_pull = [\"acme/*\"]\n\n\
             [packages]\nmax_concurrent_validations = 1\n"
        );
        let open = TestApp::builder().config("[server]\nx = 1").toml();
        assert!(!open.contains("[auth]"), "{open}");
        let explicit = TestApp::builder().auth("mode = \"none\"").toml();
        assert_eq!(explicit, "[auth]\nmode = \"none\"\n");
    }
}
