//! Running the gateway: faults, logs and metrics, process lifecycle, timeouts, TLS.

mod faults;
mod observability;
mod process_lifecycle;
mod request_timeout;
mod tls;
