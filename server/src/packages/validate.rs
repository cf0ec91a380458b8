//! Bounded validation of untrusted Wasm binaries.
//!
//! Three bounds keep a hostile or merely huge binary from crashing or
//! stalling the gateway:
//! - size: layers above `packages.parse_size_limit` only get their header
//!   checked; the limit is compared with the blob's size before a byte is
//!   read, so one validation never holds more than that in memory;
//! - concurrency: a validation first takes a slot of
//!   [`super::gate::ValidationGate`] (`packages.max_concurrent_validations`,
//!   with `packages.validation_queue` waiting), before reading the layer;
//! - time: validation runs on a blocking thread that drives wasmparser's
//!   validator payload by payload and instruction by instruction, looking
//!   at the clock between sections, between function bodies and every
//!   [`OPERATORS_PER_CHECK`] instructions, and gives up once
//!   `packages.parse_timeout` has passed. So the thread itself stops soon
//!   after the deadline, rather than running on behind a timed-out await.
//!   A single non-code section is validated in one step; its cost is
//!   bounded by the size limit and by wasmparser's own limits on type sizes.
//!
//! The clock starts when validation starts (waiting for a slot and reading
//! the layer do not count). A limit of zero makes every full validation
//! run out of time at its first check, which tests use to reach the
//! timeout without depending on how fast the machine is.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmparser::{
    FuncValidator, FuncValidatorAllocations, FunctionBody, Parser, ValidPayload, Validator,
    ValidatorResources, WasmFeatures,
};

use super::gate::Busy;
use super::inspect::{WasmFacts, inspect};
use super::{Error, Packages, invalid, read_linked};
use crate::registry::manifests::BlobFacts;

const MAGIC: &[u8; 4] = b"\0asm";
const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0, 1, 0];

/// Instructions validated between two looks at the clock: small enough
/// that the thread notices a deadline within microseconds, large enough
/// that reading the clock costs nothing measurable.
pub const OPERATORS_PER_CHECK: u32 = 4096;

/// What a Wasm layer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmKind {
    Component,
    CoreModule,
}

/// Why a binary did not validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// It is not a valid component or module: why.
    Malformed(String),
    /// The time limit passed before validation finished.
    OutOfTime,
}

impl From<wasmparser::BinaryReaderError> for Invalid {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        Invalid::Malformed(error.to_string())
    }
}

/// Reads the 8-byte preamble: which kind of binary this claims to be.
pub fn kind_from_header(header: &[u8]) -> Result<WasmKind, String> {
    if header.len() < 8 || &header[..4] != MAGIC {
        return Err("it does not start with the Wasm magic bytes \\0asm".to_string());
    }
    match <[u8; 4]>::try_from(&header[4..8]) {
        Ok(CORE_VERSION) => Ok(WasmKind::CoreModule),
        Ok(COMPONENT_VERSION) => Ok(WasmKind::Component),
        _ => Err(format!(
            "unknown Wasm version/layer bytes {:02x?}",
            &header[4..8]
        )),
    }
}

/// Fully validates a binary with every proposal wasmparser knows enabled,
/// without a time limit.
pub fn validate_bytes(bytes: &[u8]) -> Result<WasmKind, String> {
    match validate_until(bytes, None) {
        Ok(kind) => Ok(kind),
        Err(Invalid::Malformed(why)) => Err(why),
        Err(Invalid::OutOfTime) => Err("validation ran out of time".to_string()),
    }
}

/// Fully validates a binary, giving up at `deadline` (checked between
/// payloads, between function bodies and every [`OPERATORS_PER_CHECK`]
/// instructions; a deadline already passed fails the first check).
pub fn validate_until(bytes: &[u8], deadline: Option<Instant>) -> Result<WasmKind, Invalid> {
    validate_with_clock(bytes, &|| {
        deadline.is_some_and(|deadline| Instant::now() >= deadline)
    })
}

/// [`validate_until`] with the clock as a function: `out_of_time` is asked
/// at every check point.
fn validate_with_clock(bytes: &[u8], out_of_time: &dyn Fn() -> bool) -> Result<WasmKind, Invalid> {
    let kind = kind_from_header(bytes).map_err(Invalid::Malformed)?;
    let features = WasmFeatures::all();
    let mut validator = Validator::new_with_features(features);
    let mut parser = Parser::new(0);
    parser.set_features(features);
    let mut allocations = FuncValidatorAllocations::default();
    for payload in parser.parse_all(bytes) {
        if out_of_time() {
            return Err(Invalid::OutOfTime);
        }
        if let ValidPayload::Func(func, body) = validator.payload(&payload?)? {
            let mut func = func.into_validator(allocations);
            validate_body(&mut func, &body, features, out_of_time)?;
            allocations = func.into_allocations();
        }
    }
    Ok(kind)
}

/// One function body, instruction by instruction (what
/// `FuncValidator::validate` does, with a look at the clock every
/// [`OPERATORS_PER_CHECK`] instructions).
fn validate_body(
    func: &mut FuncValidator<ValidatorResources>,
    body: &FunctionBody<'_>,
    features: WasmFeatures,
    out_of_time: &dyn Fn() -> bool,
) -> Result<(), Invalid> {
    let mut reader = body.get_binary_reader();
    func.read_locals(&mut reader)?;
    reader.set_features(features);
    let mut count: u32 = 0;
    while !reader.eof() {
        reader.visit_operator(&mut func.visitor(reader.original_position()))??;
        count = count.wrapping_add(1);
        if count.is_multiple_of(OPERATORS_PER_CHECK) && out_of_time() {
            return Err(Invalid::OutOfTime);
        }
    }
    reader.finish_expression(&func.visitor(reader.original_position()))?;
    Ok(())
}

/// The error for a layer that could not be validated in time: what
/// happened, and the key that would change it.
fn too_slow(layer: &BlobFacts, limit: Duration) -> Error {
    invalid(format!(
        "the Wasm layer {} took too long to validate: it was still being checked after {} \
         (packages.parse_timeout); push a smaller component, or ask the registry's operator to \
         raise packages.parse_timeout",
        layer.digest,
        humantime::format_duration(limit)
    ))
}

/// Checks a layer linked in `repository` and learns what it can about it:
/// full validation and inspection up to the configured size, the header
/// beyond it. Full validation and inspection hold one validation slot from
/// before the layer is read until their blocking work ends.
pub async fn check_layer(
    packages: &Packages,
    repository: &str,
    layer: &BlobFacts,
) -> Result<WasmFacts, Error> {
    let reject = |why: String| {
        invalid(format!(
            "layer {} is not a valid Wasm component or module: {why}",
            layer.digest
        ))
    };
    let limits = &packages.limits;
    if layer.size > limits.parse_size_limit {
        let header = read_linked(packages, repository, layer, Some(0..8), 8).await?;
        let kind = kind_from_header(&header).map_err(reject)?;
        return Ok(WasmFacts::unindexed(kind));
    }
    let slot = packages
        .validations
        .enter()
        .await
        .map_err(|Busy| Error::ValidationBusy)?;
    let bytes =
        Arc::new(read_linked(packages, repository, layer, None, limits.parse_size_limit).await?);
    let limit = limits.parse_timeout;
    let validation = tokio::task::spawn_blocking({
        let bytes = bytes.clone();
        move || {
            let deadline = Instant::now().checked_add(limit);
            (validate_until(&bytes, deadline), slot)
        }
    });
    let (kind, slot) = match validation.await {
        Ok((Ok(kind), slot)) => (kind, slot),
        Ok((Err(Invalid::Malformed(why)), _)) => return Err(reject(why)),
        Ok((Err(Invalid::OutOfTime), _)) => return Err(too_slow(layer, limit)),
        Err(join) => return Err(reject(format!("the validator failed ({join})"))),
    };
    // Valid: from here on a problem only costs the index its WIT. Decoding
    // cannot be stopped midway; the slot stays taken until it ends, and the
    // push stops waiting for it after the same limit.
    let inspection = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        inspect(&bytes, kind)
    });
    Ok(match tokio::time::timeout(limit, inspection).await {
        Ok(Ok(facts)) => facts,
        Ok(Err(join)) => {
            tracing::warn!(layer = %layer.digest, error = %join, "inspecting a Wasm layer failed");
            WasmFacts::unindexed(kind)
        }
        Err(_) => {
            tracing::warn!(layer = %layer.digest, "inspecting a Wasm layer timed out");
            WasmFacts::unindexed(kind)
        }
    })
}

impl WasmKind {
    /// The kind as the index names it when nothing more is known.
    pub fn name(self) -> &'static str {
        match self {
            WasmKind::Component => "component",
            WasmKind::CoreModule => "module",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(
            kind_from_header(b"\0asm\x01\0\0\0"),
            Ok(WasmKind::CoreModule)
        );
        assert_eq!(
            kind_from_header(b"\0asm\x0d\0\x01\0"),
            Ok(WasmKind::Component)
        );
        assert!(kind_from_header(b"\0asm").is_err());
        assert!(kind_from_header(b"MZ\0\0\0\0\0\0").is_err());
        assert!(kind_from_header(b"\0asm\x02\0\0\0").is_err());
    }

    #[test]
    fn validation() {
        assert_eq!(validate_bytes(b"\0asm\x01\0\0\0"), Ok(WasmKind::CoreModule));
        assert_eq!(
            validate_bytes(b"\0asm\x0d\0\x01\0"),
            Ok(WasmKind::Component)
        );
        // A truncated section after a valid header.
        assert!(validate_bytes(b"\0asm\x01\0\0\0\x01\x05\x01").is_err());
        assert!(validate_bytes(b"garbage!").is_err());
        assert!(validate_bytes(&module_of_nops(10)).is_ok());
        // A type error inside a body is found by the instruction loop.
        let mut bad = module_of_nops(10);
        let last = bad.len() - 2;
        bad[last] = 0x1a; // `drop` with nothing on the stack
        assert!(matches!(
            validate_until(&bad, None),
            Err(Invalid::Malformed(_))
        ));
    }

    /// A core module with one function of `nops` `nop` instructions.
    fn module_of_nops(nops: usize) -> Vec<u8> {
        fn leb(mut n: usize, out: &mut Vec<u8>) {
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(byte);
                    return;
                }
                out.push(byte | 0x80);
            }
        }
        let mut body = vec![0x00]; // no locals
        body.extend(std::iter::repeat_n(0x01, nops));
        body.push(0x0b); // end
        let mut entry = Vec::new();
        leb(body.len(), &mut entry);
        entry.extend(body);
        let mut code = vec![0x01]; // one body
        code.extend(entry);
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend([0x01, 0x04, 0x01, 0x60, 0x00, 0x00]); // type () -> ()
        module.extend([0x03, 0x02, 0x01, 0x00]); // one function of type 0
        module.push(0x0a);
        leb(code.len(), &mut module);
        module.extend(code);
        module
    }

    #[test]
    fn a_passed_deadline_stops_validation_at_once() {
        let past = Some(Instant::now());
        assert_eq!(
            validate_until(b"\0asm\x0d\0\x01\0", past),
            Err(Invalid::OutOfTime)
        );
        let later = Instant::now().checked_add(Duration::from_secs(3600));
        assert_eq!(
            validate_until(&module_of_nops(10), later),
            Ok(WasmKind::CoreModule)
        );
    }

    /// Every check point stops the work, including those inside a long
    /// function body: a clock that runs out at the k-th look stops there.
    #[test]
    fn the_clock_is_read_between_payloads_and_within_bodies() {
        use std::cell::Cell;
        let module = module_of_nops(3 * OPERATORS_PER_CHECK as usize);
        let looks = Cell::new(0_u32);
        let never = || {
            looks.set(looks.get() + 1);
            false
        };
        assert_eq!(
            validate_with_clock(&module, &never),
            Ok(WasmKind::CoreModule)
        );
        let total = looks.get();
        // Six payloads (version, type, function, code start, the body,
        // end) plus three looks inside the body.
        assert_eq!(total, 6 + 3);
        for k in 1..=total {
            let seen = Cell::new(0_u32);
            let runs_out = || {
                seen.set(seen.get() + 1);
                seen.get() >= k
            };
            assert_eq!(
                validate_with_clock(&module, &runs_out),
                Err(Invalid::OutOfTime),
                "look {k}"
            );
            assert_eq!(seen.get(), k, "validation stopped at look {k}");
        }
    }
}
