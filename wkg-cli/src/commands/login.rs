//! `wkg login <registry>` and `wkg logout <registry>` (beyond upstream): trade a password
//! for a revocable, expiring personal access token on a wkg-gateway and keep the token, not
//! the password, as the registry's `auth` in config.toml (written with mode 0600), where
//! upstream wkg finds it too.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use wkg_client::{Config, RegistryName, login};

use super::ExitStatus;
use crate::cli::{LoginArgs, LogoutArgs};
use crate::printer::Printer;

fn config_path(path: Option<&Path>) -> Result<PathBuf> {
    Ok(match path {
        Some(path) => path.to_path_buf(),
        None => wkg_client::default_config_path()?,
    })
}

/// The registry named on the command line, else the default registry.
fn registry_of(arg: Option<&str>, config: &Config) -> Result<RegistryName> {
    let name = match arg {
        Some(name) => name.to_owned(),
        None => match &config.default_registry {
            Some(name) => name.to_string(),
            None => bail!(
                "say which registry to log in to (`wkg login <registry>`), or set one with \
                 `wkg config --default-registry <registry>`"
            ),
        },
    };
    Ok(name.parse()?)
}

/// Reads one line (the password) from standard input.
fn read_password(from_stdin: bool) -> Result<String> {
    let stdin = std::io::stdin();
    if !from_stdin && stdin.is_terminal() {
        bail!(
            "pass the password on standard input with --password-stdin, \
             e.g. `echo \"$PASSWORD\" | wkg login <registry> -u <user> --password-stdin`"
        );
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("the password on standard input is empty");
    }
    Ok(password)
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot make {} private", path.display()))
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) -> Result<()> {
    Ok(())
}

pub async fn login(
    args: &LoginArgs,
    config_file: Option<&Path>,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    let path = config_path(config_file)?;
    let mut config = Config::load_or_default(&path)?;
    let registry = registry_of(args.registry.as_deref(), &config)?;
    let password = read_password(args.password_stdin)?;
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "this machine".to_owned());
    let reporter = printer.reporter();
    printer.detail(format_args!(
        "asking {} for a token",
        login::api_base(&config, &registry, &*reporter)
    ))?;
    let token = login::create_token(
        &config,
        &registry,
        &args.username,
        &password,
        &format!("wkg login on {host}"),
        &*reporter,
    )
    .await?;
    login::store(&mut config, &registry, &args.username, &token);
    config.save(&path)?;
    restrict_permissions(&path)?;
    printer.status(format_args!(
        "Logged in to {registry} as {} (token {} stored in {})",
        args.username,
        token.id,
        path.display()
    ))?;
    Ok(ExitStatus::Success)
}

pub async fn logout(
    args: &LogoutArgs,
    config_file: Option<&Path>,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    let path = config_path(config_file)?;
    let mut config = Config::load_or_default(&path)?;
    let registry = registry_of(args.registry.as_deref(), &config)?;
    let Some(secret) = login::forget(&mut config, &registry) else {
        printer.status(format_args!("Not logged in to {registry}"))?;
        config.save(&path)?;
        return Ok(ExitStatus::Success);
    };
    login::revoke_token(&config, &registry, secret.expose(), &*printer.reporter())
        .await
        .context("the token was not revoked on the registry; nothing was changed locally")?;
    config.save(&path)?;
    printer.status(format_args!(
        "Logged out of {registry}; the token is revoked"
    ))?;
    Ok(ExitStatus::Success)
}
