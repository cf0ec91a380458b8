//! Authentication and authorization: tokens, grants, the admin API and CLI, audit logs, throttles.

mod admin;
mod admin_cli;
mod logs;
mod matrix;
mod publishers;
mod rules;
mod token_flow;
