//! The stores: database and blob-store conformance, outages, replicas sharing them.

mod database;
mod database_outage;
mod replicas;
mod storage;
mod storage_redirect;
