//! The OCI Distribution API: blobs, manifests, uploads, listings, conformance.

mod base;
mod blobs;
mod large_upload;
mod listing;
mod manifests;
mod uploads;
