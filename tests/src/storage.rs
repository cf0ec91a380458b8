//! Which blob store a test gateway uses: local disk in its data directory by
//! default, or, when `WKG_TEST_S3_ENDPOINT` and `WKG_TEST_S3_BUCKET` name an
//! S3 API (tests/scripts/with-s3 starts moto), a key prefix of its own in
//! that bucket.

use std::path::Path;

pub const ENDPOINT_ENV: &str = "WKG_TEST_S3_ENDPOINT";
pub const BUCKET_ENV: &str = "WKG_TEST_S3_BUCKET";

/// `[storage]` settings for one test gateway, as `(key, value)` pairs;
/// empty for local disk.
pub fn storage_for_test() -> Vec<(String, String)> {
    let (Ok(endpoint), Ok(bucket)) = (std::env::var(ENDPOINT_ENV), std::env::var(BUCKET_ENV))
    else {
        return Vec::new();
    };
    let prefix = crate::database::unique_name("blobs");
    [
        ("url", format!("s3://{bucket}/{prefix}")),
        ("endpoint", endpoint),
        ("region", "us-east-1".to_string()),
        ("access_key_id", "test".to_string()),
        ("secret_access_key", "test".to_string()),
        ("allow_http", "true".to_string()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect()
}

/// The settings as a TOML `[storage]` table.
pub fn toml_section(settings: &[(String, String)]) -> String {
    if settings.is_empty() {
        return String::new();
    }
    let mut toml = String::from("\n[storage]\n");
    for (key, value) in settings {
        toml.push_str(&format!("{key} = {value:?}\n"));
    }
    toml
}

/// Opens the same store the gateway uses, for assertions on stored objects.
pub fn open(data_dir: &Path, settings: &[(String, String)]) -> wkg_gateway::storage::Storage {
    let toml = format!(
        "data_dir = {:?}\n{}",
        data_dir.display().to_string(),
        toml_section(settings)
    );
    let config = wkg_gateway::Config::from_toml_str(&toml).expect("storage config");
    wkg_gateway::storage::Storage::open(&config.storage).expect("storage opens")
}
