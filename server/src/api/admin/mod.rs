//! The admin API under `/api/v1/admin/`: users and their grants, access
//! tokens, trusted publishers, and the audit log. Only callers holding `admin` on `*` reach it
//! (see `auth::policy`); the same operations back `wkg-gateway admin`.

pub mod audit;
pub mod publishers;
pub mod tokens;
pub mod users;
