//! `[server] rate_limit`'s value: a rate like `50/s` or `120/min`. A leaf
//! type, so the config can hold it without depending on the middleware
//! (`rate_limit`) that enforces it.

/// Requests per second, with a burst of the same size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (count, unit) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a rate like \"50/s\""))?;
        let count: f64 = count
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a rate like \"50/s\""))?;
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            other => return Err(format!("unknown rate unit {other:?}; use /s or /min")),
        };
        if count <= 0.0 || !count.is_finite() {
            return Err(format!("{text:?} must allow at least some requests"));
        }
        Ok(Self {
            per_second: count / seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!("50/s".parse::<Rate>().unwrap().per_second, 50.0);
        assert_eq!("120/min".parse::<Rate>().unwrap().per_second, 2.0);
        for bad in ["50", "0/s", "x/s", "5/h"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }
}
