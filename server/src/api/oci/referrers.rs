//! `GET /v2/<name>/referrers/<digest>`: the manifests whose `subject` is a
//! digest, as an OCI image index, optionally filtered by `artifactType`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{OCI_FILTERS_APPLIED, digest, repo, set};
use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery};
use crate::registry::manifests::OCI_INDEX;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ReferrersQuery {
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
}

pub async fn list(
    State(app): State<AppState>,
    ApiPath((name, subject)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<ReferrersQuery>,
) -> ApiResult<Response> {
    let repo = repo(&name)?;
    let subject = digest(&subject)?;
    let filter = query.artifact_type.filter(|t| !t.is_empty());
    let referrers = app
        .db
        .referrers(repo.as_str(), &subject.to_string(), filter.as_deref())
        .await?;
    let manifests: Vec<Value> = referrers
        .into_iter()
        .map(|r| {
            let mut descriptor = Map::new();
            descriptor.insert("mediaType".into(), r.media_type.into());
            descriptor.insert("digest".into(), r.digest.into());
            descriptor.insert("size".into(), r.size.into());
            if let Some(artifact_type) = r.artifact_type {
                descriptor.insert("artifactType".into(), artifact_type.into());
            }
            if let Some(annotations) = r
                .annotations
                .and_then(|a| serde_json::from_str::<Value>(&a).ok())
            {
                descriptor.insert("annotations".into(), annotations);
            }
            Value::Object(descriptor)
        })
        .collect();
    let body = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
    let mut headers = HeaderMap::new();
    set(&mut headers, header::CONTENT_TYPE, OCI_INDEX);
    if filter.is_some() {
        set(&mut headers, OCI_FILTERS_APPLIED, "artifactType");
    }
    Ok((StatusCode::OK, headers, body.to_string()).into_response())
}
