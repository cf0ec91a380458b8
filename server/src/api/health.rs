//! Liveness and readiness for load balancers and orchestrators.
//!
//! `/healthz` answers while the process serves HTTP. `/readyz` checks the
//! backends a request needs (the database and the blob store) and answers
//! 503 while either is unreachable, so traffic moves to healthy replicas;
//! the gateway recovers by itself when the backend comes back.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;
use crate::storage::StorageKey;

/// A check that takes longer than this counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn ready(State(app): State<AppState>) -> Response {
    let database = tokio::time::timeout(CHECK_TIMEOUT, app.db.ping()).await;
    let database = match database {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(error)) => format!("unavailable: {error}"),
        Err(_) => "unavailable: no answer within 3 s".to_string(),
    };
    let probe = crate::digest::Digest::of(crate::digest::Algorithm::Sha256, b"readiness probe");
    let storage =
        match tokio::time::timeout(CHECK_TIMEOUT, app.storage.exists(StorageKey::Blob(&probe)))
            .await
        {
            Ok(Ok(_)) => "ok".to_string(),
            Ok(Err(error)) => format!("unavailable: {error}"),
            Err(_) => "unavailable: no answer within 3 s".to_string(),
        };
    let ready = database == "ok" && storage == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "checks": { "database": database, "storage": storage },
    });
    (status, Json(body)).into_response()
}
