//! Registries other than a gateway that wkg speaks natively: Warg.

mod warg;
