//! Registry logic between HTTP and storage: how uploads become blobs and how
//! manifests are checked before they are stored.

pub mod manifests;
pub mod upload_limits;
pub mod uploads;
