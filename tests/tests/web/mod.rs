//! The web package browser, over HTTP (the browser and crawl checks are under `external`).

mod login;
mod pages;
pub mod support;
