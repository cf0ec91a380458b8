//! Credentials: the Docker token flow, gateway tokens, login and logout.

mod gateway;
mod login;
mod tokens;
