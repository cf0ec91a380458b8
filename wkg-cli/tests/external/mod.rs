//! Tests that drive third-party tools (Debian's docker-registry, upstream wkg), selected
//! as a group with `test(/^external::/)`.

mod third_party;
mod upstream_compat;
