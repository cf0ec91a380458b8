//! Requests as one caller sends them: [`Caller`] is who (anonymous, HTTP
//! Basic, a Bearer token), [`TestApp::as_caller`] sends with its
//! credentials, and a [`Reply`] is the answer read whole, with the
//! accessors tests need (status, headers, JSON, the error envelope's code).

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::TestApp;

/// The credentials a request carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    Basic {
        user: String,
        password: String,
    },
    /// An access token (`wkg_...`) or a JWT.
    Bearer(String),
}

impl Caller {
    pub fn basic(user: &str, password: &str) -> Self {
        Self::Basic {
            user: user.to_string(),
            password: password.to_string(),
        }
    }

    pub fn bearer(token: &str) -> Self {
        Self::Bearer(token.to_string())
    }

    /// The `Authorization` header value, if any.
    pub fn authorization(&self) -> Option<String> {
        match self {
            Self::Anonymous => None,
            Self::Basic { user, password } => Some(crate::auth::basic(user, password)),
            Self::Bearer(token) => Some(crate::auth::bearer(token)),
        }
    }
}

/// An answer read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("response body");
        Self {
            status,
            headers,
            body,
        }
    }

    /// The body as JSON; fails the test when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} answered non-JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts `status` and the error envelope's first `code`; returns the
    /// envelope, as [`crate::assert_oci_error`] does for a raw response.
    pub fn assert_oci_error(&self, status: StatusCode, code: &str) -> Value {
        let content_type = self.header("content-type").unwrap_or_default();
        crate::check_error(self.status, content_type, &self.text(), status, code)
    }
}

/// Requests to one gateway as one caller.
pub struct AsCaller<'a> {
    app: &'a TestApp,
    caller: Caller,
}

impl TestApp {
    /// Requests to this gateway with `caller`'s credentials (not the
    /// harness client's defaults).
    pub fn as_caller(&self, caller: &Caller) -> AsCaller<'_> {
        AsCaller {
            app: self,
            caller: caller.clone(),
        }
    }
}

impl AsCaller<'_> {
    /// Sends `method` to `path` with an optional JSON body.
    pub async fn send(&self, method: Method, path: &str, json: Option<&Value>) -> Reply {
        let mut request = crate::http_client().request(method, self.app.url(path));
        if let Some(authorization) = self.caller.authorization() {
            request = request.header(AUTHORIZATION, authorization);
        }
        if let Some(json) = json {
            request = request.json(json);
        }
        Reply::read(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    pub async fn post_json(&self, path: &str, json: &Value) -> Reply {
        self.send(Method::POST, path, Some(json)).await
    }

    pub async fn put_json(&self, path: &str, json: &Value) -> Reply {
        self.send(Method::PUT, path, Some(json)).await
    }
}
