//! Is a new WIT package version a compatible successor of an older one?
//!
//! Semver promises that within a series (`X.*` for X ≥ 1, `0.Y.*`, exact `0.0.Z`) a newer
//! version can replace an older one. For WIT that means: every interface, function and
//! type of the old version is still there, and every world of the old version can be
//! satisfied by the new one (checked structurally by `wit-component`'s `semver_check`,
//! which type-checks a component of the new shape in place of the old). Publishing runs
//! this against the nearest lower and higher versions of the series, as upstream does.

use wit_parser::decoding::{DecodedWasm, decode};
use wit_parser::{PackageId, Resolve};

/// Whether two versions belong to one semver series (and so must stay compatible).
pub fn same_series(a: &semver::Version, b: &semver::Version) -> bool {
    match (a.major, b.major) {
        (0, 0) if a.minor == 0 && b.minor == 0 => a.patch == b.patch,
        (0, 0) => a.minor == b.minor,
        (x, y) => x == y,
    }
}

/// The nearest lower and higher versions of `version`'s series among `existing`.
pub fn neighbours(
    version: &semver::Version,
    existing: &[semver::Version],
) -> (Option<semver::Version>, Option<semver::Version>) {
    let series = existing
        .iter()
        .filter(|v| *v != version && same_series(v, version));
    let lower = series.clone().filter(|v| *v < version).max().cloned();
    let higher = series.filter(|v| *v > version).min().cloned();
    (lower, higher)
}

/// `Ok` when the WIT package `new` can replace `old`; otherwise what breaks.
/// Components (not WIT packages) are not checked.
pub fn check_successor(old: &[u8], new: &[u8]) -> Result<(), String> {
    let (Some((mut resolve, old_id)), Some((new_resolve, new_id))) =
        (wit_package(old)?, wit_package(new)?)
    else {
        return Ok(());
    };
    let remap = resolve
        .merge(new_resolve)
        .map_err(|err| format!("the two versions cannot be compared: {err:#}"))?;
    let new_id = remap.packages[new_id.index()];
    let (old_pkg, new_pkg) = (&resolve.packages[old_id], &resolve.packages[new_id]);
    for (name, old_iface) in &old_pkg.interfaces {
        let Some(new_iface) = new_pkg.interfaces.get(name) else {
            return Err(format!("interface `{name}` was removed"));
        };
        let (old_iface, new_iface) = (
            &resolve.interfaces[*old_iface],
            &resolve.interfaces[*new_iface],
        );
        if let Some(function) = old_iface
            .functions
            .keys()
            .find(|f| !new_iface.functions.contains_key(*f))
        {
            return Err(format!("function `{name}.{function}` was removed"));
        }
        if let Some(ty) = old_iface
            .types
            .keys()
            .find(|t| !new_iface.types.contains_key(*t))
        {
            return Err(format!("type `{name}.{ty}` was removed"));
        }
    }
    for (name, old_world) in &old_pkg.worlds {
        let Some(new_world) = new_pkg.worlds.get(name) else {
            return Err(format!("world `{name}` was removed"));
        };
        wit_component::semver_check(resolve.clone(), *old_world, *new_world)
            .map_err(|err| format!("world `{name}` changed incompatibly: {err:#}"))?;
    }
    Ok(())
}

fn wit_package(bytes: &[u8]) -> Result<Option<(Resolve, PackageId)>, String> {
    match decode(bytes) {
        Ok(DecodedWasm::WitPackage(resolve, id)) => Ok(Some((resolve, id))),
        Ok(DecodedWasm::Component(..)) => Ok(None),
        Err(err) => Err(format!("not a valid WIT package: {err:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> semver::Version {
        s.parse().unwrap()
    }

    fn wit(text: &str) -> Vec<u8> {
        let mut resolve = Resolve::default();
        let id = resolve.push_str("p.wit", text).unwrap();
        wit_component::encode(&resolve, id, false).unwrap()
    }

    #[test]
    fn series_and_neighbours() {
        assert!(same_series(&v("1.2.0"), &v("1.9.3")));
        assert!(!same_series(&v("1.2.0"), &v("2.0.0")));
        assert!(same_series(&v("0.2.1"), &v("0.2.9")));
        assert!(!same_series(&v("0.2.1"), &v("0.3.0")));
        assert!(!same_series(&v("0.0.1"), &v("0.0.2")));
        let existing = [v("0.9.0"), v("1.0.0"), v("1.1.0"), v("1.3.0"), v("2.0.0")];
        assert_eq!(
            neighbours(&v("1.2.0"), &existing),
            (Some(v("1.1.0")), Some(v("1.3.0")))
        );
        assert_eq!(neighbours(&v("3.0.0"), &existing), (None, None));
    }

    #[test]
    fn additions_pass_and_removals_fail() {
        let old = wit(
            "package acme:api@1.0.0;\ninterface clock { now: func() -> u64; }\nworld w { import clock; }\n",
        );
        let added = wit(
            "package acme:api@1.1.0;\ninterface clock { now: func() -> u64; later: func() -> u64; }\nworld w { import clock; }\n",
        );
        let removed = wit(
            "package acme:api@1.2.0;\ninterface clock { later: func() -> u64; }\nworld w { import clock; }\n",
        );
        let retyped = wit(
            "package acme:api@1.3.0;\ninterface clock { now: func() -> u32; }\nworld w { import clock; }\n",
        );
        assert_eq!(check_successor(&old, &added), Ok(()));
        let err = check_successor(&old, &removed).unwrap_err();
        assert!(err.contains("function `clock.now` was removed"), "{err}");
        let err = check_successor(&old, &retyped).unwrap_err();
        assert!(err.contains("world `w` changed incompatibly"), "{err}");
    }
}
