//! Garbage collection, alone and racing concurrent pushes.

mod collect;
mod race;
