//! `wkg-gateway admin ...`: users, grants, access tokens and trusted
//! publishers, acting on the
//! database a running gateway uses (which sees every change at once).
//!
//! Every change made here is written to the same audit log as the admin
//! API's (actor `cli:<unix user>`, see [`cli_actor`]), so
//! `GET /api/v1/admin/audit` shows who changed what through either door.

use std::io::Read as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use crate::auth::admin::{self, AdminError};
use crate::auth::publishers::{self, PublisherSpec};
use crate::db::{Db, NewAuditEntry};
use crate::state::AppState;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Users and robots.
    #[command(subcommand)]
    User(UserCommand),
    /// Let NAME do ACTIONS (comma-separated: pull, push, delete, admin) on
    /// repositories matching PATTERN (`*`, `acme/*`, `acme/hello`).
    Grant {
        name: String,
        pattern: String,
        actions: String,
    },
    /// Remove NAME's grant on PATTERN.
    RevokeGrant { name: String, pattern: String },
    /// Access tokens (for CI, robots, `WKG_REGISTRY_<HOST>_AUTH_BEARER`).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Trusted publishers: CI workflows that may trade their OIDC identity
    /// token for a short-lived access token.
    #[command(subcommand)]
    Publisher(PublisherCommand),
    /// Show the newest audit log entries.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. Without --password-stdin it is a robot, which can only
    /// authenticate with access tokens.
    Add {
        name: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password, read from standard input (first line). It
    /// ends every session and JWT of their earlier password logins.
    Passwd {
        name: String,
        /// Read the password from standard input (first line); required.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Remove a user with their grants and tokens.
    Remove { name: String },
    /// List users and their grants.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an access token for NAME and print its secret (shown once).
    Create {
        name: String,
        /// Lifetime, e.g. 30d or 12h; without it the token never expires.
        #[arg(long)]
        ttl: Option<String>,
        /// Narrow the token to PATTERN=ACTIONS (repeatable), e.g. acme/*=pull.
        #[arg(long = "scope", value_name = "PATTERN=ACTIONS")]
        scopes: Vec<String>,
        /// What the token is for (shown in listings).
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List tokens (of one user with --user).
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum PublisherCommand {
    /// Trust tokens from ISSUER whose claims match every --claim, for
    /// ACTIONS on PATTERN. Prints the new publisher's id.
    Add {
        /// The OIDC issuer URL, e.g. https://token.actions.githubusercontent.com.
        #[arg(long)]
        issuer: String,
        /// github, gitlab or generic; inferred from the GitHub and GitLab issuers.
        #[arg(long)]
        provider: Option<String>,
        /// The `aud` tokens must carry; the gateway's `service` if omitted.
        #[arg(long)]
        audience: Option<String>,
        /// CLAIM=VALUE that tokens must carry (repeatable), e.g.
        /// repository=octo/app or workflow=release.yml.
        #[arg(long = "claim", value_name = "CLAIM=VALUE")]
        claims: Vec<String>,
        /// Repositories the exchanged tokens reach, e.g. acme/*.
        #[arg(long)]
        pattern: String,
        /// Comma-separated: pull, push, delete.
        #[arg(long)]
        actions: String,
    },
    /// List trusted publishers.
    List,
    /// Remove a trusted publisher; every token exchanged for it ends.
    Remove { id: String },
}

pub async fn run(app: &AppState, command: AdminCommand) -> ExitCode {
    match execute(app, command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if matches!(error, AdminError::Database(_)) {
                eprintln!("hint: check [database] url in the config the gateway uses");
            }
            ExitCode::FAILURE
        }
    }
}

async fn execute(app: &AppState, command: AdminCommand) -> Result<(), AdminError> {
    let db = &app.db;
    match command {
        AdminCommand::User(UserCommand::Add {
            name,
            password_stdin,
        }) => {
            let password = if password_stdin {
                Some(password_from_stdin()?)
            } else {
                None
            };
            let robot = password.is_none();
            admin::add_user(db, &name, password).await?;
            let kind = if robot { "robot" } else { "user" };
            println!("added {kind} {name}");
            audit(
                db,
                &user_target(&name),
                &format!("user add {name} ({kind})"),
            )
            .await?;
        }
        AdminCommand::User(UserCommand::Passwd { name, .. }) => {
            admin::set_password(db, &name, password_from_stdin()?).await?;
            println!("changed the password of {name}; their earlier sessions have ended");
            audit(
                db,
                &format!("{}/password", user_target(&name)),
                &format!("user passwd {name}"),
            )
            .await?;
        }
        AdminCommand::User(UserCommand::Remove { name }) => {
            admin::remove_user(db, &name).await?;
            println!("removed user {name} with their grants and tokens");
            audit(db, &user_target(&name), &format!("user remove {name}")).await?;
        }
        AdminCommand::User(UserCommand::List) => {
            for user in admin::list_users(db).await? {
                let grants: Vec<String> = user
                    .grants
                    .iter()
                    .map(|g| format!("{}={}", g.pattern, g.actions.join(",")))
                    .collect();
                println!("{}\t{}\t{}", user.name, user.kind, grants.join(" "));
            }
        }
        AdminCommand::Grant {
            name,
            pattern,
            actions,
        } => {
            let rule = admin::grant(db, &name, &pattern, &actions).await?;
            println!("{name} may now {} on {}", rule.actions, rule.pattern);
            let detail = format!("grant {name} {} {}", rule.pattern, rule.actions);
            audit(db, &format!("{}/grants", user_target(&name)), &detail).await?;
        }
        AdminCommand::RevokeGrant { name, pattern } => {
            admin::revoke_grant(db, &name, &pattern).await?;
            println!("removed {name}'s grant on {pattern}");
            let detail = format!("revoke-grant {name} {pattern}");
            audit(db, &format!("{}/grants", user_target(&name)), &detail).await?;
        }
        AdminCommand::Token(TokenCommand::Create {
            name,
            ttl,
            scopes,
            description,
        }) => {
            let ttl_text = ttl.as_deref().unwrap_or("never expires").to_string();
            let ttl = ttl.as_deref().map(admin::parse_ttl).transpose()?;
            let scopes = admin::parse_scopes(&scopes)?;
            let created = admin::create_token(db, &name, &description, ttl, &scopes).await?;
            eprintln!(
                "created token {} for {name}; the secret below is shown only now:",
                created.token.id
            );
            // Printed before the audit write: the token exists either way,
            // and its secret can never be shown again.
            println!("{}", created.secret);
            let scope_text = if created.token.scopes.is_empty() {
                "all of the user's grants".to_string()
            } else {
                created.token.scopes.join(",")
            };
            let detail = format!("token create for {name} (ttl: {ttl_text}; scopes: {scope_text})");
            audit(db, &token_target(&created.token.id), &detail).await?;
        }
        AdminCommand::Token(TokenCommand::List { user }) => {
            for token in admin::list_tokens(db, user.as_deref()).await? {
                let state = if token.revoked { "revoked" } else { "active" };
                println!(
                    "{}\t{}\t{state}\texpires={}\tscopes={}\t{}",
                    token.id,
                    token.user,
                    token.expires_at.map_or("never".to_string(), format_millis),
                    if token.scopes.is_empty() {
                        "(all of the user's grants)".to_string()
                    } else {
                        token.scopes.join(",")
                    },
                    token.description
                );
            }
        }
        AdminCommand::Token(TokenCommand::Revoke { id }) => {
            admin::revoke_token(db, &id).await?;
            println!("revoked token {id}");
            audit(db, &token_target(&id), &format!("token revoke {id}")).await?;
        }
        AdminCommand::Publisher(command) => publisher(db, command).await?,
        AdminCommand::Audit { limit } => {
            for entry in db.audit_entries(None, limit.clamp(1, 10_000)).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    format_millis(entry.at),
                    entry.actor,
                    entry.client,
                    entry.action,
                    entry.target,
                    entry.outcome,
                    entry.detail
                );
            }
        }
    }
    Ok(())
}

async fn publisher(db: &Db, command: PublisherCommand) -> Result<(), AdminError> {
    match command {
        PublisherCommand::Add {
            issuer,
            provider,
            audience,
            claims,
            pattern,
            actions,
        } => {
            let claims = claims
                .iter()
                .map(|pair| {
                    pair.split_once('=')
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .ok_or_else(|| {
                            AdminError::Invalid(format!(
                                "{:?} is not a claim; write CLAIM=VALUE, e.g. repository=octo/app",
                                crate::names::bounded(pair, 80)
                            ))
                        })
                })
                .collect::<Result<_, _>>()?;
            let spec = PublisherSpec {
                issuer,
                provider,
                audience,
                claims,
                pattern,
                actions: actions.split(',').map(str::to_owned).collect(),
            };
            let stored = publishers::add_publisher(db, spec).await?;
            eprintln!(
                "added trusted publisher {} for {} ({} on {}; tokens owned by {})",
                stored.id,
                stored.issuer,
                stored.actions.join(","),
                stored.pattern,
                stored.robot
            );
            println!("{}", stored.id);
            let detail = format!(
                "publisher add {} (issuer {}; {}={}; claims {})",
                stored.id,
                stored.issuer,
                stored.pattern,
                stored.actions.join(","),
                claim_text(&stored.claims)
            );
            audit(db, &publisher_target(&stored.id), &detail).await?;
        }
        PublisherCommand::List => {
            for p in publishers::list_publishers(db).await? {
                println!(
                    "{}\t{}\t{}\t{}={}\taudience={}\t{}",
                    p.id,
                    p.issuer,
                    p.provider,
                    p.pattern,
                    p.actions.join(","),
                    p.audience.as_deref().unwrap_or("(service)"),
                    claim_text(&p.claims)
                );
            }
        }
        PublisherCommand::Remove { id } => {
            publishers::remove_publisher(db, &id).await?;
            println!("removed trusted publisher {id} and every token exchanged for it");
            audit(
                db,
                &publisher_target(&id),
                &format!("publisher remove {id}"),
            )
            .await?;
        }
    }
    Ok(())
}

fn claim_text(claims: &std::collections::BTreeMap<String, String>) -> String {
    claims
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The first line of standard input.
fn password_from_stdin() -> Result<String, AdminError> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| AdminError::Invalid(format!("cannot read standard input: {e}")))?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}

/// The audit actor of changes made with this CLI: `cli:<unix user>`, the
/// login name from `USER` or `LOGNAME`, else `uid=<n>` (containers often set
/// neither), else `unknown`. User names cannot contain `:`, so this never
/// reads as an HTTP caller. It is what the environment says, not a proof:
/// whoever runs the CLI can already write the database directly. Entries
/// from the CLI also carry client `local` and status 0 (no HTTP answer).
pub fn cli_actor() -> String {
    let login = ["USER", "LOGNAME"]
        .into_iter()
        .filter_map(|key| std::env::var(key).ok())
        .map(|name| {
            name.chars()
                .filter(|c| c.is_ascii_graphic())
                .take(64)
                .collect::<String>()
        })
        .find(|name| !name.is_empty())
        .or_else(process_uid)
        .unwrap_or_else(|| "unknown".to_string());
    format!("cli:{login}")
}

/// `uid=<n>` of this process, from the owner of `/proc/self` (Linux).
#[cfg(unix)]
fn process_uid() -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self")
        .ok()
        .map(|meta| format!("uid={}", meta.uid()))
}

#[cfg(not(unix))]
fn process_uid() -> Option<String> {
    None
}

/// The admin API resource a change touched, so one user's or token's
/// history reads the same whichever door the change came through.
fn user_target(name: &str) -> String {
    format!("/api/v1/admin/users/{name}")
}

fn token_target(id: &str) -> String {
    format!("/api/v1/admin/tokens/{id}")
}

fn publisher_target(id: &str) -> String {
    format!("/api/v1/admin/publishers/{id}")
}

/// Records a successful change made with the CLI. The change is already
/// made when this runs; a failure says so rather than leaving it unlogged
/// in silence.
async fn audit(db: &Db, target: &str, detail: &str) -> Result<(), AdminError> {
    let actor = cli_actor();
    let entry = NewAuditEntry {
        actor: &actor,
        client: "local",
        action: "admin",
        target,
        outcome: "allowed",
        status: 0,
        detail,
    };
    db.append_audit(entry).await.map_err(|error| {
        AdminError::Internal(format!(
            "the change was made, but writing it to the audit log failed: {error}"
        ))
    })
}

fn format_millis(millis: i64) -> String {
    let time = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()
}
