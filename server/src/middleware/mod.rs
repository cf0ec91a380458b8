//! Every middleware of the HTTP layer, in the order a request meets them
//! (see `router`): the access log and metrics, the DNS-rebinding guard,
//! the per-client rate limit, authentication and authorization, and the
//! request time limit.

pub mod access;
pub mod auth;
pub mod host_check;
pub mod rate_limit;
pub mod request_timeout;
