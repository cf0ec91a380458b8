//! `wkg oci pull` / `wkg oci push`: artifacts by OCI reference, not by package name.
//!
//! As upstream, credentials come only from `-u/-p` or Docker's config. Plain http or
//! https follows the rule every other command follows (`wkg_client::discovery::protocol_for`):
//! an explicit `protocol` under `[registry."<host:port>".oci]` wins, a registry on this
//! machine gets plain http (said once on stderr), anything else https. `--insecure` adds
//! plain http for the hosts it names, as upstream. The same config table's extra roots and
//! `accept_invalid_certificates` apply; its credentials do not, as upstream.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use wkg_client::oci::{self, CredentialSources, Credentials, OciClient, OciSettings};
use wkg_client::{BasicCredentials, RegistryName, Secret, artifact};

use super::{ExitStatus, load_config};
use crate::cli::{GlobalArgs, OciAuthArgs, OciCommand};
use crate::printer::Printer;

pub async fn run(
    command: &OciCommand,
    global: &GlobalArgs,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    match command {
        OciCommand::Pull(args) => {
            let reference = oci::parse_reference(&args.reference)?;
            let client = client(&reference, &args.auth, global, printer)?;
            let output = args.output.clone().unwrap_or_else(|| {
                let last = reference
                    .repository()
                    .rsplit('/')
                    .next()
                    .unwrap_or("component");
                PathBuf::from(format!("{last}.wasm"))
            });
            let pulled = artifact::pull(&client, &reference, &output)
                .await
                .with_context(|| format!("could not pull {reference}"))?;
            printer.detail(format_args!("manifest {}", pulled.manifest_digest))?;
            writeln!(printer.out, "{}", pulled.path.display())?;
            printer.status(format_args!(
                "Pulled {reference} ({}) to {}",
                pulled.digest,
                pulled.path.display()
            ))?;
        }
        OciCommand::Push(args) => {
            let reference = oci::parse_reference(&args.reference)?;
            let client = client(&reference, &args.auth, global, printer)?;
            let annotations: BTreeMap<String, String> = args.annotations.iter().cloned().collect();
            let digest = artifact::push(
                &client,
                &reference,
                &args.file,
                &annotations,
                args.author.as_deref(),
            )
            .await
            .with_context(|| format!("could not push {} to {reference}", args.file.display()))?;
            writeln!(printer.out, "Pushed {reference} ({digest})")?;
        }
    }
    Ok(ExitStatus::Success)
}

fn client(
    reference: &oci::Reference,
    auth: &OciAuthArgs,
    global: &GlobalArgs,
    printer: &Printer<'_>,
) -> Result<OciClient> {
    let registry = reference.resolve_registry().to_owned();
    let credentials = match (&auth.username, &auth.password) {
        (Some(username), Some(password)) => Credentials::Basic(BasicCredentials {
            username: username.clone(),
            password: Secret::new(password.clone()),
        }),
        _ => {
            let docker = CredentialSources::system().docker_config_dir;
            oci::auth::docker_credentials(&registry, docker.as_deref())
                .map_or(Credentials::Anonymous, Credentials::Basic)
        }
    };
    let config = load_config(global.config.as_deref())?;
    let table = registry
        .parse::<RegistryName>()
        .ok()
        .and_then(|name| config.registry_config(&name))
        .and_then(|registry| registry.oci.as_ref());
    let reporter = printer.reporter();
    let mut settings = OciSettings::for_registry(&registry, table, &*reporter)
        .with_context(|| format!("the [registry.\"{registry}\".oci] settings are unusable"))?;
    if auth.insecure.contains(&registry) {
        settings.insecure = true;
    }
    Ok(OciClient::new(&registry, &settings, &credentials, reporter))
}
