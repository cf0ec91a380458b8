//! `wkg oci pull` / `wkg oci push`: artifacts by OCI reference, bypassing config.toml.
//!
//! As upstream, credentials come only from `-u/-p` or Docker's config, and plain http
//! only for the hosts named with `--insecure`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use wkg_client::oci::{self, CredentialSources, Credentials, OciClient, OciSettings};
use wkg_client::{BasicCredentials, Secret, artifact};

use super::ExitStatus;
use crate::cli::{OciAuthArgs, OciCommand};
use crate::printer::Printer;

pub async fn run(command: &OciCommand, printer: &mut Printer<'_>) -> Result<ExitStatus> {
    match command {
        OciCommand::Pull(args) => {
            let reference = oci::parse_reference(&args.reference)?;
            let client = client(&reference, &args.auth, printer);
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
            let client = client(&reference, &args.auth, printer);
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

fn client(reference: &oci::Reference, auth: &OciAuthArgs, printer: &Printer<'_>) -> OciClient {
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
    let settings = OciSettings {
        insecure: auth.insecure.contains(&registry),
        ..OciSettings::default()
    };
    OciClient::new(&registry, &settings, &credentials, printer.reporter())
}
